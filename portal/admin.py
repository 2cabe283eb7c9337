from contextlib import suppress

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from portal import history
from portal.editorial import PUBLISHING_FIELDSET, EditorialAdmin
from portal.history import HistoryAdmin
from portal.models import AuditEvent, Municipality, NewsItem, Page, Prefecture, Theme

admin.site.site_header = _("地域力創造ポータル 管理画面")
admin.site.site_title = _("地域力創造ポータル 管理")
admin.site.index_title = _("コンテンツの管理")


class PublishableAdmin(EditorialAdmin, HistoryAdmin, TranslationAdmin):
    """What every content type's admin shares: the editorial workflow (portal/editorial.py), dates,
    view on site, filters."""

    list_filter = EditorialAdmin.list_filter
    date_hierarchy = "published_at"
    readonly_fields = ("created_at", "updated_at")
    save_on_top = True
    # Titles and names are long in Japanese and in English: give them the full width.
    formfield_overrides = {models.CharField: {"widget": forms.TextInput(attrs={"class": "vLargeTextField"})}}

    @admin.display(description=_("英語"), boolean=True)
    def has_english(self, obj):
        return bool(getattr(obj, "title_en", ""))


# The history of site pages and news (portal/history.py): each version holds the item's fields.
history.register(Page)
history.register(NewsItem)


@admin.register(Page)
class PageAdmin(PublishableAdmin):
    list_display = ("title", "slug", "state", "has_english", "updated_at")
    search_fields = ("title_ja", "title_en", "body_ja", "body_en", "slug")
    prepopulated_fields = {"slug": ("title_en",)}
    fieldsets = (
        (None, {"fields": ("slug", "title", "lead", "body", "order")}),
        PUBLISHING_FIELDSET,
    )


@admin.register(NewsItem)
class NewsItemAdmin(PublishableAdmin):
    list_display = ("title", "published_at", "state", "has_english")
    search_fields = ("title_ja", "title_en", "summary_ja", "summary_en", "body_ja", "body_en", "slug")
    autocomplete_fields = ("initiative",)
    fieldsets = (
        (None, {"fields": ("slug", "title", "summary", "body", "initiative")}),
        PUBLISHING_FIELDSET,
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


def audit_admin_urls(admin_site, events) -> None:
    """Set ``admin_url`` on each event whose object still exists and has an admin page (one query
    per content type on the page)."""
    by_type = {}
    for event in events:
        event.admin_url = None
        if event.content_type_id and event.object_id:
            by_type.setdefault(event.content_type_id, []).append(event)
    for group in by_type.values():
        model = group[0].content_type.model_class()
        if model is None or model not in admin_site._registry:
            continue
        ids = {}
        for event in group:
            try:
                ids[event.object_id] = model._meta.pk.to_python(event.object_id)
            except (ValidationError, ValueError, TypeError):
                continue
        existing = {str(pk) for pk in model._default_manager.filter(pk__in=ids.values()).values_list("pk", flat=True)}
        opts = model._meta
        for event in group:
            if event.object_id in existing:
                with suppress(NoReverseMatch):
                    event.admin_url = reverse(
                        f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=[quote(event.object_id)]
                    )


class AuditEventChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        audit_admin_urls(self.model_admin.admin_site, self.result_list)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log, read-only for everyone (superusers included); administrators see it
    (view_auditevent, portal/migrations/0015)."""

    list_display = ("at", "action", "username", "object_link", "ip")
    list_filter = ("action", "at")
    search_fields = ("username", "object_repr")
    date_hierarchy = "at"
    list_select_related = ("content_type",)
    fields = ("at", "action", "username", "user", "ip", "content_type", "object_id", "object_link", "detail")
    readonly_fields = fields

    def get_changelist(self, request, **kwargs):
        return AuditEventChangeList

    @admin.display(description=_("対象"), ordering="object_repr")
    def object_link(self, obj):
        if not hasattr(obj, "admin_url"):
            audit_admin_urls(self.admin_site, [obj])
        if obj.admin_url:
            return format_html('<a href="{}">{}</a>', obj.admin_url, obj.object_repr)
        return obj.object_repr or "-"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
