import io

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from initiatives.models import Initiative
from portal.roles import EDITORS

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(client):
    user = User.objects.create_user("editor", password="a-long-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=EDITORS))
    client.force_login(user)
    return client


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_editors_group_has_just_what_editors_need():
    perms = set(Group.objects.get(name=EDITORS).permissions.values_list("content_type__app_label", "codename"))
    assert ("initiatives", "change_initiative") in perms
    assert ("portal", "add_newsitem") in perms
    assert ("portal", "view_municipality") in perms
    assert ("initiatives", "delete_initiative") not in perms
    assert ("portal", "delete_page") not in perms
    assert ("portal", "change_municipality") not in perms
    assert not any(app == "auth" for app, _ in perms)


def test_every_model_in_admin_has_filters_and_search():
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label in ("portal", "initiatives", "casestudies", "expertnet"):
            assert model_admin.search_fields, model
            assert model_admin.list_filter, model


def test_admin_is_in_japanese_and_editors_see_their_models(editor_client):
    html = editor_client.get("/admin/").content.decode()
    assert "地域力創造ポータル 管理画面" in html
    assert "取組" in html and "新着情報" in html
    assert editor_client.get("/admin/auth/user/").status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/admin/initiatives/initiative/",
        "/admin/initiatives/initiative/?q=緑",
        "/admin/initiatives/initiative/add/",
        "/admin/portal/newsitem/",
        "/admin/portal/page/",
        "/admin/portal/municipality/?q=札幌",
        "/admin/portal/prefecture/",
        "/admin/initiatives/meeting/",
        "/admin/expertnet/expert/",
        "/admin/expertnet/expert/?q=見本",
        "/admin/expertnet/expert/add/",
        "/admin/expertnet/expert/?kind__exact=municipal&themes__id__exact=1",
    ],
)
def test_admin_pages_open(admin_client, path):
    assert admin_client.get(path).status_code == 200


def test_admin_change_form_shows_both_languages(admin_client):
    initiative = Initiative.objects.get(slug="ikigaku-renkei")
    html = admin_client.get(f"/admin/initiatives/initiative/{initiative.pk}/change/").content.decode()
    assert 'name="title_ja"' in html and 'name="title_en"' in html
    assert "「域学連携」地域づくり活動" in html


def form_data(initiative, **extra):
    data = {
        "slug": initiative.slug,
        "title_ja": initiative.title_ja,
        "title_en": initiative.title_en,
        "short_name_ja": initiative.short_name_ja,
        "summary_ja": initiative.summary_ja,
        "body_ja": initiative.body_ja,
        "status": initiative.status,
        "order": initiative.order,
        "state": initiative.state,
        "published_at_0": "2026-11-29",
        "published_at_1": "09:00:00",
        "image_alt_ja": "",
    }
    for prefix in ("links", "documents", "meetings"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(extra)
    return data


def test_a_decompression_bomb_upload_is_refused_with_a_message_and_input_kept(admin_client, media):
    initiative = Initiative.objects.get(slug="ikigaku-renkei")
    buf = io.BytesIO()
    Image.new("L", (20000, 20000)).save(buf, "PNG")
    data = form_data(initiative, title_ja="編集中の名称", image=SimpleUploadedFile("bomb.png", buf.getvalue()))
    response = admin_client.post(f"/admin/initiatives/initiative/{initiative.pk}/change/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "画素数が多すぎる" in html
    assert 'value="編集中の名称"' in html
    initiative.refresh_from_db()
    assert initiative.title_ja == "「域学連携」地域づくり活動"


def test_image_without_alt_text_is_refused(admin_client, media):
    initiative = Initiative.objects.get(slug="ikigaku-renkei")
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(buf, "PNG")
    data = form_data(initiative, image=SimpleUploadedFile("photo.png", buf.getvalue()))
    response = admin_client.post(f"/admin/initiatives/initiative/{initiative.pk}/change/", data)
    assert response.status_code == 200
    assert "画像の代替テキストを入力してください。" in response.content.decode()


def test_a_non_image_upload_is_refused(admin_client, media):
    initiative = Initiative.objects.get(slug="ikigaku-renkei")
    data = form_data(initiative, image=SimpleUploadedFile("photo.png", b"not an image at all"), image_alt_ja="説明")
    response = admin_client.post(f"/admin/initiatives/initiative/{initiative.pk}/change/", data)
    assert response.status_code == 200
    assert "画像" in response.content.decode() and "errorlist" in response.content.decode()


def test_editors_keep_case_studies_experts_and_seminars_and_work_requests():
    perms = set(Group.objects.get(name=EDITORS).permissions.values_list("content_type__app_label", "codename"))
    for wanted in [
        ("casestudies", "change_casestudy"),
        ("casestudies", "add_casestudy"),
        ("expertnet", "change_expert"),
        ("expertnet", "add_dispatch"),
        ("expertnet", "change_seminar"),
        ("expertnet", "change_consultationrequest"),
    ]:
        assert wanted in perms
    assert ("expertnet", "delete_expert") not in perms
    assert ("expertnet", "add_consultationrequest") not in perms
