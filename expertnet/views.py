from urllib.parse import urlencode

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import F, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from casestudies.models import CaseStudy
from expertnet import selectors
from expertnet.models import KANA_ROWS, Dispatch, Expert, ExpertKind, Seminar, SeminarSession
from portal import html, listing
from portal.i18n import shows_japanese_fallback
from portal.models import Municipality, Page, Region, theme_bit
from portal.views import preview_response

PER_PAGE = 20
INVITATION_PAGE = "expertnet-invitation"  # how to invite an expert: a site page editors keep in admin
FILTER_LABELS = {
    "kind": gettext_lazy("種別"),
    "theme": gettext_lazy("分野"),
    "place": gettext_lazy("地域の種類"),
    "region": gettext_lazy("地方"),
    "pref": gettext_lazy("都道府県"),
    "kana": gettext_lazy("五十音"),
}


class KnownCountPaginator(Paginator):
    """A paginator told the total, which the facet counts already give (no COUNT query)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self):
        return self._known_count


def theme_names(expert: Expert, themes) -> list[str]:
    return [t.name for t in themes if expert.theme_mask & theme_bit(t.pk)]


@require_safe
def expert_list(request):
    language = get_language()
    themes = listing.themes()
    theme_ids = {t.key: t.pk for t in themes}
    filters = selectors.parse_filters(request.GET, theme_keys=set(theme_ids))
    ids = selectors.keyword_ids(filters, language=language)
    facets = selectors.facets(filters, themes, ids=ids)
    experts = (
        selectors.filtered(filters, theme_ids=theme_ids, ids=ids)
        .select_related("base_prefecture")
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
            "job_title",
            "job_title_ja",
            "job_title_en",
            "theme_mask",
            "is_sample",
            "state",
            "published_at",
            "unpublish_at",
            "base_prefecture__code",
            "base_prefecture__name",
            "base_prefecture__name_en",
        )
        .order_by("name_kana", "id")
    )
    paginator = KnownCountPaginator(experts, PER_PAGE, count=facets.total)
    try:
        page = paginator.page(request.GET.get("page", "1"))
    except (PageNotAnInteger, EmptyPage):
        raise Http404(_("そのページ番号のページはありません。")) from None
    for expert in page.object_list:
        expert.theme_names = theme_names(expert, themes)

    kinds = dict(ExpertKind.choices)
    regions = dict(Region.choices)
    chips = []
    if not filters.query.is_empty:
        chips.append((_("キーワード"), filters.query.raw, filters.as_params(q="")))
    if filters.kind:
        chips.append((_("種別"), kinds[filters.kind], filters.as_params(kind="")))
    if filters.theme:
        chips.append((_("分野"), next(t.name for t in themes if t.key == filters.theme), filters.as_params(theme="")))
    place_label = _("派遣先") if filters.place == "dispatch" else _("活動拠点")
    if filters.region:
        chips.append((place_label, regions[filters.region], filters.as_params(region="", pref="")))
    if filters.pref:
        name = next(p.display_name for p in facets.prefs if p.code == filters.pref)
        chips.append((place_label, name, filters.as_params(pref="")))
    if filters.kana:
        chips.append(
            (
                _("五十音"),
                _("%(row)s行") % {"row": {k: r for k, r, _x in KANA_ROWS}[filters.kana]},
                filters.as_params(kana=""),
            )
        )

    kana_index = [
        {
            "key": key,
            "label": label,
            "n": facets.kana.get(key, 0),
            "href": "?" + urlencode(filters.as_params(kana=key)),
            "current": filters.kana == key,
        }
        for key, label, _letters in KANA_ROWS
    ]
    context = {
        "filters": filters,
        "q": filters.query.raw,
        "facets": facets,
        "page_obj": page,
        "experts": page.object_list,
        "kana_index": kana_index,
        "kana_all_href": "?" + urlencode(filters.as_params(kana="")),
        "options": {
            "kind": html.options(
                ((key, f"{label} ({facets.kinds.get(key, 0)})") for key, label in ExpertKind.choices), filters.kind
            ),
            "theme": html.options(((t.key, f"{t.name} ({t.n})") for t in themes), filters.theme),
            "place": html.options((("base", _("活動拠点")), ("dispatch", _("派遣先"))), filters.place),
            "region": html.options(
                ((key, f"{label} ({facets.regions.get(key, 0)})") for key, label in Region.choices), filters.region
            ),
            "pref": html.options(((p.code, f"{p.display_name} ({p.n})") for p in facets.prefs), filters.pref),
        },
        "chips": [(label, value, urlencode(params)) for label, value, params in chips],
        "ignored": [str(FILTER_LABELS[name]) for name in filters.ignored],
        "query_string": urlencode(filters.as_params()),
        "breadcrumbs": [(_("地域人材ネット"), None)],
        "noindex": bool(request.GET),
    }
    return render(request, "expertnet/list.html", context)


def json_ld(request, expert: Expert, themes: list[str]) -> dict:
    return {
        "@context": "https://schema.org",
        "@type": "Person" if expert.kind == ExpertKind.PRIVATE else "GovernmentOrganization",
        "name": expert.name,
        "description": expert.registered_field,
        "affiliation": expert.affiliation,
        "jobTitle": expert.job_title or None,
        "knowsAbout": themes,
        "url": request.build_absolute_uri(expert.get_absolute_url()),
        "sameAs": expert.contact_url or None,
    }


@require_safe
def expert_detail(request, slug):
    queryset = (
        Expert.objects.visible_to(request.user)
        .select_related("base_prefecture", "recommending_prefecture", "municipality__parent")
        .prefetch_related(
            "themes",
            Prefetch(
                "dispatches",
                queryset=Dispatch.objects.select_related("municipality__parent", "prefecture", "case").order_by(
                    "-year_start", "municipality_id"
                ),
            ),
            Prefetch("case_studies", queryset=CaseStudy.objects.published().select_related("prefecture")),
            Prefetch(
                "sessions",
                queryset=SeminarSession.objects.filter(seminar__in=Seminar.objects.published())
                .select_related("seminar")
                .order_by("-starts_at"),
            ),
        )
    )
    expert = get_object_or_404(queryset, slug=slug)
    themes = list(expert.themes.all())
    dispatches = list(expert.dispatches.all())
    related = {c.pk: c for c in expert.case_studies.all()}
    for d in dispatches:
        if d.case and d.case.is_public:
            related.setdefault(d.case.pk, d.case)
    similar = []
    if not related and expert.theme_mask:  # none of its own: cases in the same fields
        similar = list(
            CaseStudy.objects.published()
            .select_related("prefecture")
            .alias(shared=F("theme_mask").bitand(expert.theme_mask))
            .filter(shared__gt=0)
            .order_by("-edition", "-fiscal_year_start", "-id")[:3]  # the list's own index order
        )
    sessions = [s for s in expert.sessions.all() if s.seminar.is_public]
    invitation = Page.objects.published().filter(slug=INVITATION_PAGE).first()
    context = {
        "expert": expert,
        "themes": themes,
        "dispatches": dispatches,
        "related_cases": list(related.values()),
        "similar_cases": similar,
        "sessions": sessions,
        "invitation": invitation,
        "request_url": reverse("expertnet:request") + "?" + urlencode({"expert": expert.slug}),
        "is_preview": not expert.is_public,
        "english_missing": shows_japanese_fallback(expert, ("name", "profile", "affiliation")),
        "json_ld": json_ld(request, expert, [t.name for t in themes]),
        "breadcrumbs": [(_("地域人材ネット"), reverse("expertnet:list")), (expert.name, None)],
    }
    return preview_response(render(request, "expertnet/detail.html", context), expert)


@require_safe
def municipality_dispatches(request, code):
    """The experts a municipality invited (派遣実績), and its case studies."""
    if not (code.isdigit() and len(code) == 6):
        raise Http404(_("市区町村コードは6桁の数字です。"))
    municipality = get_object_or_404(Municipality.objects.select_related("prefecture", "parent"), code=code)
    dispatches = list(
        Dispatch.objects.filter(municipality=municipality, expert__in=Expert.objects.published())
        .select_related("expert", "case")
        .order_by("-year_start", "expert__name_kana")
    )
    cases = list(CaseStudy.objects.published().filter(municipalities=municipality).order_by("-edition", "-id")[:20])
    context = {
        "municipality": municipality,
        # Municipalities have Japanese names only: marked so on English pages.
        "municipality_name": format_html('<span lang="ja">{}</span>', municipality.full_name),
        "dispatches": dispatches,
        "cases": cases,
        "breadcrumbs": [
            (_("地域人材ネット"), reverse("expertnet:list")),
            (_("%(name)sへの派遣実績") % {"name": municipality.full_name}, None),
        ],
    }
    return render(request, "expertnet/municipality.html", context)


@require_safe
def opendata_page(request):
    from expertnet.opendata import FIELDS

    context = {
        "fields": FIELDS,
        "example_url": request.build_absolute_uri(reverse("expertnet:export_csv_excel")) + "?theme=tourism",
        "breadcrumbs": [(_("地域人材ネット"), reverse("expertnet:list")), (_("オープンデータ"), None)],
    }
    return render(request, "expertnet/opendata.html", context)
