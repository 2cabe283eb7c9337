"""What the faceted list pages (case studies, experts) share: the themes and the 47 prefectures as
plain values with a count beside each, and the region's prefecture codes for a place filter."""

import functools
from dataclasses import dataclass

from django.utils.translation import get_language

from portal.models import Prefecture, Theme


@dataclass
class ThemeCount:
    pk: int
    key: str
    name: str  # in the language of the request (Japanese when the English name is missing)
    n: int = 0


def themes() -> list[ThemeCount]:
    """The themes in their order, read as plain values (a list page needs no model instances)."""
    english = get_language() == "en"
    return [
        ThemeCount(pk, key, (name_en or name_ja) if english else name_ja)
        for pk, key, name_ja, name_en in Theme.objects.order_by("order", "key").values_list(
            "pk", "key", "name_ja", "name_en"
        )
    ]


@dataclass
class PrefectureCount:
    code: str
    display_name: str  # in the language of the request
    region: str
    n: int = 0


@functools.cache
def prefectures() -> tuple[tuple[str, str, str, str], ...]:
    """(code, name, name_en, region) of the 47 prefectures: reference data loaded by migration and
    never edited, so read once a process."""
    rows = tuple(Prefecture.objects.order_by("code").values_list("code", "name", "name_en", "region"))
    if len(rows) != 47:  # not loaded yet (an empty test database): do not keep it
        prefectures.cache_clear()
    return rows


def prefecture_counts(counts: dict[str, int]) -> list[PrefectureCount]:
    english = get_language() == "en"
    return [
        PrefectureCount(code, name_en if english else name, region, counts.get(code, 0))
        for code, name, name_en, region in prefectures()
    ]


def region_codes(region: str) -> list[str]:
    return [code for code, _, _, r in prefectures() if r == region]


def region_of(code: str) -> str:
    return next(region for c, _, _, region in prefectures() if c == code)
