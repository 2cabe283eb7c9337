from django import template
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from portal import text
from portal.i18n import missing_english
from portal.images import rendition_name, rendition_widths

register = template.Library()


@register.filter
def markdown(value):
    """Render editor Markdown safely (portal.text.render_markdown)."""
    return text.render_markdown(value)


@register.simple_tag
def jdate(value):
    """A date as people read it, inside <time datetime>: 令和8年(2026年)11月29日."""
    if not value:
        return ""
    date = text._as_date(value)
    label = text.format_date_en(date) if get_language() == "en" else text.format_date_ja(date)
    return format_html('<time datetime="{}">{}</time>', date.isoformat(), label)


@register.simple_tag
def field_lang(obj, field):
    """` lang="ja"` when an English page shows this field's Japanese text as fallback."""
    if get_language() == "en" and field in missing_english(obj, (field,)):
        return format_html(' lang="{}"', "ja")
    return ""


@register.simple_tag
def responsive_image(fieldfile, alt, width, height, sizes="(min-width: 960px) 960px, 100vw", css_class=""):
    """An <img> with srcset of the Pillow renditions, width/height and lazy loading.

    ``width`` and ``height`` come from the model's width_field/height_field, so that rendering
    never opens the file.
    """
    if not fieldfile or not width or not height:
        return ""
    storage = fieldfile.storage
    sources = [(storage.url(rendition_name(fieldfile.name, w)), f"{w}w") for w in rendition_widths(width)]
    sources.append((fieldfile.url, f"{width}w"))
    srcset = format_html_join(", ", "{} {}", sources)
    return format_html(
        '<img src="{}" srcset="{}" sizes="{}" width="{}" height="{}" alt="{}" loading="lazy" decoding="async"{}>',
        fieldfile.url,
        srcset,
        sizes,
        width,
        height,
        alt,
        format_html(' class="{}"', css_class) if css_class else "",
    )


@register.filter
def intcomma_ja(value):
    return number_format(value, force_grouping=True)


@register.inclusion_tag("components/breadcrumbs.html")
def breadcrumbs(items):
    return {"items": items}


@register.simple_tag
def hit_count(count, bound=""):
    """A number of search results as people read it: 12 件, 約 1,200 件, 10,000 件以上."""
    n = number_format(count, force_grouping=True)
    if bound == "about":
        return _("約 %(n)s 件") % {"n": n}
    if bound == "at_least":
        return _("%(n)s 件以上") % {"n": n}
    return _("%(n)s 件") % {"n": n}


@register.simple_tag
def json_ld(data):
    """A <script type="application/ld+json"> data block (not run, so the CSP allows it)."""
    import json

    from django.utils.html import _json_script_escapes
    from django.utils.safestring import mark_safe

    text = json.dumps({k: v for k, v in data.items() if v is not None}, ensure_ascii=False)
    safe = mark_safe(text.translate(_json_script_escapes))  # noqa: S308 - <, > and & escaped as in json_script
    return format_html('<script type="application/ld+json">{}</script>', safe)
