from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template import loader
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from initiatives.models import Initiative
from portal.accessibility import render_results
from portal.i18n import shows_japanese_fallback
from portal.models import NewsItem, Page
from portal.search.engine import search
from portal.search.query import parse
from portal.search_views import page_number

NEWS_PER_PAGE = 20


def preview_response(response, obj):
    """A draft opened by an editor is never cached and never indexed."""
    if not obj.is_public:
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
    return response


def paginate(request, queryset, per_page):
    """The requested page, or 404 for a page number that is not a positive integer in range."""
    paginator = Paginator(queryset, per_page)
    number = request.GET.get("page", "1")
    try:
        return paginator.page(number)
    except (PageNotAnInteger, EmptyPage):
        raise Http404(_("そのページ番号のページはありません。")) from None


@require_safe
def home(request):
    initiatives = Initiative.objects.published().only(
        "slug", "title_ja", "title_en", "summary_ja", "summary_en", "status", "short_name_ja", "short_name_en"
    )
    news = NewsItem.objects.published().only("slug", "title_ja", "title_en", "published_at", "is_sample")[:5]
    return render(request, "portal/home.html", {"initiatives": initiatives, "news": news})


@require_safe
def news_list(request):
    query = parse(request.GET.get("q", ""))
    context = {"query": query, "q": query.raw, "breadcrumbs": [(_("新着情報"), None)]}
    if query.is_empty:
        context["page_obj"] = paginate(
            request,
            NewsItem.objects.published().only(
                "slug", "title_ja", "title_en", "summary_ja", "summary_en", "published_at", "is_sample"
            ),
            NEWS_PER_PAGE,
        )
    else:
        number = page_number(request.GET.get("page"))
        result = search(
            query, language=get_language(), kinds=["news"], limit=NEWS_PER_PAGE, offset=(number - 1) * NEWS_PER_PAGE
        )
        group = result.groups[0]
        if number > 1 and not group.hits:
            raise Http404(_("そのページ番号のページはありません。"))
        context.update(
            group=group,
            page_number=number,
            has_next=group.count > number * NEWS_PER_PAGE,
            query_string=urlencode({"q": query.raw}),
        )
    return render(request, "portal/news_list.html", context)


@require_safe
def news_detail(request, slug):
    item = get_object_or_404(NewsItem.objects.visible_to(request.user).select_related("initiative"), slug=slug)
    context = {
        "item": item,
        "breadcrumbs": [(_("新着情報"), reverse("portal:news_list")), (item.title, None)],
        "is_preview": not item.is_public,
        "english_missing": shows_japanese_fallback(item, ("title", "body")),
    }
    return preview_response(render(request, "portal/news_detail.html", context), item)


@require_safe
def page(request, slug):
    obj = get_object_or_404(Page.objects.visible_to(request.user), slug=slug)
    body = obj.body
    if "{{ accessibility_results }}" in body:
        body = body.replace("{{ accessibility_results }}", "")
        results = render_results()
    else:
        results = None
    context = {
        "page": obj,
        "body": body,
        "accessibility_results": results,
        "breadcrumbs": [(obj.title, None)],
        "is_preview": not obj.is_public,
        "english_missing": shows_japanese_fallback(obj, ("title", "body")),
    }
    return preview_response(render(request, "portal/page.html", context), obj)


@require_safe
def site_map(request):
    context = {
        "initiatives": Initiative.objects.published().only("slug", "title_ja", "title_en", "status"),
        "pages": Page.objects.published().only("slug", "title_ja", "title_en"),
        "breadcrumbs": [(_("サイトマップ"), None)],
    }
    return render(request, "portal/site_map.html", context)


@require_safe
def robots_txt(request):
    lines = [
        "User-agent: *",
        f"Disallow: /{settings.ADMIN_PATH}",
        f"Sitemap: {request.build_absolute_uri('/sitemap.xml')}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")


def _error(request, template, status, reason=""):
    context = {"breadcrumbs": [], "reason": reason}
    return HttpResponse(loader.render_to_string(template, context, request), status=status)


def bad_request(request, exception=None):
    return _error(request, "400.html", 400)


def permission_denied(request, exception=None):
    # The reason is shown when the code that refused gave one (they are written for the reader,
    # e.g. portal/editorial.py); Django's own refusals carry none.
    return _error(request, "403.html", 403, reason=str(exception or ""))


def csrf_failure(request, reason=""):
    return _error(request, "403.html", 403)


def page_not_found(request, exception=None):
    return _error(request, "404.html", 404)


@never_cache
def server_error(request):
    try:
        return _error(request, "500.html", 500)
    except Exception:  # the error page itself must never fail
        return HttpResponse(
            "<!doctype html><html lang=ja><title>サーバーエラー</title><h1>サーバーエラー</h1>", status=500
        )


BENCH_BODY = ("<!DOCTYPE html>\n" + "<p>地域力創造ポータル</p>\n" * 640).encode()[: 20 * 1024]


@require_safe
def bench_fixed(request):
    """A fixed 20 KB page through the whole middleware stack (only under PORTAL_BENCH=1)."""
    return HttpResponse(BENCH_BODY, content_type="text/html; charset=utf-8")
