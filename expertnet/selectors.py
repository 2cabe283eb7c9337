"""Reads of the expert list: filters from the URL, the filtered experts and their counts.

Every filter value shows how many experts choosing it would leave (the other filters applied).
The counts take at most four queries whatever the number of experts: one grouped count gives
type, 五十音 row and base prefecture together; one conditional count gives every field (theme);
by dispatch place, two grouped counts over the dispatches give prefectures and regions.
"""

import json
from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from expertnet.models import KANA_ROWS, Dispatch, Expert, ExpertKind
from portal.listing import PrefectureCount, ThemeCount, prefecture_counts, prefectures, region_codes, region_of
from portal.models import Region, theme_bit
from portal.search.engine import MATCHING_LIMIT, matching_object_ids
from portal.search.query import Query, parse

PLACES = ("base", "dispatch")
KANA_KEYS = [key for key, _, _ in KANA_ROWS]


@dataclass
class Filters:
    query: Query
    kind: str = ""
    theme: str = ""
    place: str = "base"  # which place the region and prefecture filters mean: 活動拠点 or 派遣先
    region: str = ""
    pref: str = ""
    kana: str = ""
    ignored: list[str] = field(default_factory=list)

    def as_params(self, **changes) -> dict[str, str]:
        values = {
            "q": self.query.raw,
            "kind": self.kind,
            "theme": self.theme,
            "place": self.place if self.place != "base" else "",
            "region": self.region,
            "pref": self.pref,
            "kana": self.kana,
        }
        values.update({k: ("" if v is None else str(v)) for k, v in changes.items()})
        if not (values["region"] or values["pref"]):
            values["place"] = ""  # the place mode means nothing without a place
        return {k: v for k, v in values.items() if v}


def parse_filters(params, *, theme_keys: set[str]) -> Filters:
    filters = Filters(query=parse(params.get("q", "")))
    checks = {
        "kind": lambda v: v in ExpertKind.values,
        "theme": lambda v: v in theme_keys,
        "place": lambda v: v in PLACES,
        "region": lambda v: v in Region.values,
        "pref": lambda v: v.isascii() and v.isdigit() and len(v) == 2 and 1 <= int(v) <= 47,  # not "²³"
        "kana": lambda v: v in KANA_KEYS,
    }
    for name, valid in checks.items():
        value = params.get(name, "")
        if not value:
            continue
        if valid(value):
            setattr(filters, name, value)
        else:
            filters.ignored.append(name)
    return filters


def place_codes(filters: Filters) -> list[str]:
    if filters.pref:
        return [filters.pref]
    if filters.region:
        return region_codes(filters.region)
    return []


def keyword_ids(filters: Filters, *, language: str) -> list[int] | None:
    if filters.query.is_empty:
        return None
    return matching_object_ids(filters.query, kind="expert", language=language)


def _among(ids: list[int]) -> RawSQL:
    """``pk IN`` the search engine's hits (up to 10,000) as one parameter, not 10,000."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [ids])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(ids)])


def filtered(filters: Filters, *, theme_ids: dict[str, int], ids: list[int] | None, skip=()) -> QuerySet:
    """Public experts that every filter allows but those in ``skip``."""
    qs = Expert.objects.published()
    if ids is not None:
        qs = qs.filter(pk__in=_among(ids))
    if filters.kind and "kind" not in skip:
        qs = qs.filter(kind=filters.kind)
    if filters.theme and "theme" not in skip:
        bit = theme_bit(theme_ids[filters.theme])
        qs = qs.alias(theme_bit=F("theme_mask").bitand(bit)).filter(theme_bit=bit)
    if filters.kana and "kana" not in skip:
        qs = qs.filter(kana_row=filters.kana)
    codes = place_codes(filters)
    if codes and "place" not in skip:
        if filters.place == "dispatch":
            qs = qs.filter(Exists(Dispatch.objects.filter(expert=OuterRef("pk"), prefecture__in=codes)))
        elif filters.pref:
            qs = qs.filter(base_prefecture=filters.pref)
        else:
            qs = qs.filter(base_region=filters.region)
    return qs


@dataclass
class Facets:
    total: int
    kinds: dict[str, int]
    kana: dict[str, int]
    themes: list[ThemeCount]
    regions: dict[str, int]
    prefs: list[PrefectureCount]
    capped: bool = False


def facets(filters: Filters, themes: list[ThemeCount], *, ids: list[int] | None) -> Facets:
    theme_ids = {t.key: t.pk for t in themes}
    dispatch_mode = filters.place == "dispatch"
    # 1. Type, 五十音 row and (by base) prefecture, grouped together; each facet then sums the
    #    groups that pass the other two filters. By dispatch place the place filter applies here.
    grouped = (
        filtered(
            filters, theme_ids=theme_ids, ids=ids, skip=("kind", "kana") if dispatch_mode else ("kind", "kana", "place")
        )
        .order_by()
        .values_list("kind", "kana_row", "base_prefecture")
        .annotate(n=Count("id"))
    )
    codes = set(place_codes(filters))
    kinds, kana, base_prefs = Counter(), Counter(), Counter()
    total = 0
    for kind, row, pref, n in grouped:
        kind_ok = not filters.kind or kind == filters.kind
        kana_ok = not filters.kana or row == filters.kana
        place_ok = dispatch_mode or not codes or pref in codes
        if kana_ok and place_ok:
            kinds[kind] += n
        if kind_ok and place_ok:
            kana[row] += n
        if kind_ok and kana_ok:
            base_prefs[pref] += n
            if place_ok:
                total += n
    # 2. Every field (theme) in one conditional count, the theme filter left out.
    theme_qs = filtered(filters, theme_ids=theme_ids, ids=ids, skip=("theme",))
    counts = _theme_counts(theme_qs, themes)
    for t in themes:
        t.n = counts.get(t.pk, 0)
    # 3. Prefectures and regions: by base from the groups above, by dispatch from the dispatches.
    if dispatch_mode:
        experts = filtered(filters, theme_ids=theme_ids, ids=ids, skip=("place",)).values("pk")
        dispatches = Dispatch.objects.filter(expert__in=experts).order_by()
        pref_counts = dict(dispatches.values_list("prefecture").annotate(n=Count("expert", distinct=True)))
        if filters.pref:  # the region facet keeps the prefecture filter: only its region counts
            regions = {region_of(filters.pref): pref_counts.get(filters.pref, 0)}
        else:  # an expert sent to two prefectures of a region counts once there
            regions = dict(dispatches.values_list("prefecture__region").annotate(n=Count("expert", distinct=True)))
    else:
        pref_counts = base_prefs
        regions = Counter()
        for code, _, _, region in prefectures():
            if not filters.pref or code == filters.pref:
                regions[region] += base_prefs.get(code, 0)
    prefs = prefecture_counts(pref_counts)
    return Facets(
        total=total,
        kinds=dict(kinds),
        kana=dict(kana),
        themes=themes,
        regions=dict(regions),
        prefs=prefs,
        capped=ids is not None and len(ids) >= MATCHING_LIMIT,
    )


def _theme_counts(qs: QuerySet, themes: list[ThemeCount]) -> dict[int, int]:
    aliases = {f"bit{t.pk}": F("theme_mask").bitand(theme_bit(t.pk)) for t in themes}
    result = qs.alias(**aliases).aggregate(
        **{f"t{t.pk}": Count("id", filter=Q(**{f"bit{t.pk}": theme_bit(t.pk)})) for t in themes}
    )
    return {t.pk: result[f"t{t.pk}"] or 0 for t in themes}
