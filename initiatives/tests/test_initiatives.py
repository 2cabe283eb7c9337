import io
import re

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from initiatives.models import Initiative, InitiativeDocument, InitiativeLink, Meeting
from portal.content import load_initiatives
from portal.roles import EDITORS

pytestmark = pytest.mark.django_db

SEED_TITLES = [
    "地域力強化戦略本部",
    "地域の元気創造本部",
    "地域力創造に関する有識者会議",
    "緑の分権改革",
    "「シニア地域づくり人」に関する調査研究事業",
    "「域学連携」地域づくり活動",
    "地域の担い手創造事業",
    "地域実践活動に関する大学教員ネットワーク",
    "地域力創造優良事例集",
    "地域力創造のための起業者定住促進モデル事業",
]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def editor(client):
    user = User.objects.create_user("editor", password="a-long-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITORS))
    client.force_login(user)
    return user


def test_the_ten_programs_of_the_seed_are_published_in_order():
    titles = list(Initiative.objects.published().values_list("title_ja", flat=True))
    assert titles == SEED_TITLES
    for initiative in Initiative.objects.all():
        assert initiative.title_en and initiative.summary_en and initiative.body_en
        assert initiative.links.exists(), initiative.slug


def test_seed_wording_is_kept():
    genki = Initiative.objects.get(title_ja="地域の元気創造本部")
    assert "地域の再生なくして、日本経済の再生はありません。" in genki.body_ja
    green = Initiative.objects.get(title_ja="緑の分権改革")
    assert "「地域の自給力と創富力(富を生み出す力)を高める地域主権型社会」" in green.body_ja


def test_list_groups_by_status(client):
    html = client.get("/initiatives/").content.decode()
    assert html.index('<h2 id="group-active">実施中</h2>') < html.index('<h2 id="group-past">これまでの取組</h2>')
    assert html.count('class="card"') == 10


def test_detail_shows_links_documents_meetings_and_related(client, media):
    initiative = Initiative.objects.get(slug="ikigaku-renkei")
    meeting = Meeting.objects.create(
        initiative=initiative,
        title_ja="第1回 連絡会議",
        title_en="1st liaison meeting",
        held_at=timezone.make_aware(timezone.datetime(2026, 4, 10, 14, 0)),
        place_ja="総務省 第1会議室",
        agenda_ja="1. 開会\n2. 報告",
    )
    pdf = SimpleUploadedFile("gaiyou.pdf", b"%PDF-1.7\n" + b"0" * 2048)
    InitiativeDocument.objects.create(initiative=initiative, title_ja="事業の概要", file=pdf)
    InitiativeDocument.objects.create(
        initiative=initiative, meeting=meeting, title_ja="議事次第", file=SimpleUploadedFile("shidai.pdf", b"%PDF-1.4")
    )
    html = client.get(initiative.get_absolute_url()).content.decode()
    assert "事業の概要" in html and "(PDF・2.0KB)" in html
    assert "第1回 連絡会議" in html and "総務省 第1会議室" in html and "議事次第" in html
    assert '<time datetime="2026-04-10">令和8年(2026年)4月10日</time>' in html
    for link in initiative.links.all():
        assert link.url in html
    for other in initiative.related.all():
        assert other.get_absolute_url() in html
    assert html.count("<h1") == 1


def test_draft_is_invisible_to_the_public_and_previewed_by_editors(client, editor):
    initiative = Initiative.objects.create(slug="draft-program", title_ja="準備中の取組", summary_ja="概要")
    client.logout()
    assert client.get("/initiatives/draft-program/").status_code == 404
    assert "準備中の取組" not in client.get("/initiatives/").content.decode()
    assert "準備中の取組" not in client.get("/").content.decode()
    client.force_login(editor)
    response = client.get("/initiatives/draft-program/")
    assert response.status_code == 200
    assert "プレビュー" in response.content.decode()
    assert response["Cache-Control"] == "private, no-store"
    assert initiative.is_public is False


def test_scheduled_item_appears_at_its_time(client):
    later = timezone.now() + timezone.timedelta(hours=1)
    Initiative.objects.create(
        slug="soon", title_ja="予定の取組", summary_ja="概要", state="published", published_at=later
    )
    assert client.get("/initiatives/soon/").status_code == 404
    assert Initiative.objects.published(at=later).filter(slug="soon").exists()


def test_english_page_falls_back_to_japanese_with_a_notice(client):
    Initiative.objects.create(slug="ja-only", title_ja="日本語だけの取組", summary_ja="日本語の概要", state="published")
    html = client.get("/en/initiatives/ja-only/").content.decode()
    assert '<html lang="en">' in html
    assert "This page is not yet available in English" in html
    assert re.search(r'<h1 lang="ja">日本語だけの取組</h1>', html)
    translated = client.get("/en/initiatives/ikigaku-renkei/").content.decode()
    assert "not yet available in English" not in translated


def test_update_date_is_shown(client):
    initiative = Initiative.objects.get(slug="midori-no-bunken-kaikaku")
    html = client.get(initiative.get_absolute_url()).content.decode()
    assert "最終更新日" in html and f'<time datetime="{timezone.localdate(initiative.updated_at).isoformat()}">' in html


def test_loading_again_keeps_editors_changes():
    initiative = Initiative.objects.get(slug="ikigaku-renkei")
    initiative.title_ja = "編集者が直した名称"
    initiative.save()
    InitiativeLink.objects.filter(initiative=initiative).delete()
    load_initiatives(apps)
    assert Initiative.objects.count() == 10
    initiative.refresh_from_db()
    assert initiative.title_ja == "編集者が直した名称"
    assert not initiative.links.exists()


def test_image_renditions_and_responsive_markup(client, media):
    buf = io.BytesIO()
    Image.new("RGB", (1600, 900), "#197a4b").save(buf, "JPEG")
    initiative = Initiative.objects.get(slug="ikigaku-renkei")
    initiative.image = SimpleUploadedFile("field.jpg", buf.getvalue())
    initiative.image_alt_ja = "学生と住民が田植えをしている様子"
    initiative.save()
    renditions = sorted(p.name for p in (media / "initiatives" / "renditions").iterdir())
    assert renditions == ["field-1440w.jpg", "field-480w.jpg", "field-960w.jpg"]
    with Image.open(media / "initiatives" / "renditions" / "field-480w.jpg") as small:
        assert small.size == (480, 270)
    html = client.get(initiative.get_absolute_url()).content.decode()
    img = re.search(r"<img [^>]+>", html).group(0)
    assert 'alt="学生と住民が田植えをしている様子"' in img
    assert 'width="1600" height="900"' in img and 'loading="lazy"' in img
    assert "480w" in img and "960w" in img and "1440w" in img and "1600w" in img


def test_unknown_slug_and_language_prefix_give_404(client):
    assert client.get("/initiatives/no-such-program/").status_code == 404
    assert client.get("/fr/initiatives/").status_code == 404
    assert client.get("/en/initiatives/no-such-program/").status_code == 404
