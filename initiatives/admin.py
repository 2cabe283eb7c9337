from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationStackedInline, TranslationTabularInline

from initiatives.models import Initiative, InitiativeDocument, InitiativeLink, Meeting
from portal import history
from portal.admin import PublishableAdmin
from portal.editorial import PUBLISHING_FIELDSET


class InitiativeLinkInline(TranslationTabularInline):
    model = InitiativeLink
    extra = 0


class InitiativeDocumentInline(TranslationTabularInline):
    model = InitiativeDocument
    extra = 0
    fields = ("title", "file", "meeting", "order")


class MeetingDocumentInline(TranslationTabularInline):
    model = InitiativeDocument
    fk_name = "meeting"
    extra = 0
    fields = ("title", "file", "order")


class MeetingInline(TranslationStackedInline):
    model = Meeting
    extra = 0
    show_change_link = True


# The history of programs (portal/history.py): a version holds the program with its links, meetings
# and documents (meetings before the documents that point to them).
history.register(Initiative, follow=("links", "meetings", "documents"))


@admin.register(Initiative)
class InitiativeAdmin(PublishableAdmin):
    list_display = ("title", "status", "order", "state", "has_english", "updated_at")
    list_filter = ("status", *PublishableAdmin.list_filter)
    list_editable = ("order",)
    search_fields = ("title_ja", "title_en", "short_name_ja", "short_name_en", "summary_ja", "body_ja", "slug")
    filter_horizontal = ("related",)
    inlines = (InitiativeLinkInline, InitiativeDocumentInline, MeetingInline)
    fieldsets = (
        (None, {"fields": ("slug", "title", "short_name", "status", "order")}),
        (_("内容"), {"fields": ("summary", "body")}),
        (_("画像"), {"fields": ("image", "image_alt")}),
        (_("所管・問い合わせ先"), {"fields": ("office", "contact")}),
        (_("関連"), {"fields": ("related",)}),
        PUBLISHING_FIELDSET,
    )


@admin.register(Meeting)
class MeetingAdmin(history.ParentHistoryMixin, admin.ModelAdmin):
    history_parent = "initiative"  # a meeting changed on its own page is a new version of its program
    list_display = ("title", "initiative", "held_at", "place")
    list_filter = ("initiative", "held_at")
    search_fields = ("title_ja", "title_en", "place_ja", "agenda_ja", "minutes_ja")
    list_select_related = ("initiative",)
    date_hierarchy = "held_at"
    inlines = (MeetingDocumentInline,)

    def save_formset(self, request, form, formset, change):
        for doc in formset.save(commit=False):
            doc.initiative_id = form.instance.initiative_id
            doc.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()
