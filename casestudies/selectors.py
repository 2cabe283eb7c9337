"""Reads of the case-study list: filters from the URL, the filtered cases and their facet counts.

Every facet is counted with the other filters applied, so that each value shows how many cases
it would leave. Without a keyword the counts come from the pre-counted cells of
casestudies/facets.py (one query, whatever the number of cases); with a keyword they are counted
over the search engine's hits, which it caps at 10,000.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db import connection
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from casestudies import facets as facet_cells
from casestudies.facets import FIRST_YEAR
from casestudies.models import CaseStudy, PopulationBand
from portal.listing import PrefectureCount, ThemeCount, prefecture_counts, region_codes
from portal.models import Region, theme_bit
from portal.publishing import PublishState
from portal.search.engine import MATCHING_LIMIT, matching_object_ids
from portal.search.query import Query, parse
from portal.text import fiscal_year

SORTS = ("relevance", "new", "kana", "pref")


@dataclass
class Filters:
    query: Query
    region: str = ""
    pref: str = ""
    theme: str = ""
    year: int | None = None
    pop: str = ""
    sort: str = "new"
    ignored: list[str] = field(default_factory=list)  # parameters whose value was not understood

    def pref_link(self) -> str:
        """A link template for the prefecture tiles: "?…pref={code}…" with the other filters kept
        (the region gives way to the prefecture). One urlencode for 47 links."""
        before = urlencode(self.as_params(region="", pref="", theme="", year="", pop="", sort=""))
        after = urlencode(self.as_params(q="", region="", pref=""))
        return "?" + "&".join(part for part in (before, "pref={code}", after) if part)

    def as_params(self, **changes) -> dict[str, str]:
        values = {
            "q": self.query.raw,
            "region": self.region,
            "pref": self.pref,
            "theme": self.theme,
            "year": str(self.year or ""),
            "pop": self.pop,
            "sort": self.sort if self.sort != default_sort(self) else "",
        }
        values.update({k: ("" if v is None else str(v)) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v}


def default_sort(filters: "Filters") -> str:
    return "new" if filters.query.is_empty else "relevance"


def years() -> list[int]:
    return list(range(fiscal_year(timezone.localdate()), FIRST_YEAR - 1, -1))


def parse_filters(params, *, theme_keys: set[str]) -> Filters:
    filters = Filters(query=parse(params.get("q", "")))
    region = params.get("region", "")
    if region:
        if region in Region.values:
            filters.region = region
        else:
            filters.ignored.append("region")
    pref = params.get("pref", "")
    if pref:
        if pref.isascii() and pref.isdigit() and len(pref) == 2 and 1 <= int(pref) <= 47:
            filters.pref = pref
        else:
            filters.ignored.append("pref")
    theme = params.get("theme", "")
    if theme:
        if theme in theme_keys:
            filters.theme = theme
        else:
            filters.ignored.append("theme")
    year = params.get("year", "")
    if year:
        # ASCII digits only: "²".isdigit() is true and int("²") fails; int() also refuses 5,000 digits.
        if year.isascii() and year.isdigit() and len(year) == 4 and int(year) in years():
            filters.year = int(year)
        else:
            filters.ignored.append("year")
    pop = params.get("pop", "")
    if pop:
        if pop in PopulationBand.values:
            filters.pop = pop
        else:
            filters.ignored.append("pop")
    sort = params.get("sort", "")
    filters.sort = sort if sort in SORTS else default_sort(filters)
    if sort and sort not in SORTS:
        filters.ignored.append("sort")
    if filters.sort == "relevance" and filters.query.is_empty:
        filters.sort = "new"
    return filters


def year_q(year: int) -> Q:
    return Q(fiscal_year_start__lte=year) & (Q(fiscal_year_end__gte=year) | Q(fiscal_year_end__isnull=True))


def place_codes(filters: Filters) -> list[str]:
    """The prefectures the place filters allow; empty when there is no place filter."""
    if filters.pref:
        return [filters.pref]
    if filters.region:
        return region_codes(filters.region)
    return []


def filtered(filters: Filters, *, theme_ids: dict[str, int]) -> QuerySet:
    """The public cases that every filter but the keyword allows."""
    qs = CaseStudy.objects.published()
    if filters.pref:
        qs = qs.filter(prefecture_id=filters.pref)
    elif filters.region:
        qs = qs.filter(region=filters.region)
    if filters.theme:
        bit = theme_bit(theme_ids[filters.theme])
        qs = qs.alias(theme_bit=F("theme_mask").bitand(bit)).filter(theme_bit=bit)
    if filters.year:
        qs = qs.filter(year_q(filters.year))
    if filters.pop:
        qs = qs.filter(population_band=filters.pop)
    return qs


ORDER_SQL = {
    "new": "edition DESC, fiscal_year_start DESC, id DESC",
    "relevance": "edition DESC, fiscal_year_start DESC, id DESC",  # without a keyword: the newest
    "kana": "organisation_kana, id",
    "pref": "prefecture_id, organisation_kana, id",
}


class PageIds:
    """The ids of the cases that every filter but the keyword allows, in the order asked for, read
    a page at a time: what ``filtered()`` selects, as one plain SQL statement on the covering
    indexes of CaseStudy (the ORM spends more time writing this query than the database takes to
    answer it). A test holds the two to the same answers."""

    def __init__(self, filters: Filters, *, theme_ids: dict[str, int], count: int, now=None):
        self.count = count
        table = connection.ops.quote_name(CaseStudy._meta.db_table)
        now = now or timezone.now()
        where = ["state = %s", "published_at <= %s", "(unpublish_at IS NULL OR unpublish_at > %s)"]
        params = [PublishState.PUBLISHED, now, now]
        if filters.pref:
            where.append("prefecture_id = %s")
            params.append(filters.pref)
        elif filters.region:
            where.append("region = %s")
            params.append(filters.region)
        if filters.theme:
            bit = theme_bit(theme_ids[filters.theme])
            where.append("(theme_mask & %s) = %s")
            params += [bit, bit]
        if filters.year:
            where.append("fiscal_year_start <= %s AND (fiscal_year_end >= %s OR fiscal_year_end IS NULL)")
            params += [filters.year, filters.year]
        if filters.pop:
            where.append("population_band = %s")
            params.append(filters.pop)
        order = ORDER_SQL[filters.sort]
        # Fixed fragments only; every value a visitor sent is a parameter.
        self.sql = f"SELECT id FROM {table} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %s OFFSET %s"
        self.params = params

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, window: slice) -> list[int]:
        start, stop = window.start or 0, window.stop
        if stop <= start:
            return []
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [*self.params, stop - start, start])
            return [row[0] for row in cursor.fetchall()]


def keyword_ids(filters: Filters, *, language: str) -> list[int] | None:
    if filters.query.is_empty:
        return None
    return matching_object_ids(filters.query, kind="casestudy", language=language)


@dataclass
class Facets:
    total: int
    regions: dict[str, int]
    prefs: list[PrefectureCount]
    themes: list[ThemeCount]
    years: dict[int, int]
    pops: dict[str, int]
    version: int | None = None  # of the facet cells, when the counts come from them
    capped: bool = False  # the keyword matched more cases than are counted (MATCHING_LIMIT)


def _facets(filters: Filters, themes: list[ThemeCount], *, prefs, theme_counts, year_counts, pops) -> Facets:
    allowed = set(place_codes(filters))
    pref_rows = prefecture_counts(prefs)
    regions: Counter = Counter()
    for p in pref_rows:
        if not filters.pref or p.code == filters.pref:
            regions[p.region] += p.n
    for theme in themes:
        theme.n = theme_counts.get(theme.pk, 0)
    return Facets(
        total=sum(p.n for p in pref_rows if not allowed or p.code in allowed),
        regions=dict(regions),
        prefs=pref_rows,
        themes=themes,
        years={y: year_counts.get(y, 0) for y in years()},
        pops=pops,
    )


def facets(filters: Filters, themes: list[ThemeCount]) -> Facets:
    """Counts per value of each filter, the other filters applied, without a keyword (one query)."""
    theme_ids = {t.key: t.pk for t in themes}
    counts = facet_cells.counts(
        theme=theme_ids[filters.theme] if filters.theme else facet_cells.ANY,
        year=filters.year or facet_cells.ANY,
        prefs=place_codes(filters),
        band=filters.pop,
    )
    result = _facets(
        filters,
        themes,
        prefs=counts["pref"],
        theme_counts=counts["theme"],
        year_counts=counts["year"],
        pops=counts["band"],
    )
    result.version = counts["version"]
    return result


SORT_KEYS = {
    "new": lambda r: (-r.edition, -r.start, -r.pk),
    "kana": lambda r: (r.kana, r.pk),
    "pref": lambda r: (r.pref, r.kana, r.pk),
}


@dataclass
class Row:
    pk: int
    pref: str
    band: str
    start: int
    end: int | None
    edition: int
    kana: str
    mask: int  # theme bits


def _hit_rows(ids: list[int], *, now=None) -> dict[int, Row]:
    """The filter values of the public cases among ``ids``, in one plain query (the ids come from
    the search engine, up to 10,000: passed as one JSON or array parameter, not 10,000)."""
    table = connection.ops.quote_name(CaseStudy._meta.db_table)
    if connection.vendor == "postgresql":
        among, param = "id = ANY(%s)", list(ids)
    else:  # SQLite: read the narrow index, not the wide rows (10,000 rows: 10 ms instead of 90)
        table += " INDEXED BY case_hit_idx"
        among, param = "id IN (SELECT value FROM json_each(%s))", json.dumps(ids)
    sql = (
        "SELECT id, prefecture_id, population_band, fiscal_year_start, fiscal_year_end, edition, organisation_kana,"
        f" theme_mask FROM {table} WHERE {among} AND state = %s AND published_at <= %s"
        " AND (unpublish_at IS NULL OR unpublish_at > %s)"
    )
    with connection.cursor() as cursor:
        now = now or timezone.now()
        cursor.execute(sql, [param, PublishState.PUBLISHED, now, now])
        return {row[0]: Row(*row) for row in cursor.fetchall()}


def keyword_facets(filters: Filters, themes: list[ThemeCount], ids: list[int]) -> tuple[Facets, list[int]]:
    """Facet counts over the keyword's hits, and the hits every other filter allows, in the order
    asked for (one query: the hits' filter values, their themes as bits)."""
    rows = _hit_rows(ids)
    bit = theme_bit({t.key: t.pk for t in themes}[filters.theme]) if filters.theme else 0
    bits = [(theme_bit(t.pk), t.pk) for t in themes]
    allowed = set(place_codes(filters))
    current = fiscal_year(timezone.localdate())
    year = filters.year

    prefs, masks, year_counts, pops = Counter(), Counter(), Counter(), Counter()
    matches = []
    for pk in ids:
        row = rows.get(pk)
        if row is None:
            continue
        # Which filters the row passes; each facet counts the rows that pass all the others.
        place = not allowed or row.pref in allowed
        theme = not bit or row.mask & bit
        in_year = not year or row.start <= year <= (row.end or current)
        pop = not filters.pop or row.band == filters.pop
        if theme and in_year and pop:
            prefs[row.pref] += 1
        if place and in_year and pop:
            masks[row.mask] += 1
        if place and theme and pop:  # a case counts in every year of its span: mark where it starts and ends
            year_counts[max(row.start, FIRST_YEAR)] += 1
            year_counts[min(row.end or current, current) + 1] -= 1
        if place and theme and in_year:
            pops[row.band] += 1
            if pop:
                matches.append(row)
    theme_counts = {pk: sum(n for mask, n in masks.items() if mask & b) for b, pk in bits}
    running, spans = 0, year_counts
    year_counts = {}
    for y in range(FIRST_YEAR, current + 1):
        running += spans[y]
        year_counts[y] = running
    if filters.sort in SORT_KEYS:
        matches.sort(key=SORT_KEYS[filters.sort])
    result = _facets(filters, themes, prefs=prefs, theme_counts=theme_counts, year_counts=year_counts, pops=pops)
    result.capped = len(ids) >= MATCHING_LIMIT
    return result, [row.pk for row in matches]
