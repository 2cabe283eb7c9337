from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps.views import index as sitemap_index
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from django.views.static import serve

from portal import search_views, views
from portal.sitemaps import SITEMAPS

portal_patterns = (
    [
        path("", views.home, name="home"),
        path("news/", views.news_list, name="news_list"),
        path("news/<slug:slug>/", views.news_detail, name="news_detail"),
        path("sitemap/", views.site_map, name="site_map"),
        path("search/", search_views.search_page, name="search"),
        path("<slug:slug>/", views.page, name="page"),
    ],
    "portal",
)

urlpatterns = [
    path(settings.ADMIN_PATH, admin.site.urls),
    # An index of one sitemap per section, each cut into pages of SITEMAP_PAGE_SIZE URLs: the
    # protocol allows 50,000 URLs per file, and 100,000 case studies in two languages are more.
    path("sitemap.xml", sitemap_index, {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap_section"}, name="sitemap"),
    path("sitemap-<section>.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap_section"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path("favicon.ico", RedirectView.as_view(url=settings.STATIC_URL + "img/favicon.ico", permanent=True)),
]

urlpatterns += i18n_patterns(
    path("initiatives/", include("initiatives.urls")),
    path("casestudies/", include("casestudies.urls")),
    path("expertnet/", include("expertnet.urls")),
    path("", include(portal_patterns)),
    prefix_default_language=False,
)

if settings.BENCH_FIXED_VIEW:
    urlpatterns += [path("_bench/fixed/", views.bench_fixed)]

if settings.SERVE_MEDIA:
    urlpatterns += [re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})]

handler400 = "portal.views.bad_request"
handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
