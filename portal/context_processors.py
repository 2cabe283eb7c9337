from django.conf import settings
from django.urls import translate_url
from django.utils.translation import get_language


def site(request):
    """What every page's frame needs: language switch targets and hreflang alternates. No queries."""
    current = get_language() or settings.LANGUAGE_CODE
    full_path = request.get_full_path() if request else "/"
    alternates = []
    for code, name in settings.LANGUAGES:
        url = translate_url(full_path, code)
        alternates.append({"code": code, "name": name, "url": url, "current": code == current})
    return {
        "language_alternates": alternates,
        "site_url": settings.SITE_URL or (request.build_absolute_uri("/").rstrip("/") if request else ""),
        "admin_path": settings.ADMIN_PATH,
    }
