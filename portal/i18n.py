"""Which translated fields of an object are missing in English."""

from django.utils.translation import get_language
from modeltranslation.translator import NotRegistered, translator


def missing_english(obj, fields: tuple[str, ...] | None = None) -> list[str]:
    """Names of the translated fields that have Japanese text but no English text."""
    try:
        opts = translator.get_options_for_model(type(obj))
    except NotRegistered:
        return []
    names = fields or tuple(opts.all_fields)
    return [n for n in names if getattr(obj, f"{n}_ja", "") and not getattr(obj, f"{n}_en", "")]


def shows_japanese_fallback(obj, fields: tuple[str, ...] | None = None) -> bool:
    """True on an English page when part of ``obj`` falls back to Japanese."""
    return get_language() == "en" and bool(missing_english(obj, fields))
