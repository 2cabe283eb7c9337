"""The editorial workflow in the admin, shared by every content type (docs/decisions/0010-editorial-workflow.md).

- States: a status column and filter (draft, scheduled, published, ended, archived), and the
  publishing fields (state, publish and unpublish times) that only publishers may change.
- No silent overwrite: the change form carries a signed fingerprint of the item as it was opened;
  a save over a newer version is stopped, the editor is shown what changed, and their input stays.
- Preview: the unsaved form rendered by the public view itself, inside a transaction that is
  rolled back, marked as a preview and never cached.
- Languages side by side, with a note of the English fields still empty.
- A "view on site" link on every row.
"""

import copy
import datetime as dt
import hashlib
import json

import reversion
from django import forms
from django.contrib import admin
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, resolve
from django.utils import timezone, translation
from django.utils.datastructures import MultiValueDict
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from modeltranslation.translator import NotRegistered, translator

from portal.publishing import PublishState, Status, status_q

# The fields only a publisher may set: what decides when the public sees an item.
WORKFLOW_FIELDS = ("state", "published_at", "unpublish_at")
PUBLISHING_FIELDSET = (_("公開"), {"fields": ("state", "published_at", "unpublish_at", "created_at", "updated_at")})
# Not compared between versions: they change on every save.
NOT_COMPARED = {"updated_at", "created_at"}
SNAPSHOT_FIELD = "_editorial_snapshot"
SNAPSHOT_SALT = "portal.editorial.snapshot"


class StatusFilter(admin.SimpleListFilter):
    title = _("状態")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Status.choices

    def queryset(self, request, queryset):
        if self.value() in Status.values:
            return queryset.filter(status_q(self.value(), timezone.now()))
        return queryset


def _normal(value):
    """One form for values that are equal but arrive differently: from the database or the form."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").strip()
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if hasattr(value, "name") and hasattr(value, "storage"):  # a file field's file
        return value.name or ""
    return value


def _digest(value) -> str:
    text = json.dumps(_normal(value), sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def show_current(field) -> None:
    """Render ``field`` of a bound form with the stored value (its initial), not the posted one."""
    field.bound_data = lambda data, initial: initial


class EditorialAdmin(admin.ModelAdmin):
    """Mixed into PublishableAdmin before the history and translation admins."""

    change_form_template = "admin/editorial/change_form.html"
    list_filter = (StatusFilter, "published_at", "updated_at")

    # Roles.

    def has_publish_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.publish_{self.opts.model_name}")

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if not self.has_publish_permission(request, obj):
            fields += tuple(f for f in WORKFLOW_FIELDS if f not in fields)
        return fields

    def refuse_workflow_post(self, request) -> None:
        """An editor's form has no publishing fields: a POST that carries one was not made by the
        form, and is refused rather than quietly ignored."""
        if self.has_publish_permission(request):
            return
        sent = {key.rsplit("_", 1)[0] if key[-2:] in ("_0", "_1") else key for key in request.POST}
        if sent & set(WORKFLOW_FIELDS):
            raise PermissionDenied(_t("公開・公開予約・掲載終了・アーカイブは公開担当者が行います。"))

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST":
            self.refuse_workflow_post(request)
        extra_context = {**(extra_context or {}), **self.editorial_context(request, object_id)}
        return super().changeform_view(request, object_id, form_url, extra_context)

    # The status, in the list and on the form.

    @admin.display(description=_("状態"), ordering="state")
    def status_display(self, obj):
        status = obj.publication_status
        when = {
            Status.SCHEDULED: obj.published_at,
            Status.ENDED: obj.unpublish_at,
            Status.PUBLISHED: obj.unpublish_at,
        }.get(status)
        if when is None:
            return status.label
        template = _t("%(status)s(%(when)s まで)") if status == Status.PUBLISHED else _t("%(status)s(%(when)s)")
        return template % {"status": status.label, "when": local_time(when, "SHORT_DATETIME_FORMAT")}

    @admin.display(description=_("サイトで見る"))
    def view_on_site_link(self, obj):
        url = self.get_view_on_site_url(obj)
        if not url:
            return ""
        label = _t("公開ページ") if obj.publication_status == Status.PUBLISHED else _t("プレビュー")
        return format_html('<a href="{}" aria-label="{}: {}">{}</a>', url, label, str(obj), label)

    def get_list_display(self, request):
        shown = [("status_display" if f == "state" else f) for f in super().get_list_display(request)]
        if "status_display" not in shown:
            shown.append("status_display")
        return (*shown, "view_on_site_link")

    # Publishing from the list, for publishers.

    actions = ("publish_now", "withdraw", "archive")

    def _set_state(self, request, queryset, state, action, message):
        from portal import audit

        changed = 0
        for obj in queryset:
            if obj.state == state and (state != PublishState.PUBLISHED or obj.is_public):
                continue
            obj.state = state
            if state == PublishState.PUBLISHED:
                obj.published_at = timezone.now()
                if obj.unpublish_at and obj.unpublish_at <= obj.published_at:
                    obj.unpublish_at = None
            save_with_revision(request, obj, message)
            self.log_change(request, obj, message)
            audit.record(action, request=request, obj=obj)
            changed += 1
        self.message_user(request, _t("%(count)d 件を「%(state)s」にしました。") % {"count": changed, "state": message})

    @admin.action(description=_("選んだ項目を今すぐ公開する"), permissions=["publish"])
    def publish_now(self, request, queryset):
        self._set_state(request, queryset, PublishState.PUBLISHED, "publish", _t("公開"))

    @admin.action(description=_("選んだ項目の公開を取り下げて下書きに戻す"), permissions=["publish"])
    def withdraw(self, request, queryset):
        self._set_state(request, queryset, PublishState.DRAFT, "withdraw", _t("下書き"))

    @admin.action(description=_("選んだ項目をアーカイブする"), permissions=["publish"])
    def archive(self, request, queryset):
        self._set_state(request, queryset, PublishState.ARCHIVED, "archive", _t("アーカイブ"))

    def save_model(self, request, obj, form, change):
        from portal import audit

        before = (
            type(obj).objects.filter(pk=obj.pk).values(*WORKFLOW_FIELDS).first() if change and obj.pk else None
        ) or {"state": PublishState.DRAFT, "published_at": None, "unpublish_at": None}
        super().save_model(request, obj, form, change)
        action = workflow_action(before, obj)
        if action:
            detail = ""
            if obj.state == PublishState.PUBLISHED:
                detail = _t("公開日時 %(at)s") % {"at": local_time(obj.published_at)}
                if obj.unpublish_at:
                    detail += _t("、掲載終了 %(at)s") % {"at": local_time(obj.unpublish_at)}
            audit.record(action, request=request, obj=obj, detail=detail)

    def delete_model(self, request, obj):
        from portal import audit

        audit.record("delete", request=request, obj=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        from portal import audit

        for obj in queryset:
            audit.record("delete", request=request, obj=obj)
        super().delete_queryset(request, queryset)

    # No silent overwrite.

    def snapshot(self, request, obj) -> dict[str, str]:
        """A fingerprint of each field, m2m relation and inline of ``obj`` as stored now."""
        prints = {}
        for field in obj._meta.concrete_fields:
            if field.name not in NOT_COMPARED:
                prints[field.name] = _digest(field.value_from_object(obj))
        for field in obj._meta.many_to_many:
            prints[field.name] = _digest(sorted(getattr(obj, field.name).values_list("pk", flat=True)))
        for inline in self.get_inline_instances(request, obj):
            fk = forms.models._get_foreign_key(type(obj), inline.model, fk_name=inline.fk_name)
            rows = inline.model._default_manager.filter(**{fk.name: obj}).order_by("pk").values()
            prints[f"inline:{inline.model._meta.label_lower}"] = _digest(list(rows))
        return prints

    def snapshot_token(self, request, obj) -> str:
        return signing.dumps(self.snapshot(request, obj), salt=SNAPSHOT_SALT, compress=True)

    def check_conflict(self, form, request, current: dict[str, str]) -> None:
        """Stop a save over changes made since the form was opened (``current`` is the item's
        fingerprint as stored when this request began). Fields only the other editor changed are
        shown as they are now; fields both changed keep this editor's input; nothing is saved."""
        try:
            opened = signing.loads(request.POST.get(SNAPSHOT_FIELD, ""), salt=SNAPSHOT_SALT)
        except signing.BadSignature:
            # A form without a fingerprint (opened before this check existed, or made by hand):
            # nothing to compare against, and nothing is refused for it.
            return
        changed = [key for key in current if opened.get(key) != current[key]]
        if not changed:
            return
        theirs, both, rows = [], [], []
        for key in changed:
            if key.startswith("inline:"):
                rows.append(key)
            elif key not in form.fields:
                theirs.append(key)  # not in this editor's form: saving keeps the other's value
            elif self.submitted_digest(form, key) == opened.get(key):
                theirs.append(key)
                show_current(form.fields[key])
            elif self.submitted_digest(form, key) != current[key]:
                both.append(key)
        form.add_error(None, ValidationError(self.conflict_message(request, form, theirs, both, rows), code="conflict"))

    def submitted_digest(self, form, name: str) -> str:
        field = form.instance._meta.get_field(name)
        if field.many_to_many:
            return _digest(sorted(obj.pk for obj in form.cleaned_data.get(name) or []))
        return _digest(field.value_from_object(form.instance))

    def change_label(self, obj, key: str) -> str:
        if key.startswith("inline:"):
            label = key.removeprefix("inline:")
            for inline in self.inlines:
                if inline.model._meta.label_lower == label:
                    return str(inline.model._meta.verbose_name_plural)
            return label
        return str(obj._meta.get_field(key).verbose_name)

    def conflict_message(self, request, form, theirs, both, rows):
        obj = form.instance
        ct = ContentType.objects.get_for_model(obj, for_concrete_model=False)
        last = (
            LogEntry.objects.filter(content_type=ct, object_id=str(obj.pk), action_flag=CHANGE)
            .select_related("user")
            .order_by("-action_time")
            .first()
        )
        if last:
            who = last.user.get_full_name() or last.user.get_username()
            head = format_html(
                _t("この項目は、あなたが開いた後に {who} さんが変更しました({when})。保存はまだしていません。"),
                who=who,
                when=local_time(last.action_time),
            )
        else:
            head = _t("この項目は、あなたが開いた後に変更されました。保存はまだしていません。")
        parts = [head]

        def listed(intro, keys):
            items = ((self.change_label(obj, key),) for key in keys)
            return format_html(
                '{}<ul class="editorial-conflict">{}</ul>', intro, format_html_join("", "<li>{}</li>", items)
            )

        if theirs:
            parts.append(listed(_t("相手が変更した項目(この画面には変更後の内容を表示しています):"), theirs))
        if both:
            parts.append(
                listed(_t("あなたも変更した項目(あなたの入力を残しています。相手の変更と見比べてください):"), both)
            )
        if rows:
            parts.append(
                listed(
                    _t(
                        "相手が行を変更した一覧(この画面の行は、あなたが開いた時のものです。別のタブで最新の行を確かめてください):"
                    ),
                    rows,
                )
            )
        parts.append(_t("あなたの入力は消えずにこの画面に残っています。内容を確かめてから、もう一度保存してください。"))
        return format_html_join(" ", "{}", ((part,) for part in parts))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None or request.method != "POST" or getattr(request, "editorial_preview", False):
            return form
        model_admin = self
        current = self.snapshot(request, obj)  # before the form puts the posted values on obj

        class CheckedForm(form):
            def _post_clean(self):
                super()._post_clean()
                model_admin.check_conflict(self, request, current)

        CheckedForm.__name__ = form.__name__
        return CheckedForm

    # What the change form shows besides the fields.

    def editorial_context(self, request, object_id) -> dict:
        obj = self.get_object(request, unquote(object_id)) if object_id else None
        context = {"snapshot_field": SNAPSHOT_FIELD, "can_publish": self.has_publish_permission(request, obj)}
        if obj is not None:
            context["snapshot_token"] = self.snapshot_token(request, obj)
            context["english_missing"] = english_missing(obj)
            context["status"] = obj.publication_status
        return context

    def get_fieldsets(self, request, obj=None):
        """Each translated field's languages on one row: 日本語 beside English."""
        fieldsets = super().get_fieldsets(request, obj)
        translated = translated_fields(self.model)
        paired = []
        for name, options in fieldsets:
            fields = []
            for entry in options.get("fields", ()):
                if isinstance(entry, str) and entry.endswith("_ja") and entry[:-3] in translated:
                    fields.append((entry, f"{entry[:-3]}_en"))
                elif isinstance(entry, str) and entry.endswith("_en") and entry[:-3] in translated:
                    continue
                else:
                    fields.append(entry)
            paired.append((name, {**options, "fields": fields}))
        return paired

    # Preview of the unsaved form.

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view(self.preview_view)
        return [
            path("add/preview/", view, name=f"{name}_preview_new"),
            path("<path:object_id>/change/preview/", view, name=f"{name}_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id=None):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = None
        if object_id is not None:
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                raise Http404(_t("プレビューする項目が見つかりません。削除された可能性があります。"))
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
        elif not self.has_add_permission(request):
            raise PermissionDenied
        language = request.GET.get("language", "ja")
        if language not in ("ja", "en"):
            language = "ja"
        request.editorial_preview = True
        request.POST  # noqa: B018 - reads the form before the uploaded files are set aside
        request._files = MultiValueDict()  # new uploads are not stored for a preview
        form_class = self.get_form(request, obj, change=obj is not None, fields=None)
        form = form_class(request.POST, request.FILES, instance=obj)
        form_valid = form.is_valid()
        new_object = form.instance if form_valid else (obj or self.model())
        formsets, _inlines = self._create_formsets(request, new_object, change=obj is not None)
        if not (form_valid and all(f.is_valid() for f in formsets)):
            errors = preview_errors(form, formsets)
            context = {
                **self.admin_site.each_context(request),
                "title": _t("プレビューできません"),
                "opts": self.opts,
                "errors": errors,
            }
            response = TemplateResponse(request, "admin/editorial/preview_errors.html", context, status=400)
            response["Cache-Control"] = "private, no-store"
            return response
        with transaction.atomic():
            saved = form.save(commit=False)
            saved.save()
            form.save_m2m()
            for formset in formsets:
                formset.instance = saved
                formset.save()
            response = render_public(request, saved, language)
            transaction.set_rollback(True)
        response["Cache-Control"] = "private, no-store"
        response["X-Robots-Tag"] = "noindex"
        return response


def save_with_revision(request, obj, comment: str) -> None:
    """Save a change made outside the form (an action), as a version of the item's history."""
    if not reversion.is_registered(type(obj)):
        obj.save()
        return
    with reversion.create_revision():
        obj.save()
        reversion.set_user(request.user)
        reversion.set_comment(comment)


def local_time(value, format_name: str = "DATETIME_FORMAT") -> str:
    return date_format(timezone.localtime(value), format_name)


def workflow_action(before: dict, obj) -> str | None:
    """The audit action of a save that moved ``obj`` from ``before`` (state and times)."""
    if obj.state == PublishState.ARCHIVED:
        return "archive" if before["state"] != PublishState.ARCHIVED else None
    if obj.state == PublishState.DRAFT:
        return "withdraw" if before["state"] != PublishState.DRAFT else None
    if (
        before["state"] == PublishState.PUBLISHED
        and before["published_at"] == obj.published_at
        and before["unpublish_at"] == obj.unpublish_at
    ):
        return None
    return "schedule" if obj.published_at and obj.published_at > timezone.now() else "publish"


def render_public(request, obj, language: str):
    """The public page of ``obj`` as its own view renders it, for the admin's preview."""
    with translation.override(language):
        url = obj.get_absolute_url()
        match = resolve(url)
        public = copy.copy(request)
        public.method = "GET"
        public.GET = QueryDict()
        public.path = public.path_info = url
        public.resolver_match = match
        public.LANGUAGE_CODE = language
        public.editorial_preview = True
        response = match.func(public, *match.args, **match.kwargs)
        if hasattr(response, "render"):
            response.render()
    return response


def preview_errors(form, formsets) -> list[tuple[str, list[str]]]:
    errors = []
    for name, messages_ in form.errors.items():
        label = form.fields[name].label if name in form.fields else _t("全体")
        errors.append((str(label), [str(m) for m in messages_]))
    for formset in formsets:
        for number, row_errors in enumerate(formset.errors, start=1):
            for name, messages_ in row_errors.items():
                field = formset.form.base_fields.get(name)
                label = f"{formset.model._meta.verbose_name} {number}: {field.label if field else _t('全体')}"
                errors.append((label, [str(m) for m in messages_]))
        for message in formset.non_form_errors():
            errors.append((str(formset.model._meta.verbose_name_plural), [str(message)]))
    return errors


def translated_fields(model) -> set[str]:
    try:
        return set(translator.get_options_for_model(model).get_field_names())
    except NotRegistered:
        return set()


def english_missing(obj) -> list[str]:
    """The labels of the fields written in Japanese whose English is empty: the English page shows
    the Japanese there."""
    missing = []
    order = [f.name for f in type(obj)._meta.fields]
    for name in sorted(translated_fields(type(obj)), key=lambda n: order.index(n) if n in order else len(order)):
        ja, en = getattr(obj, f"{name}_ja", None), getattr(obj, f"{name}_en", None)
        if ja and not en:
            missing.append(str(type(obj)._meta.get_field(name).verbose_name))
    return missing
