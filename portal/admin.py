from django import forms
from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from portal.models import Municipality, NewsItem, Page, Prefecture, Theme

admin.site.site_header = _("地域力創造ポータル 管理画面")
admin.site.site_title = _("地域力創造ポータル 管理")
admin.site.index_title = _("コンテンツの管理")


class PublishableAdmin(TranslationAdmin):
    """What every content type's admin shares: state, dates, view on site, filters."""

    list_filter = ("state", "published_at", "updated_at")
    date_hierarchy = "published_at"
    readonly_fields = ("created_at", "updated_at")
    save_on_top = True
    # Titles and names are long in Japanese and in English: give them the full width.
    formfield_overrides = {models.CharField: {"widget": forms.TextInput(attrs={"class": "vLargeTextField"})}}

    @admin.display(description=_("英語"), boolean=True)
    def has_english(self, obj):
        return bool(getattr(obj, "title_en", ""))


@admin.register(Page)
class PageAdmin(PublishableAdmin):
    list_display = ("title", "slug", "state", "has_english", "updated_at")
    search_fields = ("title_ja", "title_en", "body_ja", "body_en", "slug")
    prepopulated_fields = {"slug": ("title_en",)}
    fieldsets = (
        (None, {"fields": ("slug", "title", "lead", "body", "order")}),
        (_("公開"), {"fields": ("state", "published_at", "created_at", "updated_at")}),
    )


@admin.register(NewsItem)
class NewsItemAdmin(PublishableAdmin):
    list_display = ("title", "published_at", "state", "has_english")
    search_fields = ("title_ja", "title_en", "summary_ja", "summary_en", "body_ja", "body_en", "slug")
    autocomplete_fields = ("initiative",)
    fieldsets = (
        (None, {"fields": ("slug", "title", "summary", "body", "initiative")}),
        (_("公開"), {"fields": ("state", "published_at", "created_at", "updated_at")}),
    )


@admin.register(Prefecture)
class PrefectureAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_kana", "name_en", "region", "lgcode")
    list_filter = ("region",)
    search_fields = ("code", "name", "name_kana", "name_en", "lgcode")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ("code", "full_name", "name_kana", "prefecture", "kind")
    list_filter = ("kind", "prefecture__region", "prefecture")
    search_fields = ("code", "name", "name_kana")
    list_select_related = ("prefecture", "parent")
    autocomplete_fields = ("parent",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Theme)
class ThemeAdmin(TranslationAdmin):
    list_display = ("name", "key", "order")
    list_filter = ("order",)
    search_fields = ("name_ja", "name_en", "key")
