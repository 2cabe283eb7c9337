"""`manage.py backup_portal` and `restore_portal` (portal/backup.py): a round trip that brings back
every row of every table and every uploaded file byte for byte, and the archives a restore refuses
without changing anything."""

import datetime as dt
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings
from django.utils import timezone
from PIL import Image

from casestudies.models import CaseAttachment, CaseImage, CaseStudy
from expertnet.models import Expert
from portal import backup
from portal.models import Municipality, NewsItem, Page
from portal.sample_data import generate_cases, generate_experts, generate_news
from portal.search.engine import search
from portal.search.query import parse

# Computed from the other tables: compared by content (their ids are new after a rebuild).
DERIVED = {"portal.searchentry", "portal.searchtokens", "casestudies.facetcell", "casestudies.facetstate"}
SESSIONS = "sessions.session"
CACHE_VERSIONS = "portal.cachetag"
PDF = b"%PDF-1.7\n% sample attachment\n" + bytes(range(256)) * 8


def png(size=(640, 400), color="#3a7d44") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


# What the database holds, read with SQL ------------------------------------------------------


def every_model():
    """Every model with a table of its own, m2m tables included (found here, not by portal.backup)."""
    return [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy and not m._meta.swapped
    ]


def table_rows(model) -> list[tuple]:
    """Every row, every column, as the database stores it: no model descriptors in between."""
    opts, qn = model._meta, connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in opts.local_concrete_fields)
    order = ", ".join(qn(f.column) for f in opts.pk_fields)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {qn(opts.db_table)} ORDER BY {order}")
        return cursor.fetchall()


def rows_without_id(model) -> list[tuple]:
    opts, qn = model._meta, connection.ops.quote_name
    columns = [f.column for f in opts.local_concrete_fields if not f.primary_key]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(map(qn, columns))} FROM {qn(opts.db_table)}")
        return sorted(cursor.fetchall(), key=repr)


def search_tokens() -> list[tuple]:
    """PostgreSQL's token rows by the entry they belong to (empty on SQLite, where FTS5 holds them)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.kind, e.object_id, e.language, t.tokens, t.title_tokens FROM portal_searchtokens t "
            "JOIN portal_searchentry e ON e.id = t.entry_id"
        )
        return sorted(cursor.fetchall(), key=repr)


def search_hits(q: str) -> list[tuple]:
    """What the search engine finds (FTS5 on SQLite, GIN on PostgreSQL), in order."""
    found = []
    for language in ("ja", "en"):
        for group in search(parse(q), language=language, limit=200).groups:
            found.append((language, group.kind.key, group.count, [(h.kind, h.object_id) for h in group.hits]))
    return found


def state(media: Path) -> dict:
    """The whole database and every file under MEDIA_ROOT."""
    tables = {m._meta.label_lower: table_rows(m) for m in every_model() if m._meta.label_lower not in DERIVED}
    derived = {label: rows_without_id(apps.get_model(label)) for label in DERIVED - {"casestudies.facetstate"}}
    files = {p.relative_to(media).as_posix(): p.read_bytes() for p in sorted(media.rglob("*")) if p.is_file()}
    return {
        "tables": tables,
        "derived": derived,
        "tokens": search_tokens(),
        "hits": search_hits("サンプル") + search_hits("sample"),
        "files": files,
    }


def exact_state(media: Path) -> dict:
    """Every row of every table (the derived ones with their ids too) and every file: after a
    refused or failed restore nothing moved."""
    return {
        "tables": {m._meta.label_lower: table_rows(m) for m in every_model()},
        "files": {p.relative_to(media).as_posix(): p.read_bytes() for p in sorted(media.rglob("*")) if p.is_file()},
    }


# Content ------------------------------------------------------------------------------------


def populate(media: Path) -> None:
    """Sample content from the generators, uploaded files, accounts and a session, on top of what the
    migrations loaded."""
    generate_news(12, seed=7)
    generate_cases(12, seed=7)
    generate_experts(12, seed=7)
    case = CaseStudy.objects.filter(is_sample=True).order_by("pk").first()
    CaseImage.objects.create(
        case=case,
        image=SimpleUploadedFile("棚田.png", png()),
        alt_ja="棚田の写真",
        alt_en="Rice terraces",
        licence="提供 町",
    )
    CaseAttachment.objects.create(case=case, title_ja="報告書", file=SimpleUploadedFile("report.pdf", PDF))
    editor = User.objects.create_user("editor", "editor@example.jp", "correct horse battery", is_staff=True)
    editor.groups.add(Group.objects.order_by("pk").first())
    session = SessionStore()
    session["note"] = "logged in"
    session.create()
    # The column django-modeltranslation keeps under `title` is read and written as a translation
    # of it through the model: a backup must keep the stored value itself.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE portal_page SET title = %s WHERE slug = %s", ["About (saved in English)", "about"])
    assert len(list(media.rglob("*.*"))) >= 3  # the image, its rendition(s), the attachment


def change_everything(media: Path) -> None:
    """What happens after the backup: edits, deletions, additions, rows and files."""
    page = Page.objects.get(slug="about")
    page.title_ja = "変更した題名"
    page.save()
    CaseStudy.objects.filter(
        pk__in=list(CaseStudy.objects.filter(is_sample=True).values_list("pk", flat=True)[:4])
    ).delete()
    NewsItem.objects.filter(is_sample=True).delete()
    NewsItem.objects.create(
        slug="after-backup",
        title_ja="バックアップの後の新着",
        body_ja="本文",
        state="published",
        published_at=timezone.now(),
    )
    place = Municipality.objects.order_by("code").first()
    place.name = "変更した市"
    place.save()
    Expert.objects.filter(is_sample=True).order_by("pk").first().themes.clear()
    User.objects.create_user("after-backup", password="another long password")
    Group.objects.order_by("pk").first().user_set.clear()
    for path in sorted(media.rglob("*.png")):
        path.unlink()
    for path in sorted(media.rglob("*.pdf")):
        path.write_bytes(b"%PDF-1.7 overwritten")
    (media / "stray.txt").write_text("added after the backup")


def make_backup(tmp_path: Path, *extra) -> Path:
    out = io.StringIO()
    call_command("backup_portal", "--output-dir", str(tmp_path / "backups"), *extra, stdout=out)
    assert "バックアップを作りました" in out.getvalue()
    path = Path(out.getvalue().strip().rsplit(": ", 1)[-1])
    assert path.is_file() and path.parent == tmp_path / "backups"
    assert path.name.startswith("portal-") and path.name.endswith(".tar.gz")
    return path


def restore(path: Path, *extra) -> str:
    out = io.StringIO()
    call_command("restore_portal", str(path), "--no-input", *extra, stdout=out)
    return out.getvalue()


def restored_models():
    return [m for m in every_model() if m._meta.label_lower not in DERIVED]


def reset_sequences_to_start() -> None:
    """As in a database made from scratch: the id sequence of every restored table starts at 1."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in restored_models():
                pk = model._meta.pk
                if pk.get_internal_type() in ("AutoField", "BigAutoField", "SmallAutoField"):
                    cursor.execute(
                        "SELECT setval(pg_get_serial_sequence(%s, %s), 1, false)", [model._meta.db_table, pk.column]
                    )
        else:
            tables = [m._meta.db_table for m in restored_models()]
            cursor.execute(
                f"UPDATE sqlite_sequence SET seq = 0 WHERE name IN ({', '.join(['%s'] * len(tables))})", tables
            )


def next_ids_are_free() -> list[str]:
    """Restored tables whose next generated id is already taken."""
    taken = []
    with connection.cursor() as cursor:
        for model in restored_models():
            pk = model._meta.pk
            if pk.get_internal_type() not in ("AutoField", "BigAutoField", "SmallAutoField"):
                continue
            qn, table = connection.ops.quote_name, model._meta.db_table
            cursor.execute(f"SELECT MAX({qn(pk.column)}) FROM {qn(table)}")
            highest = cursor.fetchone()[0]
            if highest is None:
                continue
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk.column])
                cursor.execute(f"SELECT last_value, is_called FROM {cursor.fetchone()[0]}")
                last, called = cursor.fetchone()
                upcoming = last + 1 if called else last
            else:
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                upcoming = (cursor.fetchone() or [0])[0] + 1
            if upcoming <= highest:
                taken.append(f"{table}: next {upcoming}, max {highest}")
    return taken


# Rewriting archives, for the refusals --------------------------------------------------------


def members(path: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(path, "r:gz") as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]


def rewrite(src: Path, dst: Path, *, rows=None, manifest=None, extra=(), fix_checksums=True) -> Path:
    """A copy of ``src`` with its rows or manifest edited and members added; the manifest's sizes
    and checksums are made to match unless ``fix_checksums`` is False."""
    items = members(src)
    meta = json.loads(next(data for info, data in items if info.name == backup.MANIFEST))
    if manifest:
        manifest(meta)
    body = [(info, data) for info, data in items if info.name != backup.MANIFEST]
    if rows:
        body = [(info, rows(data) if info.name == backup.ROWS else data) for info, data in body]
    body += list(extra)
    if fix_checksums:
        for info, data in body:
            if data is not None:
                meta["files"][info.name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest_bytes = json.dumps(meta, ensure_ascii=False).encode()
    with tarfile.open(dst, "w:gz") as tar:
        for info, data in [*body, (tarfile.TarInfo(backup.MANIFEST), manifest_bytes)]:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return dst


def file_member(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


# The round trip ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_restore_brings_back_every_row_and_every_file(media_root, tmp_path):
    populate(media_root)
    before = state(media_root)
    assert before["tables"][SESSIONS]
    # The comparison covers every table Django made, and they hold what the test relies on.
    covered = {m._meta.db_table for m in every_model()}
    assert covered == set(connection.introspection.django_table_names(only_existing=True))
    for label in (
        "contenttypes.contenttype",
        "auth.permission",
        "auth.user_groups",
        "casestudies.casestudy_municipalities",
        "casestudies.casestudy_themes",
        "casestudies.caseimage",
        "expertnet.dispatch",
        "portal.municipality",
    ):
        assert before["tables"][label], label
    assert before["derived"]["portal.searchentry"] and before["derived"]["casestudies.facetcell"]

    archive = make_backup(tmp_path)
    manifest = json.loads(next(d for i, d in members(archive) if i.name == backup.MANIFEST))
    assert manifest["tables"]["portal.newsitem"]["rows"] == len(before["tables"]["portal.newsitem"])
    assert {n for n in manifest["files"] if n.startswith("media/")} == {f"media/{n}" for n in before["files"]}

    change_everything(media_root)
    reset_sequences_to_start()
    changed = state(media_root)
    for part in ("tables", "derived", "hits", "files"):
        assert changed[part] != before[part], part

    output = restore(archive)
    assert "復元しました" in output and "検索索引を作り直しました" in output

    after = state(media_root)
    assert after["tables"].pop(SESSIONS) == []  # sessions are not restored: everyone signs in again
    # The page cache's versions start again, from the restore's marks: every stored page is old.
    assert "all" in [row[1] for row in after["tables"].pop(CACHE_VERSIONS)]  # (id, tag, version)
    before["tables"].pop(CACHE_VERSIONS)
    before["tables"].pop(SESSIONS)
    for label, rows in before["tables"].items():
        assert after["tables"][label] == rows, label
    assert after["tables"].keys() == before["tables"].keys()
    assert after["derived"] == before["derived"]
    assert after["tokens"] == before["tokens"]
    assert after["hits"] == before["hits"]
    assert after["files"].keys() == before["files"].keys()
    for name, data in before["files"].items():
        assert after["files"][name] == data, name
    assert not [p for p in media_root.iterdir() if p.name.startswith(".portal-restore-")]

    # The next rows get ids of their own: the sequences were set past the restored rows.
    assert next_ids_are_free() == []
    news = NewsItem.objects.create(slug="after-restore", title_ja="復元の後", body_ja="本文", state="published")
    assert news.pk > max(row[0] for row in before["tables"]["portal.newsitem"])
    User.objects.get(username="editor").groups.add(Group.objects.order_by("pk").last())
    SessionStore().create()
    # …and the search index follows them again.
    assert next(h for h in search_hits("復元の後") if h[0] == "ja" and h[1] == "news")[2] == 1


# Refusals: nothing changes -------------------------------------------------------------------


MEDIA_FILES = {"casestudies/棚田.png": png(), "documents/report.pdf": PDF}


@pytest.fixture(scope="module")
def shared_archive(django_db_setup, django_db_blocker, tmp_path_factory) -> Path:
    """One backup of the test database and two files, for the archives a restore refuses (which
    never get as far as the rows)."""
    folder = tmp_path_factory.mktemp("shared")
    for name, data in MEDIA_FILES.items():
        (folder / "media" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "media" / name).write_bytes(data)
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=folder / "media"):
        return make_backup(folder)


@pytest.fixture
def archive(db, media_root, shared_archive) -> Path:
    for name, data in MEDIA_FILES.items():
        (media_root / name).parent.mkdir(parents=True, exist_ok=True)
        (media_root / name).write_bytes(data)
    return shared_archive


def refused(path: Path, media_root: Path, *extra) -> str:
    before = exact_state(media_root)
    with pytest.raises(CommandError) as exc:
        restore(path, *extra)
    assert exact_state(media_root) == before
    assert not [p for p in media_root.iterdir() if p.name.startswith(".portal-restore-")]
    return str(exc.value)


def test_a_truncated_archive_is_refused(archive, media_root, tmp_path):
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    assert "壊れているか、途中で切れています" in refused(cut, media_root)


def test_a_damaged_archive_is_refused(archive, media_root, tmp_path):
    data = bytearray(archive.read_bytes())
    data[-6] ^= 0xFF  # the gzip trailer: the CRC-32 of everything before it
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(bytes(data))
    assert "壊れているか、途中で切れています" in refused(damaged, media_root)
    data[-6] ^= 0xFF
    data[len(data) // 3] ^= 0xFF  # inside the compressed rows: whatever breaks first, nothing is restored
    damaged.write_bytes(bytes(data))
    message = refused(damaged, media_root)
    assert any(words in message for words in ("壊れ", "途中で切れ", "一致しません")), message


def test_a_changed_row_fails_its_checksum(archive, media_root, tmp_path):
    edited = rewrite(
        archive,
        tmp_path / "edited.tar.gz",
        rows=lambda data: data.replace("地域力創造グループについて".encode(), "書き換えた題名".encode(), 1),
        fix_checksums=False,
    )
    message = refused(edited, media_root)
    assert "チェックサムまたはサイズが manifest.json と一致しません: database/rows.jsonl" in message


def test_an_archive_without_manifest_is_refused(archive, media_root, tmp_path):
    items = [(i, d) for i, d in members(archive) if i.name != backup.MANIFEST]
    bare = tmp_path / "bare.tar.gz"
    with tarfile.open(bare, "w:gz") as tar:
        for info, data in items:
            tar.addfile(info, io.BytesIO(data))
    assert "manifest.json がありません" in refused(bare, media_root)


def test_a_manifest_of_another_shape_is_refused(archive, media_root, tmp_path):
    odd = rewrite(archive, tmp_path / "odd.tar.gz", manifest=lambda m: m["tables"].update({"auth.user": 3}))
    assert "manifest.json の中身が足りないか、形が違います" in refused(odd, media_root)


def test_not_a_gzip_file_is_refused(archive, media_root, tmp_path):
    plain = tmp_path / "plain.tar.gz"
    plain.write_bytes(gzip.decompress(archive.read_bytes())[:4096])
    assert "壊れているか" in refused(plain, media_root)


@pytest.mark.parametrize(
    "name",
    ["media/../../escaped.txt", "../escaped.txt", "media/a/../../../escaped.txt", "ABSOLUTE", "escaped.txt", "media/"],
)
def test_a_member_outside_media_is_refused(archive, media_root, tmp_path, name):
    name = str(tmp_path / "escaped.txt") if name == "ABSOLUTE" else name
    evil = rewrite(archive, tmp_path / "evil.tar.gz", extra=[file_member(name, b"escaped")])
    assert "media/ の外を指すパス" in refused(evil, media_root)
    assert not list(tmp_path.parent.rglob("escaped.txt"))


def test_a_link_in_the_archive_is_refused(archive, media_root, tmp_path):
    link = tarfile.TarInfo("media/passwd")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    evil = rewrite(archive, tmp_path / "link.tar.gz", extra=[(link, None)])
    assert "通常のファイルでないもの" in refused(evil, media_root)
    assert not (media_root / "passwd").exists()


def test_an_archive_of_other_migrations_is_refused(archive, media_root, tmp_path):
    newer = rewrite(
        archive, tmp_path / "newer.tar.gz", manifest=lambda m: m["migrations"]["portal"].append("9999_from_the_future")
    )
    message = refused(newer, media_root)
    assert "適用済みのマイグレーションが一致しません" in message
    assert "アーカイブにだけあるもの: portal.9999_from_the_future" in message


def test_a_database_at_other_migrations_refuses_the_archive(archive, media_root):
    last = MigrationRecorder.Migration.objects.filter(app="expertnet").order_by("-name").first()
    last.delete()  # this database is one migration behind the archive
    message = refused(archive, media_root)
    assert f"アーカイブにだけあるもの: expertnet.{last.name}" in message


def test_the_operator_can_say_no(archive, media_root, monkeypatch):
    before = exact_state(media_root)
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    out = io.StringIO()
    with pytest.raises(CommandError, match="中止しました。何も変更していません。"):
        call_command("restore_portal", str(archive), stdout=out)
    assert "今の内容をすべて消して" in out.getvalue()

    def no_terminal(prompt):
        raise EOFError

    monkeypatch.setattr("builtins.input", no_terminal)
    with pytest.raises(CommandError, match="中止しました"):
        call_command("restore_portal", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    assert exact_state(media_root) == before


def test_a_database_only_backup_leaves_the_files_alone(archive, media_root, tmp_path):
    archive = make_backup(tmp_path, "--database-only")
    assert not [i.name for i, _ in members(archive) if i.name.startswith("media/")]
    page = Page.objects.get(slug="accessibility")
    page.title_ja = "変更した題名"
    page.save()
    (media_root / "stray.txt").write_text("kept")
    files = {p: p.read_bytes() for p in media_root.rglob("*") if p.is_file()}
    output = restore(archive)
    assert "アップロードファイルは入っていません" in output
    assert Page.objects.get(slug="accessibility").title_ja == "ウェブアクセシビリティ方針"
    assert {p: p.read_bytes() for p in media_root.rglob("*") if p.is_file()} == files


# A restore that fails half-way: the old data stays -------------------------------------------


def duplicate_a_row(data: bytes) -> bytes:
    lines = data.splitlines(keepends=True)
    page = next(line for line in lines if line.startswith(b'{"model": "portal.page"'))
    return b"".join([*lines, page])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_restore_leaves_everything_as_it_was(media_root, tmp_path, monkeypatch):
    for name, data in MEDIA_FILES.items():
        (media_root / name).parent.mkdir(parents=True, exist_ok=True)
        (media_root / name).write_bytes(data)
    archive = make_backup(tmp_path)
    change_everything(media_root)
    before = exact_state(media_root)
    failed = "復元できませんでした。データベースとアップロードファイルは元のままです。"

    # A row that cannot be inserted, at the very end of the rows (the checksums are right).
    duplicate = rewrite(archive, tmp_path / "duplicate.tar.gz", rows=duplicate_a_row)
    with pytest.raises(CommandError, match=failed):
        restore(duplicate)
    assert exact_state(media_root) == before

    # The last step fails: every row is loaded, the index and the counts are rebuilt and the files
    # are moved in, but the transaction has not committed.
    original = backup.MediaSwap.apply

    def apply_then_fail(self):
        original(self)
        assert not (media_root / "stray.txt").exists()  # the restored files are in place
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(backup.MediaSwap, "apply", apply_then_fail)
    with pytest.raises(CommandError, match=failed):
        restore(archive)
    assert exact_state(media_root) == before
    assert not [p for p in media_root.iterdir() if p.name.startswith(".portal-restore-")]
    assert NewsItem.objects.filter(slug="after-backup").exists()


def test_times_keep_their_microseconds():
    moment = dt.datetime(2026, 4, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
    encoded = json.dumps({"t": moment, "clock": moment.time()}, cls=backup.ExactJSONEncoder)
    assert json.loads(encoded) == {"t": "2026-04-01T09:30:15.123456+00:00", "clock": "09:30:15.123456"}
