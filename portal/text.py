"""Japanese text helpers: dates in 和暦 with the Western year, fiscal years, safe Markdown."""

import datetime as dt
import re
import threading
import unicodedata
from functools import lru_cache

import markdown
import nh3
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

# Start dates of the eras the portal's content can meet.
ERAS = (
    (dt.date(2019, 5, 1), "令和"),
    (dt.date(1989, 1, 8), "平成"),
    (dt.date(1926, 12, 25), "昭和"),
)

EN_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _as_date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date()
    return value


def wareki_year(date: dt.date) -> str:
    """2026-11-29 -> '令和8年'; the first year of an era is written 元年."""
    for start, name in ERAS:
        if date >= start:
            year = date.year - start.year + 1
            return f"{name}{'元' if year == 1 else year}年"
    return f"{date.year}年"


def format_date_ja(value) -> str:
    """令和8年(2026年)11月29日: the form people read on Japanese government sites."""
    date = _as_date(value)
    return f"{wareki_year(date)}({date.year}年){date.month}月{date.day}日"


def format_date_en(value) -> str:
    date = _as_date(value)
    return f"{date.day} {EN_MONTHS[date.month - 1]} {date.year}"


def fiscal_year(value) -> int:
    """The fiscal year (年度, April to March) a date falls in: 2027-03-31 -> 2026."""
    date = _as_date(value)
    return date.year if date.month >= 4 else date.year - 1


ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和"}
_YEAR = re.compile(r"(?:(?P<era>令和|平成|昭和|[RHS])(?P<era_year>元|\d{1,2})|(?P<year>\d{4}))(?:年度?)?")


def parse_year(text: str) -> int | None:
    """A year or fiscal year as people write it, as a Western year; None if it is not one.

    '2021', '2021年度', '令和3年度', '令和元年', 'R3' -> 2021 or 2019. Full-width digits are read
    too. A year counts from its era's first year, so 平成31年 and 令和元年 are both 2019.
    """
    match = _YEAR.fullmatch(unicodedata.normalize("NFKC", str(text)).strip().upper())
    if not match:
        return None
    if match["year"]:
        return int(match["year"])
    name = ERA_LETTERS.get(match["era"], match["era"])
    first = next(start.year for start, era in ERAS if era == name)
    return first + (1 if match["era_year"] == "元" else int(match["era_year"])) - 1


_DATE = re.compile(r"(?P<year>.+?)[年/.\-](?P<month>\d{1,2})[月/.\-](?P<day>\d{1,2})日?")


def parse_date(text: str) -> dt.date | None:
    """A date as people write it; None if it is not one.

    '2024-04-01', '2024/4/1', '2024年4月1日', '令和6年4月1日', 'R6.4.1' -> 2024-04-01.
    """
    match = _DATE.fullmatch(unicodedata.normalize("NFKC", str(text)).strip())
    year = parse_year(match["year"]) if match else None
    if year is None:
        return None
    try:
        return dt.date(year, int(match["month"]), int(match["day"]))
    except ValueError:
        return None


def format_fiscal_year_ja(year: int) -> str:
    """2026 -> '令和8年度(2026年度)'.

    A fiscal year takes the era in force in May of its first year, as government documents
    write it: FY2019 is 令和元年度 (令和 began on 1 May 2019), FY1988 is 昭和63年度.
    """
    return f"{wareki_year(dt.date(year, 5, 1))[:-1]}年度({year}年度)"


ALLOWED_TAGS = {
    "p",
    "br",
    "h2",
    "h3",
    "h4",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "a",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "code",
    "pre",
    "hr",
    "dl",
    "dt",
    "dd",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "td": set()}


_converters = threading.local()


def _converter() -> markdown.Markdown:
    """One Markdown converter per thread: building one costs more than converting a page."""
    md = getattr(_converters, "md", None)
    if md is None:
        md = _converters.md = markdown.Markdown(extensions=["tables", "sane_lists"], output_format="html")
    return md


@lru_cache(maxsize=2048)
def _render(text: str) -> str:
    html = _converter().reset().convert(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener",
    )


def render_markdown(text: str | None) -> SafeString:
    """Markdown to HTML, with everything but a small set of tags and attributes removed."""
    return mark_safe(_render(text or ""))  # noqa: S308 - sanitised by nh3 above
