from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationTabularInline

from expertnet import consultation_admin, seminar_admin  # noqa: F401 (they register their models)
from expertnet.models import Dispatch, Expert
from portal import history
from portal.admin import PublishableAdmin
from portal.editorial import PUBLISHING_FIELDSET


class DispatchInline(TranslationTabularInline):
    model = Dispatch
    extra = 0
    autocomplete_fields = ("municipality", "case")
    fields = ("municipality", "year_start", "year_end", "days", "visits", "summary", "case")


# The history of experts (portal/history.py): a version holds the expert with the dispatch records.
history.register(Expert, follow=("dispatches",))


@admin.register(Expert)
class ExpertAdmin(PublishableAdmin):
    list_display = ("name", "name_kana", "kind", "base_prefecture", "registered_year", "state", "is_sample")
    list_filter = ("kind", "base_region", "base_prefecture", "themes", "is_sample", *PublishableAdmin.list_filter)
    search_fields = ("name_ja", "name_en", "name_kana", "affiliation_ja", "registered_field_ja", "slug")
    list_select_related = ("base_prefecture",)
    autocomplete_fields = ("municipality", "base_prefecture", "recommending_prefecture", "case_studies")
    filter_horizontal = ("themes",)
    inlines = (DispatchInline,)
    fieldsets = (
        (None, {"fields": ("slug", "name", "name_kana", "kind", "is_sample")}),
        (
            _("所属と地域"),
            {"fields": ("affiliation", "job_title", "municipality", "base_prefecture", "recommending_prefecture")},
        ),
        (
            _("分野とプロフィール"),
            {"fields": ("themes", "registered_field", "profile", "photo", "photo_alt", "profile_pdf")},
        ),
        (_("登録と連絡先"), {"fields": ("registered_year", "last_active_year", "contact_url", "case_studies")}),
        PUBLISHING_FIELDSET,
    )
