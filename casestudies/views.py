from urllib.parse import urlencode

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from casestudies import japan_map, selectors
from casestudies.models import CaseStudy, PopulationBand
from portal.i18n import shows_japanese_fallback
from portal.models import Region, Theme
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


class CountedPaginator(Paginator):
    """A paginator told the total, which the facet counts already give (no COUNT query)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._count = count

    @property
    def count(self):
        return self._count


PAGE_PREFETCH = ("themes", "municipalities__parent")
ORDERINGS = {
    "new": ("-edition", "-fiscal_year_start", "-id"),
    "relevance": ("-edition", "-fiscal_year_start", "-id"),  # without a keyword: the newest first
    "kana": ("organisation_kana", "id"),
    "pref": ("prefecture_id", "organisation_kana", "id"),
}


@require_safe
def case_list(request):
    language = get_language()
    themes = list(Theme.objects.all())
    filters = selectors.parse_filters(request.GET, theme_keys={t.key for t in themes})
    ids = selectors.keyword_ids(filters, language=language)
    if ids is None:
        facets = selectors.facets(filters, themes)
        cases = selectors.filtered(filters, theme_ids={t.key: t.pk for t in themes})
        cases = cases.order_by(*ORDERINGS[filters.sort]).select_related("prefecture").prefetch_related(*PAGE_PREFETCH)
        paginator = CountedPaginator(cases, PER_PAGE, count=facets.total)
    else:
        facets, matches = selectors.keyword_facets(filters, themes, ids)
        paginator = Paginator(matches, PER_PAGE)
    try:
        page = paginator.page(request.GET.get("page", "1"))
    except (PageNotAnInteger, EmptyPage):
        raise Http404(_("そのページ番号のページはありません。")) from None
    if ids is None:
        page.object_list = list(page.object_list)
    else:  # the page's ids, in the order asked for
        by_pk = (
            CaseStudy.objects.select_related("prefecture").prefetch_related(*PAGE_PREFETCH).in_bulk(page.object_list)
        )
        page.object_list = [by_pk[pk] for pk in page.object_list if pk in by_pk]
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
        href=lambda code: "?" + urlencode(filters.as_params(pref=code, region="")),
    )
    context = {
        "map_tiles": map_tiles,
        "map_width": japan_map.WIDTH,
        "map_height": japan_map.HEIGHT,
        "filters": filters,
        "q": filters.query.raw,
        "page_obj": page,
        "facets": facets,
        "regions": [(key, label, facets.regions.get(key, 0)) for key, label in Region.choices],
        "pops": [(key, label, facets.pops.get(key, 0)) for key, label in PopulationBand.choices],
        "chips": chips,
        "ignored": [str(FILTER_LABELS[name]) for name in filters.ignored],
        "query_string": urlencode(filters.as_params()),
        "sorts": [
            (key, label)
            for key, label in (
                ("relevance", _("関連度順")),
                ("new", _("新しい順")),
                ("kana", _("五十音順")),
                ("pref", _("都道府県順")),
            )
            if key != "relevance" or not filters.query.is_empty
        ],
        "breadcrumbs": [(_("地域力創造優良事例集"), None)],
        "noindex": bool(request.GET),
    }
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


@require_safe
def case_detail(request, slug):
    queryset = (
        CaseStudy.objects.visible_to(request.user)
        .select_related("prefecture")
        .prefetch_related(
            "municipalities__parent",
            "themes",
            "schemes",
            "figures",
            "links",
            "images",
            "attachments",
            "initiatives",
            "related",
        )
    )
    case = get_object_or_404(queryset, slug=slug)
    context = {
        "case": case,
        "breadcrumbs": [(_("地域力創造優良事例集"), reverse("casestudies:list")), (case.title, None)],
        "is_preview": not case.is_public,
        "english_missing": shows_japanese_fallback(case, ("title", "summary", "activities")),
        "related_cases": [c for c in case.related.all() if c.is_public],
        "initiatives": [i for i in case.initiatives.all() if i.is_public],
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
