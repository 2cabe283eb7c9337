"""The history of every content item (docs/decisions/0011-history.md), on django-reversion.

Each content type's admin.py calls ``register()`` for its model, naming the inline rows a version
holds. A version then keeps every concrete field (both languages: ``title_ja`` and ``title_en`` are
fields of their own), the ids of the item's many-to-many relations and its inline rows, all in one
revision with the user and the admin's change message.

``HistoryAdmin`` (mixed into portal.admin.PublishableAdmin) gives every content type:

- ``<id>/history/``: the versions, newest first, each with links to compare it with the version
  before it and with the item as it is now, and to go back to it;
- ``<id>/history/compare/?from=<version>&to=<version or "current">``: what changed, field by field,
  日本語 beside English, inline rows and many-to-many relations by name, long texts line by line;
- ``<id>/history/<version>/``: the version in the change form; saving restores it, inline rows and
  relations included, as a new version. The publishing fields stay as they are unless the user may
  publish this content type (portal.publishing.PERMISSIONS);
- ``recover/`` and ``recover/<version>/``: deleted items, and one of them brought back.

An item that has no version yet (loaded by a migration, or saved before the history began) gets one
of its stored content just before its first change, so that the first edit can be compared and undone.
"""

import contextlib
import dataclasses
import difflib
import functools
import json
import re
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field

import reversion
from django.contrib import messages
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.contrib.contenttypes.models import ContentType
from django.core import serializers
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.serializers.base import DeserializationError
from django.db import IntegrityError, models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.http import Http404
from django.shortcuts import redirect
from django.template.loader import get_template, select_template
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from modeltranslation.translator import NotRegistered, translator
from reversion import revisions
from reversion.admin import VersionAdmin
from reversion.errors import RevertError
from reversion.models import Version
from reversion.utils import mute_signals

from portal.text import format_date_ja

# What decides when the public sees an item: restored only by users who may publish.
PUBLICATION_FIELDS = ("state", "published_at", "unpublish_at")
# Not shown or compared: they change on every save, and the version's own date says when.
NOT_SHOWN = frozenset({"created_at", "updated_at"})
PER_PAGE = 100
MISSING = object()  # a field the version does not hold (added to the model after it was saved)


# Registration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    fields: tuple[str, ...]  # what a version serialises
    excluded: frozenset[str]  # modeltranslation's language-neutral names: their _ja/_en are kept
    follow: tuple[str, ...]  # reverse relations to the inline rows a version holds


_registry: dict[type, Registration] = {}


def translated_fields(model) -> tuple[str, ...]:
    """The language-neutral names of ``model``'s translated fields (title for title_ja, title_en)."""
    try:
        return tuple(translator.get_options_for_model(model).get_field_names())
    except NotRegistered:
        return ()


def _register_one(model, follow=()) -> None:
    excluded = frozenset(translated_fields(model))
    opts = model._meta.concrete_model._meta
    fields = tuple(f.name for f in [*opts.local_fields, *opts.local_many_to_many] if f.name not in excluded)
    # ``title`` itself is left out: it only reads or writes the language active at the moment, and
    # written back from an old version it would land in whichever language the restorer uses.
    reversion.register(model, fields=fields, follow=follow)
    _registry[model] = Registration(fields, excluded, tuple(follow))


def register(model, *, follow=()) -> None:
    """Keep versions of the content type ``model`` with the inline rows of each reverse relation in
    ``follow`` (their related_name, e.g. ``("links", "meetings", "documents")``). List a relation
    after the ones its rows point to: a document of a meeting after the meetings. The rows' models
    are registered here too. Call it in the app's admin.py before the ModelAdmin is defined:
    VersionAdmin registers a model it finds unregistered, with its own guess of what to follow."""
    for name in follow:
        rel = model._meta.get_field(name)
        if not reversion.is_registered(rel.related_model):
            _register_one(rel.related_model)
    _register_one(model, follow)
    pre_save.connect(_baseline_before_save, sender=model, dispatch_uid=f"portal.history:{model._meta.label_lower}")


def _follows(model):
    """(accessor, relation) for each inline relation a version of ``model`` holds."""
    reg = _registry.get(model)
    for name in reg.follow if reg else ():
        yield name, model._meta.get_field(name)


# Recording outside the change form ------------------------------------------------------------

_watching: ContextVar[bool] = ContextVar("portal.history.watching", default=False)


@contextmanager
def watching():
    """Saves inside take the first version of an item that has none (see ``_baseline_before_save``),
    even where no revision is open yet (the list's saves, an import)."""
    token = _watching.set(True)
    try:
        yield
    finally:
        _watching.reset(token)


@contextmanager
def _own_revision():
    """A revision of its own, saved when the block ends, even inside another revision (reversion
    would merge a nested create_revision() into the outer one)."""
    token = revisions._stack.set([])
    try:
        with reversion.create_revision():
            yield
    finally:
        revisions._stack.reset(token)


def record(obj, *, user=None, comment: str = "", date=None) -> None:
    """Save ``obj`` as it is stored now, with its inline rows, as a new version of its history."""
    with _own_revision():
        reversion.set_user(user if user is not None and user.is_authenticated else None)
        reversion.set_comment(str(comment))
        if date is not None:
            reversion.set_date_created(date)
        reversion.add_to_revision(obj)


def record_import(request, model, result, file_name: str = "") -> None:
    """After a confirmed file import (django-import-export): one revision with every item it added
    or changed, with the user and the file's name. Nothing when the import was rolled back."""
    from import_export.results import RowResult

    if result.has_errors() or result.has_validation_errors():
        return
    kinds = {RowResult.IMPORT_TYPE_NEW: 0, RowResult.IMPORT_TYPE_UPDATE: 0}
    ids = []
    for row in result.rows:
        if row.import_type in kinds and row.object_id is not None:
            kinds[row.import_type] += 1
            ids.append(row.object_id)
    if not ids:
        return
    comment = _t("ファイル「%(name)s」から取り込みました(新規 %(new)d 件、更新 %(update)d 件)") % {
        "name": file_name or "-",
        "new": kinds[RowResult.IMPORT_TYPE_NEW],
        "update": kinds[RowResult.IMPORT_TYPE_UPDATE],
    }
    with _own_revision():
        reversion.set_user(request.user)
        reversion.set_comment(comment)
        for obj in model._base_manager.filter(pk__in=ids).iterator():
            reversion.add_to_revision(obj)


def versions_of(model, pk):
    return Version.objects.get_for_object_reference(model, pk)


def record_baseline(model, pk) -> None:
    """Give the stored item its first version, if it has none: the content it had before the change
    about to be saved (dated by its last update, without a user)."""
    if model not in _registry or pk is None or versions_of(model, pk).exists():
        return
    stored = model._base_manager.filter(pk=pk).first()
    if stored is None:
        return
    record(stored, comment=_t("履歴の記録を始める前の内容"), date=getattr(stored, "updated_at", None))


def _baseline_before_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None or not (reversion.is_active() or _watching.get()):
        return
    record_baseline(sender, instance.pk)


# The state of an item: in a version, or now ------------------------------------------------------


@dataclass
class ItemState:
    """An item as a version holds it, or as it is stored now: its fields as serialised (field name ->
    JSON value; a foreign key is the target's id, a many-to-many relation the list of ids) and, for
    a content item, its inline rows (accessor -> {row id: ItemState})."""

    model: type
    pk: str
    label: str
    values: dict
    rows: dict = field(default_factory=dict)

    def comparable(self):
        return (
            {k: v for k, v in self.values.items() if k not in NOT_SHOWN},
            {name: {pk: row.comparable() for pk, row in rows.items()} for name, rows in self.rows.items()},
        )


def _parse(serialized: str) -> tuple[str, dict]:
    try:
        data = json.loads(serialized)[0]
        return str(data["pk"]), dict(data.get("fields") or {})
    except (ValueError, LookupError, TypeError) as error:
        raise RevertError(_t("この版の記録を読み込めませんでした。")) from error


def _serialize(obj) -> str:
    return serializers.serialize("json", [obj], fields=_registry[type(obj)].fields)


def state_of_object(obj) -> ItemState:
    pk, values = _parse(_serialize(obj))
    state = ItemState(type(obj), pk, str(obj), values)
    for name, _rel in _follows(type(obj)):
        state.rows[name] = {str(row.pk): state_of_object(row) for row in getattr(obj, name).order_by("pk")}
    return state


def owned_rows(version) -> dict[str, list[tuple[str, Version]]]:
    """The inline rows of ``version``'s item in the same revision: accessor -> [(row id, version)].
    A revision may hold other items too (an import's): only rows pointing at this item count."""
    model = version._model
    specs = {ContentType.objects.get_for_model(rel.related_model).pk: (name, rel) for name, rel in _follows(model)}
    rows = {name: [] for name, _rel in _follows(model)}
    if not specs:
        return rows
    for row in version.revision.version_set.filter(content_type__in=list(specs)).order_by("pk"):
        name, rel = specs[row.content_type_id]
        row_pk, values = _parse(row.serialized_data)
        if str(values.get(rel.field.name)) == str(version.object_id):
            rows[name].append((row_pk, row))
    for found in rows.values():
        found.sort(key=lambda item: _pk_key(item[0]))
    return rows


def _pk_key(pk: str):
    return (0, int(pk), "") if pk.isdigit() else (1, 0, pk)


def state_of_version(version) -> ItemState:
    pk, values = _parse(version.serialized_data)
    state = ItemState(version._model, pk, version.object_repr, values)
    for name, rows in owned_rows(version).items():
        state.rows[name] = {}
        for row_pk, row in rows:
            state.rows[name][row_pk] = ItemState(row._model, row_pk, row.object_repr, _parse(row.serialized_data)[1])
    return state


def record_if_changed(obj, *, user=None, comment: str = "") -> bool:
    """Save ``obj`` as a new version unless its latest version already holds what is stored."""
    latest = versions_of(type(obj), obj.pk).order_by("-pk").first()
    if latest is not None and state_of_version(latest).comparable() == state_of_object(obj).comparable():
        return False
    record(obj, user=user, comment=comment)
    return True


# Restoring ---------------------------------------------------------------------------------


def _restore_object(version, current, notes: list[str], *, overrides: dict | None = None):
    """Write the object ``version`` holds back to the database (raw, as loaddata does) and return it.

    A field the version does not hold (added to the model since) keeps the current value, or its
    default when the item is being recovered. A foreign key or many-to-many target deleted since is
    left out (a required foreign key stops the restore with a message). ``overrides`` (field ->
    value) are written instead of the version's values."""
    model = version._model
    reg = _registry[model]
    try:
        item = next(serializers.deserialize("json", version.serialized_data, ignorenonexistent=True))
    except (DeserializationError, StopIteration, ValueError) as error:
        raise RevertError(_t("この版の記録を読み込めませんでした。")) from error
    present = set(_parse(version.serialized_data)[1])
    obj = item.object
    for f in model._meta.concrete_fields:
        if f.primary_key or f.name in reg.excluded or f.name in present or current is None:
            continue
        setattr(obj, f.attname, getattr(current, f.attname))
        if f.editable and f.name not in NOT_SHOWN:
            notes.append(_t("「%(field)s」はこの版に記録がないため、今の値のままにします。") % {"field": _label(f)})
    for name, value in (overrides or {}).items():
        setattr(obj, model._meta.get_field(name).attname, value)
    for f in model._meta.concrete_fields:
        value = getattr(obj, f.attname)
        if not isinstance(f, models.ForeignKey) or value is None:
            continue
        if f.related_model._base_manager.filter(**{f.target_field.attname: value}).exists():
            continue
        if not f.null:
            raise RevertError(
                _t("「%(field)s」に選ばれていた項目(ID %(id)s)が削除されているため、この版には戻せません。")
                % {"field": _label(f), "id": value}
            )
        setattr(obj, f.attname, None)
        notes.append(
            _t("「%(field)s」に選ばれていた項目(ID %(id)s)は削除されているため、空欄にします。")
            % {"field": _label(f), "id": value}
        )
    for name, ids in list((item.m2m_data or {}).items()):
        f = model._meta.get_field(name)
        existing = set(f.related_model._base_manager.filter(pk__in=ids).values_list("pk", flat=True))
        kept = [pk for pk in ids if f.related_model._meta.pk.to_python(pk) in existing]
        if len(kept) < len(ids):
            notes.append(
                _t("「%(field)s」の %(count)d 件は削除されているため、戻しません。")
                % {"field": _label(f), "count": len(ids) - len(kept)}
            )
        item.m2m_data[name] = kept
    item.save()
    return obj


def revert_item(version, *, current, keep_publication: bool) -> list[str]:
    """Write ``version``'s item and its inline rows back: rows added since are deleted, rows deleted
    since come back. ``current`` is the item as stored now (None when recovering a deleted one).
    With ``keep_publication`` the publishing fields stay as they are now, and a recovered item comes
    back as a draft. Returns notes for the user about what could not be restored as it was."""
    from portal.publishing import PublishState

    notes: list[str] = []
    model = version._model
    overrides = None
    if keep_publication:
        fields = [f for f in PUBLICATION_FIELDS if _has_field(model, f)]
        if current is not None:
            overrides = {f: getattr(current, f) for f in fields}
        elif "state" in fields:
            overrides = {"state": PublishState.DRAFT}
    obj = _restore_object(version, current, notes, overrides=overrides)
    rows = owned_rows(version)
    for name, rel in _follows(model):
        row_model, fk = rel.related_model, rel.field.attname
        old = rows.get(name, [])
        old_ids = [row_model._meta.pk.to_python(pk) for pk, _row in old]
        row_model._default_manager.filter(**{fk: obj.pk}).exclude(pk__in=old_ids).delete()
        now = row_model._base_manager.in_bulk(old_ids)
        for pk, row in old:
            _restore_object(row, now.get(row_model._meta.pk.to_python(pk)), notes)
    return notes


def _has_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


# Showing a difference ----------------------------------------------------------------------


def jdatetime(value) -> str:
    """令和8年(2026年)11月29日 14:05 (14:05:30 when the seconds are not zero)."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{format_date_ja(local)} {local:%H:%M:%S}" if local.second else f"{format_date_ja(local)} {local:%H:%M}"


def _label(f) -> str:
    return str(capfirst(f.verbose_name))


def _join(parts):
    """Safe HTML parts (and text, escaped) as one."""
    return format_html_join("", "{}", ((part,) for part in parts))


def _hidden(text: str):
    return format_html('<span class="visually-hidden">{}</span>', text)


def _ins(content):
    return format_html("<ins>{}{}{}</ins>", _hidden(_t("追加:")), content, _hidden(_t("(追加ここまで)")))


def _del(content):
    return format_html("<del>{}{}{}</del>", _hidden(_t("削除:")), content, _hidden(_t("(削除ここまで)")))


class Names:
    """The names of foreign-key and many-to-many targets, read in one query per model."""

    def __init__(self):
        self.wanted: dict[type, set] = {}
        self.found: dict[type, dict] = {}

    def want(self, model, pks) -> None:
        self.wanted.setdefault(model, set()).update(pk for pk in pks if pk is not None)

    def name(self, model, pk) -> str:
        if model not in self.found:
            ids = set()
            for value in self.wanted.get(model, ()):
                with contextlib.suppress(ValidationError):  # a malformed id in an old version
                    ids.add(model._meta.pk.to_python(value))
            self.found[model] = {str(k): str(v) for k, v in model._base_manager.in_bulk(list(ids)).items()}
        found = self.found[model].get(str(pk))
        return found if found is not None else _t("(削除済み ID %(id)s)") % {"id": pk}

    def collect(self, model, values: dict) -> None:
        for f in [*model._meta.concrete_fields, *model._meta.many_to_many]:
            value = values.get(f.name)
            if value is None:
                continue
            if f.many_to_many and isinstance(value, list):
                self.want(f.related_model, value)
            elif isinstance(f, models.ForeignKey):
                self.want(f.related_model, [value])


def display(f, value, names: Names) -> str:
    """A stored value as the editor reads it: choices by their label, foreign keys by name, dates
    in Japanese."""
    if value is MISSING:
        return _t("(この版には記録がありません)")
    if f.many_to_many:
        return "、".join(names.name(f.related_model, pk) for pk in value or []) or _t("(空欄)")
    if f.choices and value is not None:
        labels = {str(k): v for k, v in f.flatchoices}
        if str(value) in labels:
            return str(labels[str(value)])
    if value is None or value == "":
        return _t("(空欄)")
    if isinstance(f, models.ForeignKey):
        return names.name(f.related_model, value)
    if isinstance(f, models.BooleanField):
        return _t("はい") if value else _t("いいえ")
    try:
        python = f.to_python(value)
    except Exception:  # an old version's value the field no longer accepts: shown as stored
        return str(value)
    if isinstance(f, models.DateTimeField) and python is not None:
        return jdatetime(python)
    if isinstance(f, models.DateField) and python is not None:
        return format_date_ja(python)
    if isinstance(f, models.DecimalField) and python is not None:
        return f"{python.normalize():f}"
    return str(python)


_TOKEN = re.compile(r"[A-Za-z0-9_]+|\s+|.", re.DOTALL)


def _word_diff(old: str, new: str):
    """One changed line: the words (for English) or characters (for Japanese) removed and added."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    parts = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(format_html("{}", "".join(a[i1:i2])))
        if tag in ("delete", "replace"):
            parts.append(_del("".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            parts.append(_ins("".join(b[j1:j2])))
    return _join(parts)


def _line(content, kind: str = ""):
    return format_html('<div class="history-line{}">{}</div>', f" history-line-{kind}" if kind else "", content)


def _blank(text: str) -> str:
    return text if text.strip() else _t("(空行)")


CONTEXT_LINES = 2


def text_diff(old: str, new: str, *, show_all: bool = False):
    """A long text's change, line by line; within a changed line, word by word. Runs of unchanged
    lines are shortened to the two lines either side of a change unless ``show_all``."""
    a, b = (old or "").splitlines(), (new or "").splitlines()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    out = []
    opcodes = matcher.get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            lines = a[i1:i2]
            head = CONTEXT_LINES if index > 0 else 0
            tail = CONTEXT_LINES if index < len(opcodes) - 1 else 0
            if show_all or len(lines) <= head + tail + 1:
                out.extend(_line(line) for line in lines)
                continue
            out.extend(_line(line) for line in lines[:head])
            out.append(
                format_html(
                    '<div class="history-skip">{}</div>',
                    _t("(変更のない %(count)d 行を省略)") % {"count": len(lines) - head - tail},
                )
            )
            out.extend(_line(line) for line in lines[len(lines) - tail :] if tail)
        elif tag == "delete":
            out.extend(_line(_del(_blank(line)), "del") for line in a[i1:i2])
        elif tag == "insert":
            out.extend(_line(_ins(_blank(line)), "ins") for line in b[j1:j2])
        else:
            olds, news = a[i1:i2], b[j1:j2]
            for k in range(max(len(olds), len(news))):
                before = olds[k] if k < len(olds) else None
                after = news[k] if k < len(news) else None
                if before is None:
                    out.append(_line(_ins(_blank(after)), "ins"))
                elif after is None:
                    out.append(_line(_del(_blank(before)), "del"))
                elif difflib.SequenceMatcher(None, before, after, autojunk=False).ratio() < 0.4:
                    out.append(_line(_del(_blank(before)), "del"))
                    out.append(_line(_ins(_blank(after)), "ins"))
                else:
                    out.append(_line(_word_diff(before, after), "changed"))
    return format_html('<div class="history-text">{}</div>', _join(out))


def _before_after(old_text: str, new_text: str):
    return format_html(
        '<div class="history-before"><span class="history-tag">{}</span> {}</div>'
        '<div class="history-after"><span class="history-tag">{}</span> {}</div>',
        _t("変更前"),
        _del(old_text),
        _t("変更後"),
        _ins(new_text),
    )


def _plain(text: str, long: bool = False):
    if long and "\n" in text:
        return format_html(
            '<div class="history-text">{}</div>',
            format_html_join("", '<div class="history-line">{}</div>', ((line,) for line in text.splitlines())),
        )
    return format_html("{}", text)


def cell(f, old, new, names: Names, *, show_all: bool):
    """(changed, html) of one field between two states; MISSING where a state lacks the field."""
    if old == new:
        return False, _plain(display(f, new, names), long=isinstance(f, models.TextField))
    if f.many_to_many and isinstance(old, list) and isinstance(new, list):
        before, after = [str(pk) for pk in old], [str(pk) for pk in new]
        added = [pk for pk in after if pk not in before]
        removed = [pk for pk in before if pk not in after]
        kept = [pk for pk in after if pk in before]
        parts = []
        if added:
            parts.append(
                format_html(
                    '<div class="history-after"><span class="history-tag">{}</span> {}</div>',
                    _t("追加"),
                    _ins("、".join(names.name(f.related_model, pk) for pk in added)),
                )
            )
        if removed:
            parts.append(
                format_html(
                    '<div class="history-before"><span class="history-tag">{}</span> {}</div>',
                    _t("削除"),
                    _del("、".join(names.name(f.related_model, pk) for pk in removed)),
                )
            )
        if kept:
            parts.append(
                format_html(
                    '<div class="history-kept"><span class="history-tag">{}</span> {}</div>',
                    _t("変わらず"),
                    "、".join(names.name(f.related_model, pk) for pk in kept),
                )
            )
        return True, _join(parts)
    if (
        isinstance(f, models.TextField)
        and old is not MISSING
        and new is not MISSING
        and ("\n" in (old or "") or "\n" in (new or "") or len(old or "") + len(new or "") > 80)
    ):
        return True, text_diff(old or "", new or "", show_all=show_all)
    before, after = display(f, old, names), display(f, new, names)
    if before == after:  # e.g. a time that lost its microseconds in the form: nothing an editor sees
        return False, _plain(after)
    return True, _before_after(before, after)


@dataclass
class FieldRow:
    label: str
    cells: list  # [html]: two (日本語, English) for a translated field, else one
    changed: bool

    @property
    def translated(self) -> bool:
        return len(self.cells) == 2


def shown_fields(model):
    """(label, [field] or [field_ja, field_en]) in the model's order: what an editor can change."""
    translated = set(translated_fields(model))
    languages = {f"{name}_{code}" for name in translated for code in ("ja", "en")}
    for f in [*model._meta.concrete_fields, *model._meta.many_to_many]:
        if f.name in translated:
            yield _label(f), [model._meta.get_field(f"{f.name}_ja"), model._meta.get_field(f"{f.name}_en")]
        elif f.name in languages or f.primary_key or not f.editable or f.name in NOT_SHOWN:
            continue
        else:
            yield _label(f), [f]


def field_rows(model, old: dict | None, new: dict | None, names: Names, *, show_all: bool, skip=()) -> list[FieldRow]:
    """The rows of one item's table. For a row added or removed (``old`` or ``new`` None) its
    filled fields are listed as they are."""
    rows = []
    only = new if old is None else old if new is None else None
    for label, fields in shown_fields(model):
        if any(f.name in skip for f in fields):
            continue
        if only is not None:
            values = [only.get(f.name, MISSING) for f in fields]
            if show_all or any(v not in (None, "", [], MISSING) for v in values):
                cells = [
                    _plain(display(f, v, names), long=isinstance(f, models.TextField))
                    for f, v in zip(fields, values, strict=True)
                ]
                rows.append(FieldRow(label, cells, False))  # the row's caption says added or removed
            continue
        results = [
            cell(f, old.get(f.name, MISSING), new.get(f.name, MISSING), names, show_all=show_all) for f in fields
        ]
        changed = any(c for c, _html in results)
        if changed or show_all:
            rows.append(FieldRow(label, [html for _c, html in results], changed))
    return rows


STATUS_LABELS = {"added": _("追加"), "removed": _("削除"), "changed": _("変更"), "same": _("変更なし")}


def compare(old: ItemState, new: ItemState, *, show_all: bool = False) -> dict:
    """What changed from ``old`` to ``new``: the item's field rows and each inline relation's rows."""
    names = Names()
    for state in (old, new):
        names.collect(state.model, state.values)
        for rows in state.rows.values():
            for row in rows.values():
                names.collect(row.model, row.values)
    model = new.model
    main = field_rows(model, old.values, new.values, names, show_all=show_all)
    relations = []
    for name, rel in _follows(model):
        before, after = old.rows.get(name, {}), new.rows.get(name, {})
        items = []
        for pk in sorted(set(before) | set(after), key=_pk_key):
            a, b = before.get(pk), after.get(pk)
            if a is None:
                status, rows = (
                    "added",
                    field_rows(rel.related_model, None, b.values, names, show_all=True, skip={rel.field.name}),
                )
            elif b is None:
                status, rows = (
                    "removed",
                    field_rows(rel.related_model, a.values, None, names, show_all=True, skip={rel.field.name}),
                )
            else:
                rows = field_rows(
                    rel.related_model, a.values, b.values, names, show_all=show_all, skip={rel.field.name}
                )
                status = "changed" if any(r.changed for r in rows) else "same"
                if status == "same" and not show_all:
                    continue
            items.append(
                {
                    "label": (b or a).label,
                    "status": status,
                    "status_label": str(STATUS_LABELS[status]),
                    "rows": rows,
                }
            )
        relations.append(
            {
                "name": name,
                "title": str(capfirst(rel.related_model._meta.verbose_name_plural)),
                "items": items,
                "translated": bool(translated_fields(rel.related_model)),
            }
        )
    changed = any(r.changed for r in main) or any(
        item["status"] != "same" for relation in relations for item in relation["items"]
    )
    return {
        "main": main,
        "translated": bool(translated_fields(model)),
        "relations": relations,
        "changed": changed,
    }


# The admin ---------------------------------------------------------------------------------


class _Rollback(Exception):
    """Leaves the restore's transaction without keeping anything: the form was only shown."""

    def __init__(self, response):
        self.response = response


@dataclass
class RestoreInfo:
    version: Version
    number: int
    comment: str
    keep_publication: dict | None  # field -> value kept, when the user may not publish
    recover: bool


_list_save: ContextVar[bool] = ContextVar("portal.history.list_save", default=False)


class HistoryAdmin(VersionAdmin):
    """The history of a content type's items in its admin (see the module's docstring)."""

    object_history_template = "reversion/object_history.html"
    change_list_template = "reversion/change_list.html"
    history_latest_first = True  # the recover list (VersionAdmin's): the latest deletion first

    # Who may do what.

    def may_publish(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.publish_{self.opts.model_name}")

    def publication_fields(self) -> list[str]:
        return [f for f in PUBLICATION_FIELDS if _has_field(self.model, f)]

    # URLs.

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/history/compare/",
                self.admin_site.admin_view(self.compare_view),
                name=f"{name}_history_compare",
            ),
            *super().get_urls(),
        ]

    def _url(self, name: str, *args) -> str:
        return reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{name}", args=args)

    def compare_url(self, obj, from_version, to_version=None) -> str:
        query = {"from": from_version.pk, "to": to_version.pk if to_version else "current"}
        return f"{self._url('history_compare', quote(obj.pk))}?{urlencode(query)}"

    # Versions of one item.

    def _versions(self, obj):
        return versions_of(self.model, obj.pk).select_related("revision__user").order_by("pk")

    def _version_or_404(self, obj, version_id) -> Version:
        if not re.fullmatch(r"[0-9]{1,18}", str(version_id or "")):
            raise Http404(_t("指定された版はありません。"))
        version = self._versions(obj).filter(pk=int(version_id)).first()
        if version is None:
            raise Http404(_t("指定された版はありません。"))
        return version

    def _number(self, version) -> int:
        return versions_of(self.model, version.object_id).filter(pk__lte=version.pk).count()

    @staticmethod
    def _who(revision) -> str:
        user = revision.user
        if user is None:
            return _t("(記録なし)")
        return user.get_full_name() or user.get_username()

    def _describe(self, version, number) -> dict:
        return {
            "version": version,
            "number": number,
            "date": jdatetime(version.revision.date_created),
            "iso": version.revision.date_created.isoformat(),
            "user": self._who(version.revision),
            "comment": version.revision.get_comment(),
        }

    def _get_object_or_404(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(_t("指定された項目はありません。削除された可能性があります。"))
        return obj

    # The history page.

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        versions = list(self._versions(obj))
        entries = []
        for number, version in enumerate(versions, start=1):
            entry = self._describe(version, number)
            entry["compare_previous"] = self.compare_url(obj, versions[number - 2], version) if number > 1 else ""
            entry["compare_current"] = self.compare_url(obj, version)
            entry["restore_url"] = self._url("revision", quote(obj.pk), version.pk)
            entries.append(entry)
        entries.reverse()
        page = self.get_paginator(request, entries, PER_PAGE).get_page(request.GET.get(PAGE_VAR, 1))
        context = {
            **self.admin_site.each_context(request),
            "title": _t("「%(item)s」の変更履歴") % {"item": obj},
            "subtitle": None,
            "object": obj,
            "opts": self.opts,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "preserved_filters": self.get_preserved_filters(request),
            "entries": page,
            "page_range": page.paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "can_restore": self.has_change_permission(request, obj),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.object_history_template, context)

    # The difference between two versions.

    def compare_view(self, request, object_id):
        obj = self._get_object_or_404(request, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        old_version = self._version_or_404(obj, request.GET.get("from"))
        to = request.GET.get("to", "current") or "current"
        new_version = None if to == "current" else self._version_or_404(obj, to)
        try:
            old = state_of_version(old_version)
            new = state_of_version(new_version) if new_version else state_of_object(obj)
        except RevertError as error:
            raise Http404(str(error)) from error
        show_all = request.GET.get("all") == "1"
        diff = compare(old, new, show_all=show_all)
        query = {"from": old_version.pk, "to": new_version.pk if new_version else "current"}
        old_info = self._describe(old_version, self._number(old_version))
        new_info = self._describe(new_version, self._number(new_version)) if new_version else None
        context = {
            **self.admin_site.each_context(request),
            "title": _t("「%(item)s」の差分") % {"item": obj},
            "subtitle": None,
            "object": obj,
            "opts": self.opts,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "old": old_info,
            "new": new_info,
            "diff": diff,
            "show_all": show_all,
            "toggle_url": "?" + urlencode({**query, **({} if show_all else {"all": "1"})}),
            "history_url": self._url("history", quote(obj.pk)),
            "can_restore": self.has_change_permission(request, obj),
            "restore_url": self._url("revision", quote(obj.pk), old_version.pk),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "reversion/compare.html", context)

    # Going back to a version.

    def revision_view(self, request, object_id, version_id, extra_context=None):
        obj = self._get_object_or_404(request, object_id)
        version = self._version_or_404(obj, version_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return self._restore(request, version, obj, recover=False, extra_context=extra_context)

    def recoverlist_view(self, request, extra_context=None):
        context = {
            "title": _t("削除した%(name)sを復元") % {"name": self.opts.verbose_name_plural},
            **(extra_context or {}),
        }
        return super().recoverlist_view(request, context)

    def recover_view(self, request, version_id, extra_context=None):
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        if not re.fullmatch(r"[0-9]{1,18}", str(version_id)):
            raise Http404(_t("指定された版はありません。"))
        version = Version.objects.get_for_model(self.model).filter(pk=int(version_id)).first()
        if version is None:
            raise Http404(_t("指定された版はありません。"))
        if self.model._base_manager.filter(pk=version.object_id).exists():
            messages.info(request, _t("この項目は削除されていません。戻すには変更履歴から版を選んでください。"))
            return redirect(self._url("history", quote(version.object_id)))
        return self._restore(request, version, None, recover=True, extra_context=extra_context)

    def _restore(self, request, version, current, *, recover: bool, extra_context=None):
        number = self._number(version)
        when = jdatetime(version.revision.date_created)
        may_publish = self.may_publish(request)
        fields = self.publication_fields()
        keep = None
        if fields and not may_publish:
            keep = {f: getattr(current, f) for f in fields} if current is not None else {}
        if recover:
            comment = _t("削除した項目を版 %(number)d(%(when)s)から復元しました") % {"number": number, "when": when}
        else:
            comment = _t("版 %(number)d(%(when)s)を復元しました") % {"number": number, "when": when}
        info = RestoreInfo(version, number, comment, keep, recover)
        notes = self._publication_notes(version, current, keep, recover)
        template = "reversion/recover_form.html" if recover else "reversion/revision_form.html"
        signals = (
            mute_signals(pre_save, post_save, pre_delete, post_delete, m2m_changed)
            if request.method == "GET"
            else nullcontext()
        )
        try:
            with transaction.atomic(using=version.db), signals:
                try:
                    with transaction.atomic(using=version.db):
                        notes += revert_item(version, current=current, keep_publication=keep is not None)
                except IntegrityError as error:
                    raise RevertError(
                        _t("この版に戻すと、ほかの項目と同じ値(スラッグなど)になるため戻せません。")
                    ) from error
                request._history_restore = info
                context = {
                    "title": (
                        _t("削除した項目を復元: %(item)s") % {"item": version.object_repr}
                        if recover
                        else _t("版 %(number)d に戻す: %(item)s") % {"number": number, "item": version.object_repr}
                    ),
                    "history_version": self._describe(version, number),
                    "history_notes": notes,
                    "revert": not recover,
                    "recover": recover,
                    **(extra_context or {}),
                }
                with self.create_revision(request):
                    response = self.changeform_view(request, quote(version.object_id), request.path, context)
                    if request.method == "POST" and response.status_code == 302:
                        reversion.set_comment(comment)
                        restored = self.model._base_manager.get(pk=version.object_id)
                        self._audit(request, restored, info, current)
                        messages.success(request, comment)
                        response = redirect(self._url("history", quote(restored.pk)))
                    elif response.status_code == 200:
                        base = response.template_name
                        base = get_template(base) if isinstance(base, str) else select_template(base)
                        response.context_data["history_base_template"] = base.template
                        response.template_name = template
                        response.render()
                        raise _Rollback(response)
                    else:
                        raise RevertError(_t("この版を読み込めませんでした。"))
        except _Rollback as rollback:
            return rollback.response
        except (RevertError, models.ProtectedError, IntegrityError) as error:
            messages.error(
                request, str(error) if isinstance(error, RevertError) else _t("この版には戻せませんでした。")
            )
            if current is not None:
                return redirect(self._url("history", quote(current.pk)))
            return redirect(self._url("recoverlist"))
        return response

    def _publication_notes(self, version, current, keep, recover) -> list[str]:
        fields = self.publication_fields()
        if not fields:
            return []
        if keep is not None:
            if recover:
                return [_t("公開の権限がないため、下書きとして復元します。公開は公開担当者が行います。")]
            return [
                _t(
                    "公開状態・公開日時・掲載終了日時は今のまま変わりません。"
                    "この版のものに戻せるのは公開担当者だけです。"
                )
            ]
        if current is None or "state" not in fields:
            return []
        old_state = _parse(version.serialized_data)[1].get("state")
        if old_state is not None and old_state != current.state:
            f = self.model._meta.get_field("state")
            return [
                _t("この版に戻すと、公開状態も「%(old)s」になります(今は「%(now)s」)。")
                % {"old": display(f, old_state, Names()), "now": display(f, current.state, Names())}
            ]
        return []

    def _audit(self, request, obj, info: RestoreInfo, before) -> None:
        from portal import audit

        detail = info.comment
        if before is not None and "state" in self.publication_fields() and before.state != obj.state:
            f = self.model._meta.get_field("state")
            detail += _t("。公開状態: %(old)s → %(new)s") % {
                "old": display(f, before.state, Names()),
                "new": display(f, obj.state, Names()),
            }
        audit.record("recover" if info.recover else "restore", request=request, obj=obj, detail=detail)

    def save_model(self, request, obj, form, change):
        info = getattr(request, "_history_restore", None)
        if info is not None and info.keep_publication is not None:
            # Whatever the form sent, a user who may not publish leaves the publishing fields as
            # they were before the restore (or a draft, for a recovered item).
            from portal.publishing import PublishState

            if info.recover:
                if "state" in self.publication_fields():
                    obj.state = PublishState.DRAFT
            else:
                for name, value in info.keep_publication.items():
                    setattr(obj, name, value)
        super().save_model(request, obj, form, change)

    def message_user(self, request, message, level=messages.INFO, *args, **kwargs):
        if level == messages.SUCCESS and getattr(request, "_history_restore", None) is not None:
            return  # the restore says what it did instead of "changed" (HistoryAdmin._restore)
        super().message_user(request, message, level, *args, **kwargs)

    def log_change(self, request, obj, message):
        info = getattr(request, "_history_restore", None)
        if info is not None:
            message = info.comment
        entry = super().log_change(request, obj, message)
        if _list_save.get() and not reversion.is_active():
            record(obj, user=request.user, comment=entry.get_change_message())
        return entry

    # The list: each saved row and each item an action changes gets a version of its own.

    def changelist_view(self, request, extra_context=None):
        context = {
            "has_change_permission": self.has_change_permission(request),
            **(extra_context or {}),
        }
        token = _list_save.set(request.method == "POST" and "_save" in request.POST)
        try:
            with watching():
                # Past VersionAdmin's changelist_view, which would put every item the request
                # changes into one revision with one comment.
                return super(VersionAdmin, self).changelist_view(request, context)
        finally:
            _list_save.reset(token)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        return {
            name: (action if name == "delete_selected" else dataclasses.replace(action, func=self._recorded(action)))
            for name, action in actions.items()
        }

    @staticmethod
    def _recorded(action):
        func = action.func

        @functools.wraps(func)
        def run(modeladmin, request, queryset):
            items = list(queryset)
            for obj in items:
                record_baseline(type(obj), obj.pk)
            response = func(modeladmin, request, queryset)
            comment = _t("一覧の操作「%(action)s」") % {"action": action.description}
            for obj in items:
                fresh = type(obj)._base_manager.filter(pk=obj.pk).first()
                if fresh is not None:
                    record_if_changed(fresh, user=request.user, comment=comment)
            return response

        return run

    # Deleting keeps the item's last content, so that it can be recovered.

    def _record_deletion(self, request, objs) -> None:
        for obj in objs:
            record(obj, user=request.user, comment=_t("削除しました"))

    def delete_model(self, request, obj):
        self._record_deletion(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        self._record_deletion(request, queryset)
        super().delete_queryset(request, queryset)


class ParentHistoryMixin:
    """For the admin of a model whose rows are also an inline of a content item (a program's
    meetings): a change or deletion made on the row's own page becomes a version of the item."""

    history_parent: str  # the foreign key to the content item

    def _parent(self, obj):
        return getattr(obj, self.history_parent, None) if obj is not None else None

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        self._record_parent(request, obj, entry)
        return entry

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        self._record_parent(request, obj, entry)
        return entry

    def _record_parent(self, request, obj, entry) -> None:
        parent = self._parent(obj)
        if parent is not None:
            label = f"{capfirst(self.opts.verbose_name)}「{obj}」"
            record(parent, user=request.user, comment=f"{label}: {entry.get_change_message()}")

    def delete_model(self, request, obj):
        parent = self._parent(obj)
        if parent is not None:
            record_baseline(type(parent), parent.pk)
        super().delete_model(request, obj)
        if parent is not None:
            record(
                parent,
                user=request.user,
                comment=_t("%(kind)s「%(item)s」を削除しました")
                % {"kind": capfirst(self.opts.verbose_name), "item": obj},
            )

    def delete_queryset(self, request, queryset):
        parents = {parent for parent in map(self._parent, queryset) if parent is not None}
        for parent in parents:
            record_baseline(type(parent), parent.pk)
        super().delete_queryset(request, queryset)
        for parent in parents:
            record(parent, user=request.user, comment=_t("%(kind)s を削除しました") % {"kind": self.opts.verbose_name})

    def save_model(self, request, obj, form, change):
        parent = self._parent(obj)
        if parent is not None:
            record_baseline(type(parent), parent.pk)
        super().save_model(request, obj, form, change)
