import logging

from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.forms import ExportForm
from import_export.results import RowResult
from modeltranslation.admin import TranslationAdmin, TranslationStackedInline, TranslationTabularInline

from casestudies.models import CaseAttachment, CaseFigure, CaseImage, CaseLink, CaseStudy, Scheme
from casestudies.resources import FORMATS, CaseStudyResource, ImportFileError
from portal import history
from portal.admin import PublishableAdmin
from portal.editorial import PUBLISHING_FIELDSET

logger = logging.getLogger(__name__)


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


# The history of case studies (portal/history.py): a version holds the case with its figures, links,
# images and attachments, and the ids of its themes, schemes, municipalities and related items.
history.register(CaseStudy, follow=("figures", "links", "images", "attachments"))


@admin.register(CaseStudy)
class CaseStudyAdmin(ImportExportMixin, PublishableAdmin):
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
        PUBLISHING_FIELDSET,
    )

    # Import and export of CSV and Excel files (casestudies.resources; docs/decisions/0008-case-import.md).
    resource_classes = [CaseStudyResource]
    formats = FORMATS
    export_form_class = ExportForm  # every column, always: the file must import again as it is
    import_template_name = "admin/casestudies/casestudy/import.html"
    export_template_name = "admin/casestudies/casestudy/export.html"
    import_export_change_list_template = "admin/casestudies/casestudy/change_list.html"

    def has_import_permission(self, request):
        """An import adds cases and changes existing ones: it needs both permissions."""
        return self.has_add_permission(request) and self.has_change_permission(request)

    def get_import_context_data(self, **kwargs):
        return {**super().get_import_context_data(**kwargs), "import_columns": CaseStudyResource.columns()}

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportFileError):
            form.add_error("import_file", str(e))
            return
        logger.info("case import: unreadable file", exc_info=e)
        form.add_error(
            "import_file",
            _(
                "ファイルを読み込めませんでした。"
                "CSV か Excel(.xlsx)のファイルか、形式の選び方が合っているか確かめてください。"
            ),
        )

    def import_url(self):
        return reverse("admin:casestudies_casestudy_import", current_app=self.admin_site.name)

    def process_dataset(self, dataset, form, request, **kwargs):
        """The confirmed import, as one version in the history of every case it adds or changes
        (portal/history.py), with the user and the file's name. A case changed for the first time
        first gets a version of what it held before."""
        with transaction.atomic(), history.watching():
            result = super().process_dataset(dataset, form, request, **kwargs)
            history.record_import(request, self.model, result, form.cleaned_data.get("original_file_name") or "")
        return result

    def process_import(self, request, **kwargs):
        try:
            return super().process_import(request, **kwargs)
        except (FileNotFoundError, ImportFileError):
            # The file kept between the preview and the confirmation is gone (a restart, the cache).
            messages.error(request, _("確認したファイルが見つかりません。もう一度ファイルを選んでください。"))
            return redirect(self.import_url())

    def process_result(self, result, request):
        if result.has_errors() or result.has_validation_errors():
            # The file changed under the preview's feet, or the data did: nothing was saved.
            messages.error(
                request,
                _("エラーのある行があったため、取り込みを取り消しました。1件も登録・変更していません。"),
            )
            return redirect(self.import_url())
        return super().process_result(result, request)

    def add_success_message(self, result, request):
        totals = result.totals
        messages.success(
            request,
            _("事例の取り込みが終わりました: 新規 %(new)s 件、更新 %(update)s 件、変更なし %(skip)s 件。")
            % {
                "new": totals[RowResult.IMPORT_TYPE_NEW],
                "update": totals[RowResult.IMPORT_TYPE_UPDATE],
                "skip": totals[RowResult.IMPORT_TYPE_SKIP],
            },
        )


@admin.register(Scheme)
class SchemeAdmin(TranslationAdmin):
    list_display = ("name", "key", "order")
    list_filter = ("order",)
    search_fields = ("name_ja", "name_en", "key")
