from modeltranslation.translator import TranslationOptions, register

from portal.models import NewsItem, Page, Theme


@register(Page)
class PageTranslation(TranslationOptions):
    fields = ("title", "lead", "body")


@register(NewsItem)
class NewsItemTranslation(TranslationOptions):
    fields = ("title", "summary", "body")


@register(Theme)
class ThemeTranslation(TranslationOptions):
    fields = ("name",)
