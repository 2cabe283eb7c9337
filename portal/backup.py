"""Backups of the whole portal: every table of the database and the uploaded files, in one archive.

    manage.py backup_portal   ->  var/backups/portal-YYYYmmdd-HHMMSS.tar.gz
    manage.py restore_portal var/backups/portal-….tar.gz

The archive (a gzip-compressed tar) holds, in this order:

- ``database/rows.jsonl``: the rows of every model in the app registry (auto-created m2m tables
  included, as rows of their own with their ids), one Django-serialised object per line ("jsonl"),
  primary keys kept. Read from one snapshot (REPEATABLE READ on PostgreSQL, a read transaction on
  SQLite), so it is consistent while the site runs. The format knows no database: a backup of
  SQLite restores into PostgreSQL and back.
- ``media/…``: every file under MEDIA_ROOT, byte for byte.
- ``manifest.json``: the migrations applied to the database, the row count of every table, the
  size and SHA-256 of every other member.

Not in the archive: the derived tables (the search index and the case list's facet counts), which
a restore rebuilds with the portal's own commands, and the sessions, which a restore empties.

A restore reads and checks the whole archive before it changes anything (member names, types,
sizes and checksums, the manifest, the migrations), then replaces every row in one transaction
(a failure leaves the old data), resets PostgreSQL's sequences, rebuilds the derived tables and,
last, swaps the new uploaded files in (put back if the transaction does not commit).
docs/operations.md, "Backup and restore".
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import hashlib
import inspect
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import django
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.files.storage import FileSystemStorage, storages
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import QuerySet, signals
from django.utils import timezone

from portal import pagecache

FORMAT = "chiikiryoku-portal-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ROWS = "database/rows.jsonl"
MEDIA = "media/"
MANIFEST_MAX_BYTES = 64 * 1024 * 1024
# Folders a restore makes inside MEDIA_ROOT while it runs; a backup leaves them out.
WORK_PREFIX = ".portal-restore-"
BATCH = 1000
CHUNK = 1024 * 1024

# Tables the portal computes from the others: not backed up, emptied and rebuilt by a restore with
# the portal's own commands (README "Search", docs/decisions/0006 and 0007).
DERIVED_MODELS = ("portal.searchentry", "portal.searchtokens", "casestudies.facetcell", "casestudies.facetstate")
REBUILD_COMMANDS = (
    ("rebuild_search_index", "検索索引を作り直しました", "portal.searchentry"),
    ("rebuild_case_facets", "事例一覧の絞り込み件数を数え直しました", "casestudies.facetcell"),
)
# Not backed up, emptied by a restore: a session restored from a backup would log back in whoever
# had logged out since. Everyone signs in again after a restore. The page cache's table versions
# (portal/pagecache.py) start again too: the restore then marks every stored page old.
TRANSIENT_MODELS = ("sessions.session", "portal.cachetag")
# The model signals stay silent while rows are read and written: loading sends no post_save to
# the search index, the facet counts, the theme masks or any handler another app adds (an audit
# log would otherwise record the restore row by row, into the table being restored); post_init
# would open image files to measure them.
MODEL_SIGNALS = (
    signals.pre_init,
    signals.post_init,
    signals.pre_save,
    signals.post_save,
    signals.pre_delete,
    signals.post_delete,
    signals.m2m_changed,
)


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator (Japanese)."""


# Models and the database -------------------------------------------------------------------


def _storable(model, using: str) -> bool:
    opts = model._meta
    return opts.managed and not opts.proxy and not opts.swapped and router.allow_migrate_model(using, model)


def table_models(using: str = DEFAULT_DB_ALIAS) -> list:
    """Every model whose table Django keeps in this database, m2m tables included."""
    seen, out = set(), []
    for model in apps.get_models(include_auto_created=True):
        if _storable(model, using) and model._meta.db_table not in seen:
            seen.add(model._meta.db_table)
            out.append(model)
    return out


def backed_up_models(using: str = DEFAULT_DB_ALIAS) -> list:
    skip = set(DERIVED_MODELS) | set(TRANSIENT_MODELS)
    return [m for m in table_models(using) if m._meta.label_lower not in skip]


def transient_models(using: str = DEFAULT_DB_ALIAS) -> list:
    return [m for m in table_models(using) if m._meta.label_lower in TRANSIENT_MODELS]


def check_tables(models, using: str = DEFAULT_DB_ALIAS) -> None:
    """Every model's table must exist: a database behind the code cannot be backed up or restored."""
    existing = set(connections[using].introspection.table_names())
    missing = sorted(m._meta.db_table for m in models if m._meta.db_table not in existing)
    if missing:
        raise BackupError(
            f"このデータベース({database_label(using)})には、まだ作られていない表があります"
            f"(マイグレーションが未適用): {', '.join(missing[:10])}"
            + (f" ほか {len(missing) - 10} 表" if len(missing) > 10 else "")
            + "。先に manage.py migrate を実行してください。"
        )


def applied_migrations(using: str = DEFAULT_DB_ALIAS) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for app_label, name in MigrationRecorder(connections[using]).applied_migrations():
        out.setdefault(app_label, []).append(name)
    return {app: sorted(names) for app, names in sorted(out.items())}


def database_label(using: str = DEFAULT_DB_ALIAS) -> str:
    """Which database, for the operator: vendor, host and name; never the password."""
    s = connections[using].settings_dict
    host = f"{s.get('HOST')}:{s.get('PORT')}/" if s.get("HOST") else ""
    return f"{connections[using].vendor} {host}{s.get('NAME')}"


class ExactJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder cuts times to milliseconds (ECMA-262); a backup keeps the microseconds."""

    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


_MISSING = object()


@contextlib.contextmanager
def raw_rows(models):
    """Read and write the stored values themselves while the block runs.

    - The model signals are silenced (MODEL_SIGNALS); the derived tables are rebuilt afterwards.
    - Where an app replaced a field's descriptor, Django's own stands in: django-modeltranslation
      makes ``page.title`` read ``title_ja`` or ``title_en`` (whichever language is active, with
      fallback) and write the active language's field, so the column ``title`` itself would
      otherwise be read and written as some translation of it.
    """
    silenced, patched = [], []
    try:
        for signal in MODEL_SIGNALS:
            with signal.lock:
                silenced.append((signal, signal.receivers))
                signal.receivers = []
                signal.sender_receivers_cache.clear()
        for model in models:
            for f in model._meta.concrete_fields:
                current = inspect.getattr_static(model, f.attname, None)
                if current is not None and type(current) is not f.descriptor_class:
                    patched.append((model, f.attname, model.__dict__.get(f.attname, _MISSING)))
                    setattr(model, f.attname, f.descriptor_class(f))
        yield
    finally:
        for model, name, original in reversed(patched):
            if original is _MISSING:
                delattr(model, name)
            else:
                setattr(model, name, original)
        for signal, receivers in silenced:
            with signal.lock:
                signal.receivers = receivers
                signal.sender_receivers_cache.clear()


@contextlib.contextmanager
def snapshot(using: str = DEFAULT_DB_ALIAS):
    """One consistent view of the database for the whole dump, without stopping the site's writers."""
    connection = connections[using]
    if connection.in_atomic_block:  # already inside a transaction (a test): read in it
        yield
    elif connection.vendor == "postgresql":
        with transaction.atomic(using=using), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield
    elif connection.vendor == "sqlite":
        # atomic() would BEGIN IMMEDIATE (settings: transaction_mode) and hold the write lock; a
        # deferred read transaction sees one snapshot in WAL mode while others keep writing.
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")
    else:
        with transaction.atomic(using=using):
            yield


def _rows(model, using):
    pk = [f.attname for f in model._meta.pk_fields]
    return QuerySet(model=model, using=using).order_by(*pk).iterator(chunk_size=2000)


def dump_rows(stream, models, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Write every row of ``models`` to ``stream`` (jsonl); returns the rows per model label."""
    counts = {}
    with raw_rows(models):
        for model in models:
            n = 0

            def counted(rows):
                nonlocal n
                for row in rows:
                    n += 1
                    yield row

            fields = [f.name for f in model._meta.local_fields]  # no m2m: their tables are models here
            serializers.serialize(
                "jsonl", counted(_rows(model, using)), stream=stream, fields=fields, cls=ExactJSONEncoder
            )
            counts[model._meta.label_lower] = n
    return counts


# Writing a backup --------------------------------------------------------------------------


def check_media_storage(*, restoring: bool = False) -> None:
    if isinstance(storages["default"], FileSystemStorage):
        return
    if restoring:
        raise BackupError(
            "このアーカイブにはアップロードファイルが入っていますが、このポータルのアップロードファイルはディスク(MEDIA_ROOT)"
            "ではなく外部のストレージ(MEDIA_STORAGE=s3 など)にあります。復元しません(何も変更していません)。"
        )
    else:
        raise BackupError(
            "アップロードファイルがディスク(MEDIA_ROOT)ではなく外部のストレージ(MEDIA_STORAGE=s3 など)にあります。"
            "ファイルはそのストレージの機能(バージョニング、複製)で保存し、"
            "このコマンドには --database-only を付けてください。"
        )


def media_root() -> Path:
    """Where the uploaded files are on disk: the default storage's folder (MEDIA_ROOT)."""
    storage = storages["default"]
    return Path(storage.location if isinstance(storage, FileSystemStorage) else settings.MEDIA_ROOT)


def media_files(root: Path):
    """(name under media/, path) of every regular file under ``root``, sorted; symlinks are skipped."""
    files, skipped = [], []
    if not root.is_dir():
        return files, skipped
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == root:
            dirnames[:] = [d for d in dirnames if not d.startswith(WORK_PREFIX)]
        for d in dirnames:
            if (here / d).is_symlink():
                skipped.append((here / d).relative_to(root).as_posix())
        dirnames.sort()
        for name in sorted(filenames):
            path = here / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink() or not path.is_file():
                skipped.append(rel)
            else:
                files.append((rel, path))
    return files, skipped


class _HashingReader:
    def __init__(self, fileobj):
        self.fileobj, self.sha256, self.size = fileobj, hashlib.sha256(), 0

    def read(self, size=-1):
        data = self.fileobj.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def _add(tar: tarfile.TarFile, name: str, fileobj, size: int, mtime: float) -> dict:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o644
    reader = _HashingReader(fileobj)
    tar.addfile(info, reader)
    return {"size": reader.size, "sha256": reader.sha256.hexdigest()}


@dataclass
class BackupResult:
    path: Path
    manifest: dict
    seconds: float
    skipped: list[str] = field(default_factory=list)


def backup_name(now=None) -> str:
    return f"portal-{timezone.localtime(now or timezone.now()):%Y%m%d-%H%M%S}.tar.gz"


def write_backup(output_dir: Path, *, media: bool = True, using: str = DEFAULT_DB_ALIAS) -> BackupResult:
    """Write the archive into ``output_dir`` (created 0700 if missing; the archive is 0600: it holds
    password hashes and personal data). Nothing carries the final name until it is complete."""
    started = time.perf_counter()
    if media:
        check_media_storage()
    output_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = backup_name()
    target, n = output_dir / name, 1
    while target.exists():  # two backups in the same second: never overwrite one
        n += 1
        target = output_dir / name.replace(".tar.gz", f"-{n}.tar.gz")
    root = media_root()
    with tempfile.TemporaryDirectory(prefix=".portal-backup-", dir=output_dir) as work:
        rows_path = Path(work) / "rows.jsonl"
        models = backed_up_models(using)
        check_tables(models, using)
        with snapshot(using):
            migrations = applied_migrations(using)
            with open(rows_path, "w", encoding="utf-8") as stream:
                counts = dump_rows(stream, models, using)
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "created_at": timezone.localtime().isoformat(),
            "django": django.get_version(),
            "database": connections[using].vendor,
            "migrations": migrations,
            "tables": {
                m._meta.label_lower: {"table": m._meta.db_table, "rows": counts[m._meta.label_lower]} for m in models
            },
            "not_included": {"rebuilt": list(DERIVED_MODELS), "emptied": list(TRANSIENT_MODELS)},
            "media": media,
            "files": {},
        }
        partial = Path(work) / "archive.tar.gz"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        skipped = []
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
            with open(rows_path, "rb") as fh:
                manifest["files"][ROWS] = _add(tar, ROWS, fh, rows_path.stat().st_size, time.time())
            if media:
                files, skipped = media_files(root)
                for rel, path in files:
                    with open(path, "rb") as fh:
                        st = os.fstat(fh.fileno())
                        manifest["files"][MEDIA + rel] = _add(tar, MEDIA + rel, fh, st.st_size, st.st_mtime)
            body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            _add(tar, MANIFEST, io.BytesIO(body), len(body), time.time())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, target)
    return BackupResult(target, manifest, time.perf_counter() - started, skipped)


# Reading and checking an archive -----------------------------------------------------------


def _member_kind(name: str) -> tuple[str, PurePosixPath | None]:
    """("manifest" | "rows" | "media", relative path of a media file); refuses anything else."""
    if name == MANIFEST:
        return "manifest", None
    if name == ROWS:
        return "rows", None
    rel = name[len(MEDIA) :] if name.startswith(MEDIA) else None
    parts = rel.split("/") if rel else []
    if (
        not parts
        or any(p in ("", ".", "..") for p in parts)
        or "\\" in name
        or "\x00" in name
        or parts[0].startswith(WORK_PREFIX)
    ):
        raise BackupError(
            f"アーカイブに media/ の外を指すパス、または想定外の名前があります: {name!r}。"
            "復元しません(何も変更していません)。"
        )
    return "media", PurePosixPath(*parts)


class Archive:
    """An archive read to the end and checked; its rows and media files wait in working folders
    until ``cleanup()``."""

    def __init__(self, path: Path, media_root: Path):
        self.path, self.media_root = path, media_root
        self.work = Path(tempfile.mkdtemp(prefix="portal-restore-"))
        self.rows = self.work / "rows.jsonl"
        self.staging: Path | None = None  # inside MEDIA_ROOT, so that the files move in by rename
        self.manifest: dict = {}

    def cleanup(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        if self.staging:
            shutil.rmtree(self.staging, ignore_errors=True)

    def _staging(self) -> Path:
        if self.staging is None:
            self.media_root.mkdir(parents=True, exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(prefix=WORK_PREFIX + "new-", dir=self.media_root))
        return self.staging

    def _copy(self, src, dest: Path, mtime: int) -> dict:
        sha256, size = hashlib.sha256(), 0
        with open(dest, "xb") as out:
            while chunk := src.read(CHUNK):
                sha256.update(chunk)
                size += len(chunk)
                out.write(chunk)
        os.utime(dest, (mtime, mtime))
        return {"size": size, "sha256": sha256.hexdigest()}

    def read(self) -> dict:
        if not self.path.is_file():
            raise BackupError(f"アーカイブが見つかりません: {self.path}")
        found: dict[str, dict] = {}
        manifest_bytes = None
        try:
            with tarfile.open(self.path, mode="r:gz") as tar:
                for member in tar:
                    kind, rel = _member_kind(member.name)
                    if not member.isfile():
                        raise BackupError(
                            "アーカイブに通常のファイルでないもの(リンク、ディレクトリなど)があります: "
                            f"{member.name!r}。"
                            "復元しません(何も変更していません)。"
                        )
                    if member.name in found or (kind == "manifest" and manifest_bytes is not None):
                        raise BackupError(f"アーカイブに同じ名前が2度あります: {member.name!r}。")
                    src = tar.extractfile(member)
                    if kind == "manifest":
                        if member.size > MANIFEST_MAX_BYTES:
                            raise BackupError(
                                "manifest.json が大きすぎます。このポータルのバックアップではありません。"
                            )
                        manifest_bytes = src.read()
                        continue
                    if kind == "rows":
                        dest = self.rows
                    else:
                        staging = self._staging()
                        dest = staging.joinpath(*rel.parts)
                        if not dest.resolve().is_relative_to(staging.resolve()):
                            raise BackupError(f"アーカイブに media/ の外を指すパスがあります: {member.name!r}。")
                        dest.parent.mkdir(parents=True, exist_ok=True)
                    found[member.name] = self._copy(src, dest, int(member.mtime))
                # Read on to the end of the gzip stream: its CRC and length are checked there.
                while tar.fileobj.read(CHUNK):
                    pass
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise BackupError(
                f"アーカイブを最後まで読めません(壊れているか、途中で切れています): {self.path}({exc})。"
                "復元しません(何も変更していません)。"
            ) from exc
        if manifest_bytes is None:
            raise BackupError(
                "アーカイブに manifest.json がありません"
                f"(途中で切れているか、このポータルのバックアップではありません): {self.path}"
            )
        try:
            manifest = json.loads(manifest_bytes)
        except ValueError as exc:
            raise BackupError(f"manifest.json を読めません: {exc}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BackupError("このポータルのバックアップではありません(manifest.json の format が違います)。")
        if manifest.get("version") != FORMAT_VERSION:
            raise BackupError(
                f"このアーカイブの形式(版 {manifest.get('version')})は、"
                f"このポータルでは読めません(版 {FORMAT_VERSION})。"
            )
        shape = {"created_at": str, "database": str, "migrations": dict, "tables": dict, "media": bool, "files": dict}
        if any(not isinstance(manifest.get(key), kind) for key, kind in shape.items()) or any(
            not isinstance(t, dict) or not isinstance(t.get("rows"), int) for t in manifest["tables"].values()
        ):
            raise BackupError("manifest.json の中身が足りないか、形が違います。このアーカイブは復元できません。")
        listed = manifest["files"]
        missing = sorted(set(listed) - set(found))
        extra = sorted(set(found) - set(listed))
        if missing or extra:
            raise BackupError(
                "アーカイブの中身が manifest.json と一致しません"
                + (f"。足りないもの: {', '.join(missing[:10])}" if missing else "")
                + (f"。manifest.json にないもの: {', '.join(extra[:10])}" if extra else "")
                + "。復元しません(何も変更していません)。"
            )
        bad = sorted(name for name, got in found.items() if got != listed[name])
        if bad:
            raise BackupError(
                f"チェックサムまたはサイズが manifest.json と一致しません: {', '.join(bad[:10])}。"
                "アーカイブが壊れています。復元しません(何も変更していません)。"
            )
        if ROWS not in found:
            raise BackupError("アーカイブにデータベースの内容(database/rows.jsonl)がありません。")
        self.manifest = manifest
        return manifest

    @property
    def media_names(self) -> list[str]:
        return [name for name in self.manifest.get("files", {}) if name.startswith(MEDIA)]


def check_migrations(manifest: dict, using: str = DEFAULT_DB_ALIAS) -> int:
    """Refuse an archive whose applied migrations differ from the database's; returns how many."""
    ours = {(app, name) for app, names in applied_migrations(using).items() for name in names}
    theirs = {(app, name) for app, names in (manifest.get("migrations") or {}).items() for name in names}
    if ours == theirs:
        return len(ours)
    if not ours:
        raise BackupError(
            f"このデータベース({database_label(using)})にはマイグレーションが適用されていません。"
            "先に manage.py migrate を実行してから、もう一度復元してください。"
        )

    def names(pairs):
        pairs = sorted(pairs)
        shown = ", ".join(f"{app}.{name}" for app, name in pairs[:12])
        return shown + (f" ほか {len(pairs) - 12} 件" if len(pairs) > 12 else "")

    only_archive, only_db = theirs - ours, ours - theirs
    raise BackupError(
        "アーカイブとこのデータベースとで、適用済みのマイグレーションが一致しません。復元しません(何も変更していません)。"
        + (f"\n  アーカイブにだけあるもの: {names(only_archive)}" if only_archive else "")
        + (f"\n  データベースにだけあるもの: {names(only_db)}" if only_db else "")
        + "\nバックアップを作ったときと同じ版のポータルで、"
        "同じマイグレーションまで適用したデータベースに復元してください"
        "(manage.py migrate <アプリ> <マイグレーション名> で合わせられます)。"
    )


# Restoring ---------------------------------------------------------------------------------


class MediaSwap:
    """Move MEDIA_ROOT's entries aside and the restored ones in (renames inside MEDIA_ROOT, which
    may be a mount point); ``undo()`` puts everything back, ``discard()`` deletes the old files."""

    def __init__(self, root: Path, staging: Path | None):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.staging = staging or Path(tempfile.mkdtemp(prefix=WORK_PREFIX + "new-", dir=root))
        self.previous = Path(tempfile.mkdtemp(prefix=WORK_PREFIX + "old-", dir=root))
        self.moved_out: list[str] = []
        self.moved_in: list[str] = []

    def apply(self) -> None:
        for entry in sorted(os.listdir(self.root)):
            if not entry.startswith(WORK_PREFIX):
                os.rename(self.root / entry, self.previous / entry)
                self.moved_out.append(entry)
        for entry in sorted(os.listdir(self.staging)):
            os.rename(self.staging / entry, self.root / entry)
            self.moved_in.append(entry)

    def undo(self) -> None:
        for entry in reversed(self.moved_in):
            os.rename(self.root / entry, self.staging / entry)
        self.moved_in = []
        for entry in reversed(self.moved_out):
            os.rename(self.previous / entry, self.root / entry)
        self.moved_out = []
        shutil.rmtree(self.previous, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.previous, ignore_errors=True)
        shutil.rmtree(self.staging, ignore_errors=True)


def _insert(model, objs, using: str) -> None:
    connection = connections[using]
    fields = [f for f in model._meta.local_concrete_fields if not f.generated]
    size = max(1, min(BATCH, connection.ops.bulk_batch_size(fields, objs)))
    for start in range(0, len(objs), size):
        # What Model.save_base(raw=True) does for one row, for a batch: the values as they are,
        # no auto_now, no upload, no signal.
        QuerySet(model=model, using=using)._insert(objs[start : start + size], fields=fields, raw=True, using=using)


def load_rows(path: Path, models_by_label: dict, using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    counts = dict.fromkeys(models_by_label, 0)
    batch, batch_model = [], None
    with open(path, encoding="utf-8") as stream:
        try:
            for item in serializers.deserialize("jsonl", stream, using=using):
                obj = item.object
                label = obj._meta.label_lower
                if label not in models_by_label:
                    raise BackupError(f"アーカイブのデータに、復元の対象でない表 {label} の行があります。")
                if batch_model is not type(obj) or len(batch) >= BATCH:
                    if batch:
                        _insert(batch_model, batch, using)
                    batch, batch_model = [], type(obj)
                batch.append(obj)
                counts[label] += 1
        except serializers.base.DeserializationError as exc:
            raise BackupError(f"アーカイブのデータを読めません: {exc}") from exc
        if batch:
            _insert(batch_model, batch, using)
    return counts


@dataclass
class RestoreResult:
    rows: int
    tables: int
    rebuilt: dict[str, int]
    media_files: int
    seconds: float


def restore(archive: Archive, *, using: str = DEFAULT_DB_ALIAS, log=lambda message: None) -> RestoreResult:
    """Replace the database's rows and MEDIA_ROOT with the archive's (``archive.read()`` first)."""
    started = time.perf_counter()
    manifest = archive.manifest
    if manifest.get("media"):
        check_media_storage(restoring=True)
    connection = connections[using]
    models = backed_up_models(using)
    by_label = {m._meta.label_lower: m for m in models}
    archived = set(manifest.get("tables") or {})
    if archived != set(by_label):
        only_archive, only_here = sorted(archived - set(by_label)), sorted(set(by_label) - archived)
        raise BackupError(
            "アーカイブとこのポータルとで、表(モデル)の一覧が一致しません。復元しません(何も変更していません)。"
            + (f"\n  アーカイブにだけあるもの: {', '.join(only_archive)}" if only_archive else "")
            + (f"\n  このポータルにだけあるもの: {', '.join(only_here)}" if only_here else "")
        )
    flushed = models + transient_models(using)
    check_tables(flushed, using)
    swap = None
    rebuilt = {}
    try:
        with transaction.atomic(using=using):
            with raw_rows(flushed):
                # DELETE, not TRUNCATE: until the commit the site goes on reading the old rows
                # (TRUNCATE would lock PostgreSQL's tables against readers for the whole restore).
                # The foreign keys are checked at the commit (Django makes them DEFERRABLE).
                with connection.cursor() as cursor:
                    for model in flushed:
                        table = connection.ops.quote_name(model._meta.db_table)
                        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - a table name from the app registry
                loaded = load_rows(archive.rows, by_label, using)
            seconds = time.perf_counter() - started
            log(f"  {sum(loaded.values()):,} 行を読み込みました({len(loaded)} 表、{seconds:.1f} 秒)。")
            wrong = []
            for label, n in sorted(loaded.items()):
                expected = manifest["tables"][label]["rows"]
                count = QuerySet(model=by_label[label], using=using).count()
                if not expected == n == count:
                    wrong.append(f"{label}(アーカイブ {expected:,} 行、読み込み {n:,} 行、表に {count:,} 行)")
            if wrong:
                raise BackupError("行数が manifest.json と一致しません: " + "; ".join(wrong[:10]))
            connection.check_constraints(table_names=[m._meta.db_table for m in models])
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), models):
                    cursor.execute(sql)
            for command, done, model_label in REBUILD_COMMANDS:
                step = time.perf_counter()
                call_command(command, verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())
                rebuilt[command] = QuerySet(model=apps.get_model(model_label), using=using).count()
                log(f"  {done}({rebuilt[command]:,} 件、{time.perf_counter() - step:.1f} 秒)。")
            # Rows came in with model signals off: every stored page is old (portal/pagecache.py).
            transaction.on_commit(pagecache.bump_all, using=using)
            if manifest.get("media"):
                swap = MediaSwap(archive.media_root, archive.staging)
                archive.staging = swap.staging
                swap.apply()
    except BaseException:
        if swap:
            swap.undo()
        raise
    if swap:
        swap.discard()
        archive.staging = None
    if apps.is_installed("django.contrib.contenttypes"):
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()
    return RestoreResult(
        rows=sum(loaded.values()),
        tables=len(loaded),
        rebuilt=rebuilt,
        media_files=len(archive.media_names),
        seconds=time.perf_counter() - started,
    )


def human_bytes(size: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}{unit}"
    return f"{size}B"
