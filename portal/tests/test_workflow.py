"""The editorial workflow: states over time, roles, no silent overwrite, preview, languages side by
side (portal/publishing.py, portal/editorial.py; docs/decisions/0010-editorial-workflow.md)."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from reversion.models import Version

from casestudies.models import CaseStudy
from expertnet.models import Expert, Seminar
from initiatives.models import Initiative
from portal.models import AuditEvent, NewsItem, Page
from portal.publishing import PublishState, Status
from portal.roles import ADMINISTRATORS, EDITORS, PUBLISHERS
from portal.tests.admin_forms import change_form
from portal.tests.sitemap_files import sitemap_text

pytestmark = pytest.mark.django_db

JST = dt.timezone(dt.timedelta(hours=9))
T0 = dt.datetime(2027, 4, 1, 9, 0, tzinfo=JST)
CONTENT = [Initiative, Page, NewsItem, CaseStudy, Expert, Seminar]


def user_in(role: str, name: str | None = None) -> User:
    user = User.objects.create_user(name or role, password="a-long-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def as_role(client):
    def login(role: str):
        client.force_login(user_in(role))
        return client

    return login


def news(**kwargs) -> NewsItem:
    defaults = {"slug": "workflow-news", "title_ja": "予約した新着情報", "body_ja": "本文です。"}
    return NewsItem.objects.create(**{**defaults, **kwargs})


def change_url(obj) -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"


# States over time: nothing runs, the clock decides.


def test_scheduled_news_appears_and_goes_by_itself(client):
    item = news(state=PublishState.PUBLISHED, published_at=T0, unpublish_at=T0 + dt.timedelta(days=7))
    with time_machine.travel(T0 - dt.timedelta(minutes=1), tick=False):
        assert item.publication_status == Status.SCHEDULED
        assert client.get("/news/workflow-news/").status_code == 404
        assert "予約した新着情報" not in client.get("/news/").content.decode()
        assert "/news/workflow-news/" not in client.get("/search/", {"q": "予約した新着情報"}).content.decode()
    with time_machine.travel(T0, tick=False):
        assert item.publication_status == Status.PUBLISHED
        assert client.get("/news/workflow-news/").status_code == 200
        assert "予約した新着情報" in client.get("/news/").content.decode()
        assert "/news/workflow-news/" in client.get("/search/", {"q": "予約した新着情報"}).content.decode()
        assert "/news/workflow-news/" in sitemap_text(client)
    with time_machine.travel(T0 + dt.timedelta(days=7), tick=False):
        assert item.publication_status == Status.ENDED
        assert client.get("/news/workflow-news/").status_code == 404
        assert "予約した新着情報" not in client.get("/news/").content.decode()
        assert "/news/workflow-news/" not in client.get("/search/", {"q": "予約した新着情報"}).content.decode()
        assert "/news/workflow-news/" not in sitemap_text(client)


def test_case_list_counts_follow_the_clock_without_a_job(client):
    """The case list's facet counts are computed ahead; they are valid only until the next
    scheduled change, so a case scheduled or ending on its own moves the counts at that moment."""
    case = CaseStudy.objects.published().order_by("id").first()
    with time_machine.travel(T0 - dt.timedelta(days=1), tick=False):
        case.published_at = T0
        case.unpublish_at = T0 + dt.timedelta(days=1)
        case.save()
        before = client.get("/casestudies/").context["facets"].total
        assert client.get(case.get_absolute_url()).status_code == 404
    with time_machine.travel(T0, tick=False):
        assert client.get("/casestudies/").context["facets"].total == before + 1
        assert client.get(case.get_absolute_url()).status_code == 200
    with time_machine.travel(T0 + dt.timedelta(days=1), tick=False):
        assert client.get("/casestudies/").context["facets"].total == before
        assert client.get(case.get_absolute_url()).status_code == 404


def test_archived_is_not_public_and_says_so_in_admin(client, as_role):
    item = news(state=PublishState.ARCHIVED, published_at=T0)
    assert item.publication_status == Status.ARCHIVED
    assert client.get("/news/workflow-news/").status_code == 404
    admin = as_role(PUBLISHERS)
    html = admin.get("/admin/portal/newsitem/", {"status": "archived"}).content.decode()
    assert "予約した新着情報" in html and "アーカイブ" in html
    assert "予約した新着情報" not in admin.get("/admin/portal/newsitem/", {"status": "published"}).content.decode()


@pytest.mark.parametrize("model", CONTENT)
def test_unpublish_before_publish_is_refused(model):
    obj = model.objects.first() or pytest.skip("no row")
    obj.published_at = T0
    obj.unpublish_at = T0
    with pytest.raises(Exception, match="掲載終了日時は公開日時より後"):
        obj.full_clean()


# Roles.


def test_roles_are_created_with_the_right_permissions():
    def perms(role):
        return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))

    editors, publishers, administrators = perms(EDITORS), perms(PUBLISHERS), perms(ADMINISTRATORS)
    for model in CONTENT:
        name = model._meta.model_name
        assert f"change_{name}" in editors and f"publish_{name}" not in editors
        assert {f"change_{name}", f"publish_{name}", f"delete_{name}"} <= publishers
        assert f"publish_{name}" in administrators
    assert editors < publishers < administrators
    assert "change_user" in administrators and "change_user" not in publishers


@pytest.mark.parametrize("model", CONTENT)
def test_editor_cannot_publish_by_post(as_role, model):
    client = as_role(EDITORS)
    obj = model.objects.order_by("id").first()
    obj.state = PublishState.DRAFT
    obj.save()
    data = change_form(client, change_url(obj))
    assert "state" not in data  # the editor's form has no publishing fields
    response = client.post(change_url(obj), {**data, "state": "published"})
    assert response.status_code == 403
    assert "公開担当者が行います" in response.content.decode()
    obj.refresh_from_db()
    assert obj.state == PublishState.DRAFT
    # Nor by a date, nor by the list's actions.
    response = client.post(change_url(obj), {**data, "published_at_0": "2020-01-01", "published_at_1": "00:00"})
    assert response.status_code == 403
    changelist = f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/"
    client.post(changelist, {"action": "publish_now", "_selected_action": [obj.pk]})
    obj.refresh_from_db()
    assert obj.state == PublishState.DRAFT
    # What the editor may do, they can: edit the draft.
    response = client.post(change_url(obj), data)
    assert response.status_code == 302, response.content.decode()[:3000]


def test_editor_creates_drafts_and_publisher_publishes(as_role, client):
    editor = as_role(EDITORS)
    data = change_form(editor, "/admin/portal/newsitem/add/")
    data.update({"slug": "from-editor", "title_ja": "編集者が書いた新着情報", "body_ja": "本文。"})
    assert editor.post("/admin/portal/newsitem/add/", data).status_code == 302
    item = NewsItem.objects.get(slug="from-editor")
    assert item.state == PublishState.DRAFT
    publisher = as_role(PUBLISHERS)
    data = change_form(publisher, change_url(item))
    data.update({"state": "published", "published_at_0": "", "published_at_1": ""})
    assert publisher.post(change_url(item), data).status_code == 302
    item.refresh_from_db()
    assert item.is_public
    assert client.get("/news/from-editor/").status_code == 200
    event = AuditEvent.objects.get(action="publish", object_id=str(item.pk))
    assert event.username == PUBLISHERS and "公開日時" in event.detail

    data = change_form(publisher, change_url(item))
    data.update({"published_at_0": "2099-04-01", "published_at_1": "09:00:00"})
    assert publisher.post(change_url(item), data).status_code == 302
    assert AuditEvent.objects.filter(action="schedule", object_id=str(item.pk)).exists()
    assert NewsItem.objects.get(pk=item.pk).publication_status == Status.SCHEDULED


def test_publisher_schedules_withdraws_and_archives_from_the_list(as_role):
    publisher = as_role(PUBLISHERS)
    item = news()
    publisher.post("/admin/portal/newsitem/", {"action": "publish_now", "_selected_action": [item.pk]})
    item.refresh_from_db()
    assert item.is_public
    publisher.post("/admin/portal/newsitem/", {"action": "archive", "_selected_action": [item.pk]})
    item.refresh_from_db()
    assert item.state == PublishState.ARCHIVED
    publisher.post("/admin/portal/newsitem/", {"action": "withdraw", "_selected_action": [item.pk]})
    item.refresh_from_db()
    assert item.state == PublishState.DRAFT
    actions = list(
        AuditEvent.objects.filter(object_id=str(item.pk)).order_by("at", "id").values_list("action", flat=True)
    )
    assert actions == ["publish", "archive", "withdraw"]
    # Each is a version in the item's history, with who did it.
    # (and the version it had before the first of them: portal/history.py keeps a baseline).
    users = [
        v.revision.user.username for v in Version.objects.get_for_object(item).select_related("revision__user")[:3]
    ]
    assert users == [PUBLISHERS] * 3


def test_deleting_is_audited(as_role):
    publisher = as_role(PUBLISHERS)
    item = news()
    response = publisher.post(f"/admin/portal/newsitem/{item.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="delete", object_repr=str(item)).exists()


# No silent overwrite.


def test_second_save_is_stopped_and_shown_what_changed(client, django_user_model):
    from django.test import Client

    first, second = Client(), Client()
    first.force_login(user_in(EDITORS, "sato"))
    second.force_login(user_in(EDITORS, "suzuki"))
    case = CaseStudy.objects.order_by("id").first()
    url = change_url(case)
    form_a, form_b = change_form(first, url), change_form(second, url)

    form_a["title_ja"] = "一人目が直した事例名"
    assert first.post(url, form_a).status_code == 302

    form_b["summary_en"] = "The second editor's own summary."
    response = second.post(url, form_b)
    html = response.content.decode()
    assert response.status_code == 200
    assert "あなたが開いた後に sato さんが変更しました" in html
    assert "事例名 [ja]" in html  # what changed
    assert "The second editor&#x27;s own summary." in html  # their input is still in the form
    case.refresh_from_db()
    assert case.title_ja == "一人目が直した事例名" and case.summary_en != "The second editor's own summary."

    # Having been told, the second editor saves again from the form they were shown.
    again = change_form_from(response)
    assert again["summary_en"] == "The second editor's own summary."
    assert again["title_ja"] == "一人目が直した事例名"  # what only the first changed is shown as it is now
    assert second.post(url, again).status_code == 302
    case.refresh_from_db()
    assert case.summary_en == "The second editor's own summary."
    assert case.title_ja == "一人目が直した事例名"


def change_form_from(response):
    from portal.tests.admin_forms import form_data

    return form_data(response.content, form_id=f"{response.context['opts'].model_name}_form")


def test_an_inline_change_is_a_change_too(client):
    case = CaseStudy.objects.filter(figures__isnull=False).order_by("id").first()
    client.force_login(user_in(PUBLISHERS))
    url = change_url(case)
    form = change_form(client, url)
    figure = case.figures.first()
    figure.value = (figure.value or 0) + 1
    figure.save()
    response = client.post(url, form)
    assert response.status_code == 200
    assert "成果の数値" in response.content.decode()


# Preview.


def test_preview_shows_the_unsaved_form_as_the_public_page(as_role):
    editor = as_role(EDITORS)
    case = CaseStudy.objects.published().order_by("id").first()
    title = case.title_ja
    url = change_url(case)
    form = change_form(editor, url)
    form["title_ja"] = "まだ保存していない事例名"
    response = editor.post(url + "preview/?language=ja", form)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in html and "まだ保存していない事例名" in html
    assert "プレビュー" in html and "保存していない" in html
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}
    assert response["X-Robots-Tag"] == "noindex"
    case.refresh_from_db()
    assert case.title_ja == title  # nothing was saved
    assert not CaseStudy.objects.filter(title_ja="まだ保存していない事例名").exists()

    form["title_en"] = "An unsaved English title"
    english = editor.post(url + "preview/?language=en", form).content.decode()
    assert 'lang="en"' in english and "An unsaved English title" in english


def test_preview_of_a_new_item_and_of_bad_input(as_role):
    editor = as_role(EDITORS)
    form = change_form(editor, "/admin/portal/newsitem/add/")
    form.update({"slug": "preview-only", "title_ja": "新規のプレビュー", "body_ja": "本文。"})
    response = editor.post("/admin/portal/newsitem/add/preview/", form)
    assert response.status_code == 200 and "新規のプレビュー" in response.content.decode()
    assert not NewsItem.objects.filter(slug="preview-only").exists()
    form["title_ja"] = ""
    response = editor.post("/admin/portal/newsitem/add/preview/", form)
    assert response.status_code == 400
    assert "プレビューを表示できません" in response.content.decode()
    assert editor.get("/admin/portal/newsitem/add/preview/").status_code == 405
    assert editor.post("/admin/portal/newsitem/999999/change/preview/", form).status_code in (302, 404)


def test_a_visitor_cannot_preview(client):
    item = news()
    response = client.post(change_url(item) + "preview/", {"title_ja": "x"})
    assert response.status_code == 302 and "/login/" in response["Location"]


# Languages side by side, view on site.


def test_languages_side_by_side_with_the_missing_english_listed(as_role):
    editor = as_role(EDITORS)
    item = news(title_en="", body_en="")
    html = editor.get(change_url(item)).content.decode()
    assert "英語が未入力の項目があります" in html
    row = html[html.index("field-title_ja") - 200 : html.index("field-title_ja") + 1500]
    assert "field-title_en" in row.split('class="form-row')[1]  # one row holds both languages
    item.title_en, item.body_en = "News in English", "Body."
    item.save()
    assert "英語が未入力の項目があります" not in editor.get(change_url(item)).content.decode()


@pytest.mark.parametrize("model", CONTENT)
def test_every_item_links_to_its_page_on_the_site(as_role, model):
    client = as_role(EDITORS)
    obj = model.objects.order_by("id").first()
    changelist = client.get(f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/").content.decode()
    assert "サイトで見る" in changelist
    form = client.get(change_url(obj)).content.decode()
    assert f'/r/{ContentType.objects.get_for_model(model).pk}/{obj.pk}/" class="viewsitelink"' in form


def test_status_in_the_list_says_when(as_role):
    with time_machine.travel(T0 - dt.timedelta(days=1), tick=False):
        client = as_role(PUBLISHERS)
        news(state=PublishState.PUBLISHED, published_at=timezone.localtime(T0))
        html = client.get("/admin/portal/newsitem/").content.decode()
    assert "公開予約" in html
