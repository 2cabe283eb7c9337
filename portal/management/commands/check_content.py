import json
from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from portal.content_check import KIND_LABELS, LANGUAGE_LABELS, LANGUAGES, check_content


class Command(BaseCommand):
    help = (
        "List broken internal links, missing files and missing alt text in the content editors write "
        "(programs with their links, documents and meetings; site pages; news; case studies with their "
        "links, images and attachments; experts; seminars), in Japanese and English, drafts included "
        "and marked 下書き. Links on this site (relative, or to a host of ALLOWED_HOSTS/SITE_URL) are "
        "requested in-process as an anonymous visitor: 400 or more is broken; /media/ links are looked "
        "up in the media storage, /static/ links with the static file finders. External links are NOT "
        "checked (no network is used); the summary counts them. Exits with status 1 when it finds a "
        "problem, 0 otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
        parser.add_argument(
            "--language",
            choices=LANGUAGES,
            help="check only this language's text (URLs and files both languages share are always checked)",
        )

    def handle(self, *args, **options):
        languages = (options["language"],) if options["language"] else LANGUAGES
        result = check_content(languages)
        if options["format"] == "json":
            self.stdout.write(json.dumps(self._as_json(result), ensure_ascii=False, indent=2))
        else:
            self._write_text(result)
        problems = len(result.problems)
        if problems:
            raise CommandError(f"問題が {problems} 件見つかりました。", returncode=1)

    def _write_text(self, result):
        for item in result.items:
            status = f"【{item.status}】" if item.status else ""
            self.stdout.write(f"{item.verbose_name}「{item.title}」{status} {item.admin_url}")
            for problem in item.problems:
                self.stdout.write(f"  {problem.field}: {problem.message}: {problem.target}")
            self.stdout.write("")
        self.stdout.write(self._summary(result))

    @staticmethod
    def _summary(result) -> str:
        checked = (
            f"確認した項目 {result.items_checked} 件、内部リンク {result.internal_urls_checked} 件"
            f"(外部リンク {result.external_urls_not_checked} 件は確認していません)。"
        )
        problems = result.problems
        if not problems:
            return f"問題は見つかりませんでした。{checked}"
        kinds = Counter(p.kind for p in problems)
        by_kind = "、".join(f"{label} {kinds[kind]} 件" for kind, label in KIND_LABELS.items() if kinds[kind])
        drafts = sum(1 for item in result.items if item.status == "下書き")
        items = f"{len(result.items)} 件の項目" + (f"(うち下書き {drafts} 件)" if drafts else "")
        return f"問題 {len(problems)} 件({by_kind})、{items}。{checked}"

    @staticmethod
    def _as_json(result) -> dict:
        kinds = Counter(p.kind for p in result.problems)
        return {
            "problems": [
                {
                    "content_type": item.verbose_name,
                    "model": item.model,
                    "id": item.pk,
                    "title": item.title,
                    "status": item.status,
                    "draft": item.status == "下書き",
                    "admin_url": item.admin_url,
                    "field": problem.field,
                    "language": problem.language,
                    "language_label": LANGUAGE_LABELS.get(problem.language, ""),
                    "kind": problem.kind,
                    "message": problem.message,
                    "target": problem.target,
                }
                for item in result.items
                for problem in item.problems
            ],
            "summary": {
                "problems": len(result.problems),
                "items_with_problems": len(result.items),
                "drafts_with_problems": sum(1 for item in result.items if item.status == "下書き"),
                "by_kind": {kind: kinds[kind] for kind in KIND_LABELS if kinds[kind]},
                "items_checked": result.items_checked,
                "internal_urls_checked": result.internal_urls_checked,
                "external_urls_not_checked": result.external_urls_not_checked,
            },
        }
