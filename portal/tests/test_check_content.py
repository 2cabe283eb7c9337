"""manage.py check_content: broken internal links, missing files and missing alt text."""

import datetime as dt
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from casestudies.models import CaseAttachment, CaseImage, CaseLink, CaseStudy
from expertnet.models import Expert
from initiatives.models import Initiative, InitiativeDocument, InitiativeLink, Meeting
from portal import text
from portal.models import Municipality, NewsItem, Page
from portal.publishing import PublishState

pytestmark = pytest.mark.django_db

NOT_FOUND = "リンク先が見つかりません(404)"
NOT_PUBLIC = "リンク先が公開されていません(404)"
NO_FILE = "ファイルが見つかりません"
NO_ALT = "画像に代替テキストがありません"
HIDDEN = "本文中の画像は公開ページに表示されません(本文の画像は取り除かれます)"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = ""
    return tmp_path


def png(name="photo.png"):
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), "#197a4b").save(buf, "PNG")
    return SimpleUploadedFile(name, buf.getvalue())


def make_case(slug, *, state=PublishState.PUBLISHED, **fields):
    case = CaseStudy(
        slug=slug,
        title_ja=f"事例 {slug}",
        summary_ja="概要",
        fiscal_year_start=2020,
        edition=2024,
        prefecture_id="01",
        organisation_ja="テスト町",
        state=state,
        published_at=timezone.now() - dt.timedelta(days=1) if state == PublishState.PUBLISHED else None,
        **fields,
    )
    case.save()
    case.municipalities.set([Municipality.objects.get(code="011002")])
    return case


def make_news(slug, body_ja, body_en="", *, state=PublishState.PUBLISHED):
    return NewsItem.objects.create(
        slug=slug,
        title_ja=f"お知らせ {slug}",
        title_en=f"News {slug}" if body_en else "",
        body_ja=body_ja,
        body_en=body_en,
        state=state,
    )


def run(*args):
    """The command's JSON report and whether it failed (CommandError with return code 1)."""
    out = io.StringIO()
    try:
        call_command("check_content", "--format", "json", *args, stdout=out)
    except CommandError as error:
        assert error.returncode == 1
        failed = True
    else:
        failed = False
    return json.loads(out.getvalue()), failed


def found(report):
    return {(p["title"], p["field"], p["message"], p["target"]) for p in report["problems"]}


def test_the_content_the_migrations_load_has_no_problems(media):
    """A clean database: the programs, site pages, news and sample content the migrations load."""
    assert Initiative.objects.count() == 10 and Page.objects.exists() and CaseStudy.objects.exists()
    report, failed = run()
    assert not failed
    assert report["problems"] == []
    summary = report["summary"]
    assert summary["problems"] == 0
    # It did look: every item, and the internal links of the site pages and news.
    assert summary["items_checked"] >= Initiative.objects.count() + Page.objects.count() + CaseStudy.objects.count()
    assert summary["internal_urls_checked"] >= 10
    assert summary["external_urls_not_checked"] > 0


def test_reports_exactly_the_broken_links_and_missing_alt_text(media):
    make_case("good-target")
    make_case("draft-target", state=PublishState.DRAFT)
    (media / "documents").mkdir()
    (media / "documents" / "present.pdf").write_bytes(PDF)
    make_news(
        "links",
        "\n".join(
            [
                "[公開中の事例](/casestudies/good-target/)",
                "[英語の公開中の事例](/en/casestudies/good-target/)",
                "[無い事例](/casestudies/no-such-case/)",
                "[下書きの事例](/casestudies/draft-target/)",
                "[知らないパス](/no/such/path/)",
                "[ある資料](/media/documents/present.pdf)",
                "[無い資料](/media/documents/missing.pdf)",
                "[ある静的ファイル](/static/css/portal.css)",
                "[外部](https://www.soumu.go.jp/no-such-page.html)",
                "[同じサイトの絶対URL](http://testserver/casestudies/no-such-case-2/)",
                "[ページ内](#top) [メール](mailto:chiiki@example.go.jp)",
                "",
                "![](/media/map.png)",
            ]
        ),
        '[Case](/en/casestudies/no-such-case/)\n\n<img src="/media/raw.png">',
    )
    captioned = make_case("captioned", title_en="Captioned case", summary_en="Summary")
    CaseImage.objects.create(
        case=captioned, image=png("terraces.png"), alt_ja="棚田の写真", alt_en="", licence="提供 町"
    )
    japanese_only = make_case("japanese-only")
    CaseImage.objects.create(
        case=japanese_only, image=png("field.png"), alt_ja="畑の写真", alt_en="", licence="提供 町"
    )

    report, failed = run()

    assert failed
    news, case = "お知らせ links", "事例 captioned"
    assert found(report) == {
        (news, "本文(日本語)", NOT_FOUND, "/casestudies/no-such-case/"),
        (news, "本文(日本語)", NOT_PUBLIC, "/casestudies/draft-target/"),
        (news, "本文(日本語)", NOT_FOUND, "/no/such/path/"),
        (news, "本文(日本語)", NO_FILE, "/media/documents/missing.pdf"),
        (news, "本文(日本語)", NOT_FOUND, "http://testserver/casestudies/no-such-case-2/"),
        (news, "本文(日本語)", HIDDEN, "/media/map.png"),
        (news, "本文(英語)", NOT_FOUND, "/en/casestudies/no-such-case/"),
        (news, "本文(英語)", HIDDEN, "/media/raw.png"),
        (case, "画像「terraces.png」の代替テキスト(英語)", NO_ALT, "/media/casestudies/terraces.png"),
    }
    problem = next(p for p in report["problems"] if p["title"] == news)
    news_item = NewsItem.objects.get(slug="links")
    assert problem["content_type"] == "新着情報"
    assert problem["admin_url"] == reverse("admin:portal_newsitem_change", args=[news_item.pk])
    assert problem["status"] == "" and problem["draft"] is False
    summary = report["summary"]
    assert summary["problems"] == 9 and summary["items_with_problems"] == 2
    assert summary["by_kind"] == {"broken_link": 5, "missing_file": 1, "missing_alt": 1, "hidden_image": 2}
    assert summary["external_urls_not_checked"] >= 1


def test_empty_english_is_not_checked_but_english_text_is(media):
    """No English body: the English page shows the Japanese text, already checked in Japanese."""
    make_news("ja-only", "[無い](/no/such/)")
    report, _ = run()
    assert found(report) == {("お知らせ ja-only", "本文(日本語)", NOT_FOUND, "/no/such/")}
    make_news("both", "本文です。", "[Missing](/en/no/such/)")
    report, _ = run("--language", "en")
    assert found(report) == {("お知らせ both", "本文(英語)", NOT_FOUND, "/en/no/such/")}
    report, _ = run("--language", "ja")
    assert found(report) == {("お知らせ ja-only", "本文(日本語)", NOT_FOUND, "/no/such/")}


def test_relative_links_are_read_from_the_page_they_are_on(media):
    Page.objects.create(
        slug="guide",
        title_ja="案内",
        body_ja="[事例集](../casestudies/) [続き](more/)",
        title_en="Guide",
        body_en="[Cases](../casestudies/) [More](more/)",
        state=PublishState.PUBLISHED,
    )
    report, _ = run()
    assert found(report) == {
        ("案内", "本文(日本語)", NOT_FOUND, "more/"),  # /guide/more/
        ("案内", "本文(英語)", NOT_FOUND, "more/"),  # /en/guide/more/
    }


def test_draft_items_are_reported_and_labelled(media, capsys):
    draft = make_news("draft", "[無い](/no/such/page/)", state=PublishState.DRAFT)
    report, _ = run()
    (problem,) = report["problems"]
    assert problem["status"] == "下書き" and problem["draft"] is True
    assert report["summary"]["drafts_with_problems"] == 1

    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "check_content"])
    assert exit_.value.code == 1
    out, err = capsys.readouterr()
    admin_url = reverse("admin:portal_newsitem_change", args=[draft.pk])
    assert f"新着情報「お知らせ draft」【下書き】 {admin_url}\n" in out
    assert f"  本文(日本語): {NOT_FOUND}: /no/such/page/\n" in out
    assert "問題 1 件(リンク切れ 1 件)、1 件の項目(うち下書き 1 件)。" in out
    assert "問題が 1 件見つかりました" in err


def test_clean_run_exits_with_status_zero(media, capsys):
    execute_from_command_line(["manage.py", "check_content"])  # no SystemExit: status 0
    out, _ = capsys.readouterr()
    assert out.startswith("問題は見つかりませんでした。")


def test_programs_with_their_links_documents_and_meetings(media):
    initiative = Initiative.objects.get(title_ja="緑の分権改革")
    InitiativeLink.objects.create(initiative=initiative, label_ja="内部", url="http://localhost/initiatives/none/")
    InitiativeLink.objects.create(initiative=initiative, label_ja="外部", url="https://example.org/none/")
    meeting = Meeting.objects.create(
        initiative=initiative, title_ja="第1回", held_at=timezone.now(), agenda_ja="[資料](/media/gone.pdf)"
    )
    document = InitiativeDocument.objects.create(
        initiative=initiative, meeting=meeting, title_ja="議事次第", file=SimpleUploadedFile("shidai.pdf", PDF)
    )
    (media / document.file.name).unlink()
    initiative.image = png("green.png")
    initiative.image_alt_ja = "田園の写真"
    initiative.image_alt_en = ""
    initiative.save()

    report, failed = run()

    assert failed
    title = "緑の分権改革"
    assert found(report) == {
        (title, "関連リンク「内部」", NOT_FOUND, "http://localhost/initiatives/none/"),
        (title, "資料「議事次第」", NO_FILE, f"/media/{document.file.name}"),
        (title, "会議「第1回」の議事次第(日本語)", NO_FILE, "/media/gone.pdf"),
        (title, "画像の代替テキスト(英語)", NO_ALT, "/media/initiatives/green.png"),
    }
    assert {p["admin_url"] for p in report["problems"]} == {
        reverse("admin:initiatives_initiative_change", args=[initiative.pk])
    }
    assert {p["language"] for p in report["problems"]} == {None, "ja", "en"}


def test_case_links_attachments_and_expert_fields(media):
    case = make_case("with-rows", contact_url="https://example.org/contact/", video_url="/en/casestudies/nothing/")
    CaseLink.objects.create(case=case, label_ja="関連事例", url="/casestudies/with-rows/")
    CaseLink.objects.create(case=case, label_ja="古い事例", url="/casestudies/old-slug/")
    CaseAttachment.objects.create(case=case, title_ja="報告書", file=SimpleUploadedFile("report.pdf", PDF))
    gone = CaseAttachment.objects.create(case=case, title_ja="古い報告書", file=SimpleUploadedFile("old.pdf", PDF))
    (media / gone.file.name).unlink()
    expert = Expert.objects.order_by("pk").first()
    expert.profile_ja = expert.profile_ja + "\n\n[派遣先](/expertnet/municipalities/999999/)"
    expert.photo = png("face.png")
    expert.photo_alt_ja = ""  # but there in English: only the Japanese is missing
    expert.photo_alt_en = "Portrait"
    expert.save()

    report, _ = run()

    assert found(report) == {
        ("事例 with-rows", "動画のURL", NOT_FOUND, "/en/casestudies/nothing/"),
        ("事例 with-rows", "関連リンク「古い事例」", NOT_FOUND, "/casestudies/old-slug/"),
        ("事例 with-rows", "添付資料「古い報告書」", NO_FILE, f"/media/{gone.file.name}"),
        (expert.name_ja, "プロフィール(日本語)", NOT_FOUND, "/expertnet/municipalities/999999/"),
        (expert.name_ja, "写真の代替テキスト(日本語)", NO_ALT, "/media/experts/face.png"),
    }


def test_markdown_images_need_alt_text_where_the_renderer_shows_them(media, monkeypatch):
    """Today the renderer drops images (reported as such); if it kept them, alt text would count."""
    monkeypatch.setattr(text, "ALLOWED_TAGS", text.ALLOWED_TAGS | {"img"})
    monkeypatch.setattr(text, "ALLOWED_ATTRIBUTES", {**text.ALLOWED_ATTRIBUTES, "img": {"src", "alt"}})
    (media / "map.png").write_bytes(b"png")
    make_news("images", '![](/media/map.png)\n\n![地図](/media/map.png)\n\n<img src="/media/none.png" alt="地図">')
    try:
        report, _ = run()
    finally:
        text._render.cache_clear()
    assert found(report) == {
        ("お知らせ images", "本文(日本語)", NO_ALT, "/media/map.png"),
        ("お知らせ images", "本文(日本語)", NO_FILE, "/media/none.png"),
    }


def test_each_url_is_checked_once(media, monkeypatch):
    from portal import content_check

    requested = []
    original = content_check.LinkChecker._check_path

    def counting(self, path, query, hops):
        requested.append(path)
        return original(self, path, query, hops)

    monkeypatch.setattr(content_check.LinkChecker, "_check_path", counting)
    for n in range(3):
        make_news(f"same-{n}", "[無い](/no/such/) [同じ](/no/such/)", "[Missing](/no/such/)")
    report, _ = run()
    assert len(report["problems"]) == 6  # 3 items x (ja, en), once per field
    assert requested.count("/no/such/") == 1


def test_queries_do_not_grow_with_the_items(media, monkeypatch):
    """Reading the content costs the same queries for 2 items of each kind as for 12. (Requesting
    the internal links is left out here: it costs queries per distinct URL, not per item.)"""
    from portal import content_check

    monkeypatch.setattr(content_check.LinkChecker, "_check_path", lambda self, path, query, hops: None)

    def add_cases(start, count):
        for n in range(start, start + count):
            case = make_case(f"bulk-{n}", activities_ja="[外部](https://example.org/)")
            CaseLink.objects.create(case=case, label_ja="外部", url="https://example.org/a/")
            CaseAttachment.objects.create(case=case, title_ja="資料", file=SimpleUploadedFile(f"b{n}.pdf", PDF))
            CaseImage.objects.create(case=case, image=png(f"i{n}.png"), alt_ja="写真", licence="提供 町")
            make_news(f"bulk-{n}", "[外部](https://example.org/news/)", "[Internal](/en/news/)")
            initiative = Initiative.objects.order_by("pk")[n % 10]
            InitiativeLink.objects.create(initiative=initiative, label_ja="外部", url=f"https://example.org/{n}/")

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            run()
        return len(ctx.captured_queries)

    add_cases(0, 2)
    few = queries()
    add_cases(2, 10)
    assert queries() == few


def test_scheduled_items_are_labelled_and_links_to_them_are_not_public_yet(media):
    make_case("next-week")
    CaseStudy.objects.filter(slug="next-week").update(published_at=timezone.now() + dt.timedelta(days=7))
    scheduled = make_news("scheduled", "[来週の事例](/casestudies/next-week/)")
    NewsItem.objects.filter(pk=scheduled.pk).update(published_at=timezone.now() + dt.timedelta(days=1))
    report, failed = run()
    assert failed
    (problem,) = report["problems"]
    assert (problem["message"], problem["target"]) == (NOT_PUBLIC, "/casestudies/next-week/")
    # Not public, not a draft: the publication status (公開予約 where the workflow names it).
    assert problem["status"] in {"公開予約", "公開予定"} and problem["draft"] is False
