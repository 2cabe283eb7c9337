"""Reads of the case-study list: filters from the URL, the filtered cases and their facet counts.

Every facet is counted with the other filters applied (one GROUP BY query each), so that each
value shows how many cases it would leave.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from casestudies.models import CaseStudy, PopulationBand
from portal.models import Prefecture, Region, Theme
from portal.search.engine import matching_object_ids
from portal.search.query import Query, parse
from portal.text import fiscal_year

FIRST_YEAR = 2008
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
        if pref.isdigit() and len(pref) == 2 and 1 <= int(pref) <= 47:
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
        if year.isdigit() and int(year) in years():
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


def filtered(filters: Filters, *, language: str, skip: str = "", ids: list[int] | None = None) -> QuerySet:
    qs = CaseStudy.objects.published()
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    if filters.region and skip != "region":
        qs = qs.filter(region=filters.region)
    if filters.pref and skip not in ("pref", "region"):
        qs = qs.filter(prefecture_id=filters.pref)
    if filters.theme and skip != "theme":
        qs = qs.filter(themes__key=filters.theme)
    if filters.year and skip != "year":
        qs = qs.filter(year_q(filters.year))
    if filters.pop and skip != "pop":
        qs = qs.filter(population_band=filters.pop)
    return qs


def keyword_ids(filters: Filters, *, language: str) -> list[int] | None:
    if filters.query.is_empty:
        return None
    return matching_object_ids(filters.query, kind="casestudy", language=language)


def facets(filters: Filters, *, language: str, ids: list[int] | None) -> dict:
    """Counts per value of each filter, the other filters applied (five queries)."""
    regions = dict(
        filtered(filters, language=language, skip="region", ids=ids)
        .order_by()  # no default ordering in the GROUP BY
        .values_list("region")
        .annotate(n=Count("id"))
        .values_list("region", "n")
    )
    prefs = list(
        Prefecture.objects.only("code", "name", "name_en", "region").annotate(
            n=Count(
                "case_studies", filter=Q(case_studies__in=filtered(filters, language=language, skip="pref", ids=ids))
            )
        )
    )
    themes = list(
        Theme.objects.annotate(
            n=Count(
                "case_studies", filter=Q(case_studies__in=filtered(filters, language=language, skip="theme", ids=ids))
            )
        )
    )
    year_list = years()
    year_counts = filtered(filters, language=language, skip="year", ids=ids).aggregate(
        **{f"y{y}": Count("id", filter=year_q(y)) for y in year_list}
    )
    pops = dict(
        filtered(filters, language=language, skip="pop", ids=ids)
        .order_by()
        .values_list("population_band")
        .annotate(n=Count("id"))
        .values_list("population_band", "n")
    )
    return {
        "regions": regions,
        "prefs": prefs,
        "themes": themes,
        "years": {y: year_counts[f"y{y}"] for y in year_list},
        "pops": pops,
    }
