from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin, TranslationStackedInline, TranslationTabularInline

from casestudies.models import CaseAttachment, CaseFigure, CaseImage, CaseLink, CaseStudy, Scheme
from portal.admin import PublishableAdmin


class FigureInline(TranslationTabularInline):
    model = CaseFigure
    extra = 0


class LinkInline(TranslationTabularInline):
    model = CaseLink
    extra = 0


class ImageInline(TranslationStackedInline):
    model = CaseImage
    extra = 0


class AttachmentInline(TranslationTabularInline):
    model = CaseAttachment
    extra = 0


@admin.register(CaseStudy)
class CaseStudyAdmin(PublishableAdmin):
    list_display = ("title", "prefecture", "edition", "award", "state", "is_sample", "has_english")
    list_filter = ("edition", "region", "prefecture", "themes", "award", "is_sample", *PublishableAdmin.list_filter)
    search_fields = (
        "title_ja",
        "title_en",
        "organisation_ja",
        "organisation_kana",
        "summary_ja",
        "keywords_ja",
        "slug",
    )
    list_select_related = ("prefecture",)
    autocomplete_fields = ("municipalities", "prefecture", "related", "initiatives")
    filter_horizontal = ("themes", "schemes")
    inlines = (FigureInline, LinkInline, ImageInline, AttachmentInline)
    fieldsets = (
        (None, {"fields": ("slug", "title", "subtitle", "edition", "award", "is_sample")}),
        (_("地域と取組主体"), {"fields": ("municipalities", "prefecture", "organisation", "organisation_kana")}),
        (_("年度・人口"), {"fields": ("fiscal_year_start", "fiscal_year_end", "population", "population_date")}),
        (_("分類"), {"fields": ("themes", "schemes", "keywords")}),
        (_("内容"), {"fields": ("summary", "purpose", "activities", "results", "lessons", "sustainability")}),
        (
            _("動画・問い合わせ先"),
            {"fields": ("video_url", "contact_department", "contact_phone", "contact_email", "contact_url")},
        ),
        (_("関連"), {"fields": ("related", "initiatives")}),
        (_("公開"), {"fields": ("state", "published_at", "created_at", "updated_at")}),
    )


@admin.register(Scheme)
class SchemeAdmin(TranslationAdmin):
    list_display = ("name", "key", "order")
    list_filter = ("order",)
    search_fields = ("name_ja", "name_en", "key")
