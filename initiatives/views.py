from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from initiatives.models import Initiative, InitiativeDocument, InitiativeStatus, Meeting
from portal.i18n import shows_japanese_fallback
from portal.search.engine import matching_object_ids
from portal.search.query import parse
from portal.views import preview_response


@require_safe
def initiative_list(request):
    query = parse(request.GET.get("q", ""))
    initiatives = list(Initiative.objects.published())
    if not query.is_empty:
        order = {pk: i for i, pk in enumerate(matching_object_ids(query, kind="initiative", language=get_language()))}
        initiatives = sorted((i for i in initiatives if i.pk in order), key=lambda i: order[i.pk])
    groups = [
        (status, label, [i for i in initiatives if i.status == status]) for status, label in InitiativeStatus.choices
    ]
    context = {
        "groups": [g for g in groups if g[2]],
        "query": query,
        "q": query.raw,
        "match_count": len(initiatives),
        "breadcrumbs": [(_("取組"), None)],
    }
    return render(request, "initiatives/list.html", context)


@require_safe
def initiative_detail(request, slug):
    queryset = Initiative.objects.visible_to(request.user).prefetch_related(
        "links",
        Prefetch("documents", queryset=InitiativeDocument.objects.filter(meeting__isnull=True)),
        Prefetch("meetings", queryset=Meeting.objects.prefetch_related("documents")),
        Prefetch(
            "related",
            queryset=Initiative.objects.published().only(
                "slug", "title_ja", "title_en", "short_name_ja", "short_name_en", "summary_ja", "summary_en", "order"
            ),
        ),
    )
    initiative = get_object_or_404(queryset, slug=slug)
    context = {
        "initiative": initiative,
        "breadcrumbs": [(_("取組"), reverse("initiatives:list")), (initiative.display_name, None)],
        "is_preview": not initiative.is_public,
        "english_missing": shows_japanese_fallback(initiative, ("title", "summary", "body")),
        # Where the body opens with the summary (a one-paragraph program), it is not said twice.
        "show_summary": " ".join(initiative.summary.split()) not in " ".join(initiative.body.split()),
    }
    return preview_response(render(request, "initiatives/detail.html", context), initiative)
