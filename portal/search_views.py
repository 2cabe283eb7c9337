"""The site-wide search page: /search/?q=… (and /en/search/)."""

from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from portal.search import registry
from portal.search.engine import search
from portal.search.query import MAX_QUERY_LENGTH, parse

PER_KIND = 5  # hits per kind on the overview
PER_PAGE = 20  # hits per page when one kind is chosen


def page_number(value: str | None) -> int:
    try:
        number = int(value or "1")
    except ValueError:
        raise Http404(_("そのページ番号のページはありません。")) from None
    if number < 1:
        raise Http404(_("そのページ番号のページはありません。"))
    return number


@require_safe
def search_page(request):
    query = parse(request.GET.get("q", ""))
    kind = registry.kind_for_key(request.GET.get("kind", ""))
    unknown_kind = bool(request.GET.get("kind")) and kind is None
    number = page_number(request.GET.get("page"))
    limit = PER_PAGE if kind else PER_KIND
    result = search(
        query,
        language=get_language(),
        kinds=[kind.key] if kind else None,
        limit=limit,
        offset=(number - 1) * limit if kind else 0,
    )
    if kind and number > 1 and not result.groups[0].hits:
        raise Http404(_("そのページ番号のページはありません。"))
    group = result.groups[0] if kind else None
    context = {
        "query": query,
        "q": query.raw,
        "result": result,
        "kind": kind,
        "kind_hidden": [("kind", kind.key)] if kind else [],
        "group": group,
        "unknown_kind": unknown_kind,
        "page_number": number,
        "has_next": bool(group and group.count > number * PER_PAGE),
        "query_string": urlencode({"q": query.raw, "kind": kind.key}) if kind else "",
        "max_length": MAX_QUERY_LENGTH,
        "single_terms": [t.text for t in query.include] if len(query.include) > 1 else [],
        "breadcrumbs": [(_("サイト内検索"), None)],
        "noindex": not query.is_empty,
    }
    return render(request, "portal/search.html", context)
