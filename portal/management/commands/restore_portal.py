"""Replace the database and the uploaded files with the contents of a backup_portal archive.

    manage.py restore_portal var/backups/portal-YYYYmmdd-HHMMSS.tar.gz [--no-input]

The whole archive is read and checked before anything changes; the rows are replaced in one
transaction, and the search index and the case list's facet counts are rebuilt (portal/backup.py,
docs/operations.md "Backup and restore").
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from portal import backup


class Command(BaseCommand):
    help = (
        "backup_portal のアーカイブから、データベースの全表とアップロードファイル(MEDIA_ROOT)を復元します。"
        "今ある内容はすべて置き換わります。"
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="backup_portal が作ったアーカイブ(.tar.gz)")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="確認せずに復元する(make restore では CONFIRM=yes)",
        )

    def handle(self, *args, archive, interactive, **options):
        verbose = options["verbosity"] > 0
        media_root = backup.media_root()
        opened = backup.Archive(Path(archive), media_root)
        try:
            if verbose:
                self.stdout.write(f"アーカイブを読んで検証しています: {archive}")
            try:
                manifest = opened.read()
                migrations = backup.check_migrations(manifest)
            except backup.BackupError as exc:
                raise CommandError(str(exc)) from exc
            rows = sum(t["rows"] for t in manifest["tables"].values())
            media = [f for name, f in manifest["files"].items() if name.startswith(backup.MEDIA)]
            if verbose:
                self.stdout.write(
                    f"  {manifest['created_at'][:19].replace('T', ' ')} に"
                    f" {manifest['database']} から作ったバックアップ: "
                    f"{len(manifest['tables'])} 表 {rows:,} 行"
                    + (
                        f"、アップロードファイル {len(media):,} 件 {backup.human_bytes(sum(f['size'] for f in media))}"
                        if manifest["media"]
                        else "(アップロードファイルは入っていません)"
                    )
                )
                self.stdout.write("  チェックサムはすべて一致しました。")
                self.stdout.write(f"  適用済みのマイグレーション({migrations} 件)はこのデータベースと一致しています。")
            if interactive and not self.confirm(manifest, media_root):
                raise CommandError("中止しました。何も変更していません。")
            if verbose:
                self.stdout.write("復元しています…")
            try:
                result = backup.restore(opened, log=self.stdout.write if verbose else lambda message: None)
            except (backup.BackupError, DatabaseError, OSError) as exc:
                raise CommandError(
                    f"復元できませんでした。データベースとアップロードファイルは元のままです。\n  {exc}"
                ) from exc
        finally:
            opened.cleanup()
        if manifest["media"] and verbose:
            self.stdout.write(f"  アップロードファイルを置き換えました({result.media_files:,} 件、{media_root})。")
        if verbose:
            self.stdout.write(
                self.style.SUCCESS(f"復元しました({result.seconds:.1f} 秒)。")
                + "\nログイン中だった利用者は、ログインし直す必要があります。"
                "アプリケーションサーバー(gunicorn)を再起動してください(プロセス内のキャッシュを捨てるため)。"
            )

    def confirm(self, manifest, media_root) -> bool:
        target = f"データベース {backup.database_label()}"
        if manifest["media"]:
            target += f" と アップロードファイル {media_root}"
        self.stdout.write(
            f"\n{target} の今の内容をすべて消して、このバックアップの内容に置き換えます。元には戻せません。"
            "\n(ログイン中の利用者のセッションも消えます。)"
        )
        try:
            answer = input("続けるには yes と入力してください: ")
        except EOFError:
            self.stderr.write(
                "入力がありません。確認なしで復元するには --no-input(make restore では CONFIRM=yes)を付けます。"
            )
            return False
        return answer.strip() == "yes"
