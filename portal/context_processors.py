from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.utils.translation import get_language


def site(request):
    """What every page's frame needs: language switch targets and hreflang alternates. No queries."""
    current = get_language() or settings.LANGUAGE_CODE
    alternates = [
        {"code": code, "name": name, "url": url, "current": code == current}
        for (code, name), url in zip(settings.LANGUAGES, language_urls(request), strict=True)
    ]
    match = getattr(request, "resolver_match", None) if request else None
    section, is_index = nav_section(match)
    return {
        "nav_section": section,
        "nav_is_index": is_index,
        "on_search_page": bool(match and match.url_name == "search"),
        "language_alternates": alternates,
        "site_url": site_origin(request),
        "admin_path": settings.ADMIN_PATH,
    }


def site_origin(request) -> str:
    """SITE_URL, else the request's origin; "" (relative links) when the Host header is not one of
    ALLOWED_HOSTS: the 400 page of that request must not fail on the same header (it was a 500)."""
    if settings.SITE_URL or request is None:
        return settings.SITE_URL
    try:
        return request.build_absolute_uri("/").rstrip("/")
    except DisallowedHost:
        return ""


def language_urls(request) -> list[str]:
    """This page's URL in each of settings.LANGUAGES.

    Every page drawn on base.html is in i18n_patterns (prefix_default_language=False) with the
    same path in every language, so a language's URL is the path with that language's prefix
    (none for Japanese): no URL resolving per request. The site crawl (tests/test_site_pages.py)
    checks every page's alternates and language switcher.
    """
    if request is None:
        return ["/" for _ in settings.LANGUAGES]
    path, query = request.path, request.META.get("QUERY_STRING", "")
    for code, _ in settings.LANGUAGES:
        if code != settings.LANGUAGE_CODE and (path == f"/{code}" or path.startswith(f"/{code}/")):
            path = path[len(code) + 1 :] or "/"
            break
    suffix = f"?{query}" if query else ""
    return [(path if code == settings.LANGUAGE_CODE else f"/{code}{path}") + suffix for code, _ in settings.LANGUAGES]


def nav_section(match) -> tuple[str, bool]:
    """The global navigation's item for this page, and whether the page is that item's own."""
    if match is None:
        return "", False
    if match.app_name in ("initiatives", "casestudies", "expertnet"):
        return match.app_name, match.url_name == "list"
    if match.url_name in ("news_list", "news_detail"):
        return "news", match.url_name == "news_list"
    if match.url_name == "home":
        return "home", True
    if match.url_name == "page" and match.kwargs.get("slug") == "about":
        return "about", True
    return "", False
