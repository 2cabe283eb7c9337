from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from initiatives.models import Initiative
from portal.models import NewsItem, Page


class I18nSitemap(Sitemap):
    """Every URL in both languages, with hreflang alternates and x-default (Japanese)."""

    i18n = True
    alternates = True
    x_default = True
    # URLs per sitemap file (both languages count): a page of the case studies is read in one
    # query of 1,000 rows, and the file stays under 1 MB.
    limit = 2000


class StaticSitemap(I18nSitemap):
    def items(self):
        return [
            "portal:home",
            "initiatives:list",
            "casestudies:list",
            "casestudies:opendata",
            "expertnet:list",
            "expertnet:opendata",
            "expertnet:seminars",
            "expertnet:request",
            "portal:news_list",
            "portal:search",
            "portal:site_map",
        ]

    def location(self, item):
        return reverse(item)


class InitiativeSitemap(I18nSitemap):
    def items(self):
        return Initiative.objects.published().only("slug", "updated_at").order_by("order", "id")

    def lastmod(self, obj):
        return obj.updated_at


class CaseStudySitemap(I18nSitemap):
    def items(self):
        from casestudies.models import CaseStudy

        return CaseStudy.objects.published().only("slug", "updated_at").order_by("-edition", "id")

    def lastmod(self, obj):
        return obj.updated_at


class SeminarSitemap(I18nSitemap):
    def items(self):
        from expertnet.models import Seminar

        return Seminar.objects.published().only("slug", "updated_at").order_by("-starts_at", "id")

    def lastmod(self, obj):
        return obj.updated_at


class ExpertSitemap(I18nSitemap):
    def items(self):
        from expertnet.models import Expert

        return Expert.objects.published().only("slug", "updated_at").order_by("name_kana", "id")

    def lastmod(self, obj):
        return obj.updated_at


class PageSitemap(I18nSitemap):
    def items(self):
        return Page.objects.published().only("slug", "updated_at").order_by("order", "slug")

    def lastmod(self, obj):
        return obj.updated_at


class NewsSitemap(I18nSitemap):
    def items(self):
        return NewsItem.objects.published().only("slug", "updated_at").order_by("-published_at", "-id")

    def lastmod(self, obj):
        return obj.updated_at


SITEMAPS = {
    "static": StaticSitemap,
    "initiatives": InitiativeSitemap,
    "casestudies": CaseStudySitemap,
    "experts": ExpertSitemap,
    "seminars": SeminarSitemap,
    "pages": PageSitemap,
    "news": NewsSitemap,
}
