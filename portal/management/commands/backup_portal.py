"""Write one archive of the whole portal: every table of the database and the uploaded files.

    manage.py backup_portal [--output-dir var/backups] [--database-only]

portal/backup.py describes the archive; docs/operations.md ("Backup and restore") how to use it.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal import backup


class Command(BaseCommand):
    help = (
        "データベースの全表とアップロードファイル(MEDIA_ROOT)を1つのアーカイブ"
        "(var/backups/portal-YYYYmmdd-HHMMSS.tar.gz)に書き出します。"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output-dir",
            default=str(Path(settings.BASE_DIR) / "var" / "backups"),
            help="アーカイブを書き出すフォルダ(既定: var/backups)",
        )
        parser.add_argument(
            "--database-only",
            action="store_true",
            help="データベースだけを書き出す(アップロードファイルを外部のストレージに置いている場合)",
        )

    def handle(self, *args, output_dir, database_only, **options):
        verbose = options["verbosity"] > 0
        if verbose:
            what = "データベース" if database_only else f"データベースとアップロードファイル({backup.media_root()})"
            self.stdout.write(f"{what}を書き出しています({backup.database_label()})…")
        try:
            result = backup.write_backup(Path(output_dir), media=not database_only)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        if not verbose:
            self.stdout.write(str(result.path))
            return
        manifest = result.manifest
        rows = sum(t["rows"] for t in manifest["tables"].values())
        media = [f for name, f in manifest["files"].items() if name.startswith(backup.MEDIA)]
        self.stdout.write(f"  データベース: {len(manifest['tables'])} 表、{rows:,} 行")
        if manifest["media"]:
            self.stdout.write(
                f"  アップロードファイル: {len(media):,} 件、{backup.human_bytes(sum(f['size'] for f in media))}"
            )
        for name in result.skipped:
            self.stderr.write(f"  シンボリックリンクなので入れていません: {name}")
        self.stdout.write(
            self.style.SUCCESS(
                f"バックアップを作りました({backup.human_bytes(result.path.stat().st_size)}、{result.seconds:.1f} 秒): "
                f"{result.path}"
            )
        )
