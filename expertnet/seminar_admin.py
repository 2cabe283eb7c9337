"""The admin of 地域力創造セミナー: the event, its programme and its documents on one page.

expertnet.admin imports this module; the speakers' autocomplete uses the Expert admin's search.
"""

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationTabularInline

from expertnet.models import Seminar, SeminarDocument, SeminarSession
from portal import history
from portal.admin import PublishableAdmin
from portal.editorial import PUBLISHING_FIELDSET
from portal.search import engine
from portal.search.registry import kind_for_model


class SessionInline(TranslationTabularInline):
    model = SeminarSession
    extra = 0
    fields = ("starts_at", "ends_at", "kind", "title", "speakers", "other_speakers")
    autocomplete_fields = ("speakers",)


class DocumentInline(TranslationTabularInline):
    model = SeminarDocument
    extra = 0
    fields = ("title", "file", "order")


class ScheduleFilter(admin.SimpleListFilter):
    """開催予定 (not ended yet) or 開催済み, as the public list divides them."""

    title = _("開催時期")
    parameter_name = "schedule"

    def lookups(self, request, model_admin):
        return (("upcoming", _("開催予定")), ("past", _("開催済み")))

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "upcoming":
            return queryset.filter(ends_at__gte=now)
        if self.value() == "past":
            return queryset.filter(ends_at__lt=now)
        return queryset


# The history of seminars (portal/history.py): a version holds the seminar with its programme (and
# each session's speakers) and documents.
history.register(Seminar, follow=("sessions", "documents"))


@admin.register(Seminar)
class SeminarAdmin(PublishableAdmin):
    list_display = ("title", "starts_at", "ends_at", "municipality", "state", "is_sample", "has_english")
    list_filter = (ScheduleFilter, "theme", "is_sample", *PublishableAdmin.list_filter)
    search_fields = ("title_ja", "title_en", "venue_ja", "summary_ja", "slug", "municipality__name")
    list_select_related = ("municipality__parent",)
    autocomplete_fields = ("municipality",)
    date_hierarchy = "starts_at"
    ordering = ("-starts_at",)
    view_on_site = True
    inlines = (SessionInline, DocumentInline)
    fieldsets = (
        (None, {"fields": ("slug", "title", "is_sample")}),
        (_("日時と場所"), {"fields": ("starts_at", "ends_at", "municipality", "venue")}),
        (_("内容"), {"fields": ("theme", "summary", "capacity", "application")}),
        PUBLISHING_FIELDSET,
    )

    def save_related(self, request, form, formsets, change):
        """The search document lists the programme, which is saved after the seminar (and its
        indexing on save): index the seminar again once the programme is in."""
        super().save_related(request, form, formsets, change)
        engine.index_objects(kind_for_model(Seminar), [form.instance])
