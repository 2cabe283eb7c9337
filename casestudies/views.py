import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import DecimalField, F, Prefetch, Q, Value
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from casestudies import japan_map, selectors
from casestudies.facets import next_fiscal_year_start
from casestudies.models import CaseFigure, CaseLink, CaseStudy, PopulationBand
from expertnet.models import Dispatch, Expert
from portal import html, listing, pagecache
from portal.i18n import shows_japanese_fallback
from portal.models import Municipality, Region
from portal.search.engine import MATCHING_LIMIT
from portal.views import preview_response

PER_PAGE = 20
FILTER_LABELS = {
    "region": gettext_lazy("地方"),
    "pref": gettext_lazy("都道府県"),
    "theme": gettext_lazy("テーマ"),
    "year": gettext_lazy("年度"),
    "pop": gettext_lazy("人口規模"),
    "sort": gettext_lazy("並び順"),
}


PAGE_PREFETCH = ("themes", "municipalities__parent")


class CardStore:
    """Drawn result cards, kept in this process: at most ``size``, the least recently used go first.

    A card is drawn once per version of the data (the facet cells' version, which changes with
    every change to a case, a theme or a place) and language; a page only reads which cases it
    shows. Each process keeps its own: a card costs one query and one template to draw again,
    less than fetching it from a shared cache (docs/decisions/0007-case-study-facets.md).
    """

    def __init__(self, size: int):
        self.size = size
        self.cards: OrderedDict[tuple, SafeString] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            card = self.cards.get(key)
            if card is not None:
                self.cards.move_to_end(key)
            return card

    def put(self, key, card: SafeString) -> None:
        with self.lock:
            self.cards[key] = card
            while len(self.cards) > self.size:
                self.cards.popitem(last=False)


CARDS = CardStore(size=5000)


def case_cards(pks: list[int], *, version: int | None, language: str) -> list[SafeString]:
    """The cards of these cases, in this order. Without a version (the keyword list) they are drawn
    afresh."""
    keys = {pk: (version, language, pk) for pk in pks}
    found = {pk: card for pk in pks if version is not None and (card := CARDS.get(keys[pk])) is not None}
    missing = [pk for pk in pks if pk not in found]
    if missing:
        cases = CaseStudy.objects.select_related("prefecture").prefetch_related(*PAGE_PREFETCH).in_bulk(missing)
        for pk in missing:
            if pk in cases:
                found[pk] = mark_safe(render_to_string("casestudies/card.html", {"case": cases[pk]}))  # noqa: S308
                if version is not None:
                    CARDS.put(keys[pk], found[pk])
    return [found[pk] for pk in pks if pk in found]


@functools.lru_cache(maxsize=8)
def list_urls(language: str) -> dict[str, str]:
    """The list's own links, in the language they were asked for (the same for every request)."""
    names = ("list", "feed", "export_csv_excel", "export_csv", "export_json", "opendata")
    return {name: reverse(f"casestudies:{name}") for name in names}


@require_safe
def case_list(request):
    language = get_language()
    themes = listing.themes()
    filters = selectors.parse_filters(request.GET, theme_keys={t.key for t in themes})
    ids = selectors.keyword_ids(filters, language=language)
    if ids is None:
        facets = selectors.facets(filters, themes)
        ids_in_order = selectors.PageIds(filters, theme_ids={t.key: t.pk for t in themes}, count=facets.total)
        paginator = Paginator(ids_in_order, PER_PAGE)
    else:
        facets, matches = selectors.keyword_facets(filters, themes, ids)
        paginator = Paginator(matches, PER_PAGE)
    try:
        page = paginator.page(request.GET.get("page", "1"))
    except (PageNotAnInteger, EmptyPage):
        raise Http404(_("そのページ番号のページはありません。")) from None
    cards = case_cards(list(page.object_list), version=facets.version, language=language)
    region_names = dict(Region.choices)
    chips = []
    if not filters.query.is_empty:
        chips.append((_("キーワード"), filters.query.raw, urlencode(filters.as_params(q="", sort=""))))
    if filters.region:
        chips.append((_("地方"), region_names[filters.region], urlencode(filters.as_params(region="", pref=""))))
    if filters.pref:
        pref = next(p for p in facets.prefs if p.code == filters.pref)
        chips.append((_("都道府県"), pref.display_name, urlencode(filters.as_params(pref=""))))
    if filters.theme:
        theme = next(t for t in facets.themes if t.key == filters.theme)
        chips.append((_("テーマ"), theme.name, urlencode(filters.as_params(theme=""))))
    if filters.year:
        chips.append((_("年度"), _("%(year)s年度") % {"year": filters.year}, urlencode(filters.as_params(year=""))))
    if filters.pop:
        chips.append((_("人口規模"), PopulationBand(filters.pop).label, urlencode(filters.as_params(pop=""))))
    map_tiles = japan_map.tiles(
        facets.prefs,
        selected=filters.pref,
        href=filters.pref_link().format,
    )
    year_label = _("%(year)s年度")
    sorts = [
        (key, label)
        for key, label in (
            ("relevance", _("関連度順")),
            ("new", _("新しい順")),
            ("kana", _("五十音順")),
            ("pref", _("都道府県順")),
        )
        if key != "relevance" or not filters.query.is_empty
    ]
    context = {
        "map_svg": japan_map.svg(map_tiles, labelled_by="japan-map-caption"),
        "map_rows": japan_map.table_rows(map_tiles),
        "options": {
            "region": html.options(
                ((key, f"{label} ({facets.regions.get(key, 0)})") for key, label in Region.choices), filters.region
            ),
            "pref": html.options(((p.code, f"{p.display_name} ({p.n})") for p in facets.prefs), filters.pref),
            "theme": html.options(((t.key, f"{t.name} ({t.n})") for t in facets.themes), filters.theme),
            "year": html.options(
                ((y, f"{year_label % {'year': y}} ({n})") for y, n in facets.years.items()), filters.year
            ),
            "pop": html.options(
                ((key, f"{label} ({facets.pops.get(key, 0)})") for key, label in PopulationBand.choices), filters.pop
            ),
            "sort": html.options(sorts, filters.sort),
        },
        "filters": filters,
        "q": filters.query.raw,
        "page_obj": page,
        "cards": cards,
        "facets": facets,
        "chips": chips,
        "ignored": [str(FILTER_LABELS[name]) for name in filters.ignored],
        "query_string": urlencode(filters.as_params()),
        "urls": list_urls(language),
        "matching_limit": f"{MATCHING_LIMIT:,}",
        "breadcrumbs": [(_("地域力創造優良事例集"), None)],
        "noindex": bool(request.GET),
    }
    pagecache.expires_at(request, lambda: next_fiscal_year_start(timezone.now()))  # year facets
    return render(request, "casestudies/list.html", context)


def json_ld(request, case) -> dict:
    """schema.org Article for search engines (rendered with json_script: no inline script to run)."""
    return {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": case.title,
        "description": case.summary,
        "inLanguage": get_language(),
        "datePublished": case.published_at.isoformat() if case.published_at else None,
        "dateModified": case.updated_at.isoformat(),
        "url": request.build_absolute_uri(case.get_absolute_url()),
        "about": [t.name for t in case.themes.all()],
        "spatialCoverage": [m.full_name for m in case.municipalities.all()],
        "publisher": {"@type": "GovernmentOrganization", "name": _("総務省")},
        "isBasedOn": _("地域力創造優良事例集"),
    }


@dataclass
class Figure:
    label: str
    value: Decimal
    unit: str

    @property
    def display_value(self) -> str:
        return CaseFigure.display_value.fget(self)


@dataclass
class Link:
    label: str
    url: str


def figures_and_links(case) -> tuple[list[Figure], list[Link]]:
    """The case's result figures and related links, both short lists, read in one query."""
    english = get_language() == "en"

    def text(ja, en):
        return (en or ja) if english else ja

    # Every column is an annotation, in the same order on both sides, so that the UNION's columns
    # line up (Django puts a model's own fields before annotations in the SELECT).
    decimal = DecimalField(max_digits=14, decimal_places=2)
    columns = ("r_kind", "r_order", "r_id", "r_label_ja", "r_label_en", "r_value", "r_unit_ja", "r_unit_en", "r_url")
    figures = (
        CaseFigure.objects.filter(case=case)
        .order_by()
        .annotate(
            r_kind=Value("figure"),
            r_order=F("order"),
            r_id=F("id"),
            r_label_ja=F("label_ja"),
            r_label_en=F("label_en"),
            r_value=F("value"),
            r_unit_ja=F("unit_ja"),
            r_unit_en=F("unit_en"),
            r_url=Value(""),
        )
        .values_list(*columns)
    )
    links = (
        CaseLink.objects.filter(case=case)
        .order_by()
        .annotate(
            r_kind=Value("link"),
            r_order=F("order"),
            r_id=F("id"),
            r_label_ja=F("label_ja"),
            r_label_en=F("label_en"),
            r_value=Value(None, output_field=decimal),
            r_unit_ja=Value(""),
            r_unit_en=Value(""),
            r_url=F("url"),
        )
        .values_list(*columns)
    )
    rows = sorted(figures.union(links, all=True).order_by(), key=lambda r: (r[1], r[2]))
    return (
        [Figure(text(r[3], r[4]), r[5], text(r[6], r[7]) or "") for r in rows if r[0] == "figure"],
        [Link(text(r[3], r[4]), r[8]) for r in rows if r[0] == "link"],
    )


@require_safe
def case_detail(request, slug):
    queryset = (
        CaseStudy.objects.visible_to(request.user)
        .select_related("prefecture")
        .prefetch_related(
            Prefetch("municipalities", queryset=Municipality.objects.select_related("parent")),
            "themes",
            "schemes",
            "images",
            "attachments",
            "initiatives",
            "related",
        )
    )
    case = get_object_or_404(queryset, slug=slug)
    figures, links = figures_and_links(case)
    context = {
        "figures": figures,
        "links": links,
        "case": case,
        "breadcrumbs": [(_("地域力創造優良事例集"), reverse("casestudies:list")), (case.title, None)],
        "is_preview": not case.is_public,
        "english_missing": shows_japanese_fallback(case, ("title", "summary", "activities")),
        "related_cases": [c for c in case.related.all() if c.is_public],
        "initiatives": [i for i in case.initiatives.all() if i.is_public],
        "experts": list(
            Expert.objects.published()
            .filter(
                Q(pk__in=Expert.case_studies.through.objects.filter(casestudy=case).values("expert_id"))
                | Q(pk__in=Dispatch.objects.filter(case=case).values("expert_id"))
            )
            .order_by("name_kana")
            .only(
                "slug",
                "name",
                "name_ja",
                "name_en",
                "name_kana",
                "kind",
                "affiliation",
                "affiliation_ja",
                "affiliation_en",
                "is_sample",
            )
        ),
        "json_ld": json_ld(request, case),
    }
    return preview_response(render(request, "casestudies/detail.html", context), case)


@require_safe
def opendata_page(request):
    from casestudies.opendata import FIELDS

    context = {
        "fields": FIELDS,
        "example_url": request.build_absolute_uri(reverse("casestudies:export_csv_excel"))
        + "?region=chubu&theme=tourism",
        "breadcrumbs": [(_("地域力創造優良事例集"), reverse("casestudies:list")), (_("オープンデータ"), None)],
    }
    return render(request, "casestudies/opendata.html", context)
