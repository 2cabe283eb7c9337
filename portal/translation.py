from modeltranslation.translator import TranslationOptions, register

from portal.models import NewsItem, Page


@register(Page)
class PageTranslation(TranslationOptions):
    fields = ("title", "lead", "body")


@register(NewsItem)
class NewsItemTranslation(TranslationOptions):
    fields = ("title", "summary", "body")
