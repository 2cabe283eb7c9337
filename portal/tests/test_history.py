"""The history of content items: versions of every admin save, the field-by-field difference in
both languages, restoring a version and recovering a deleted item (portal/history.py;
docs/decisions/0011-history.md)."""

import json
import re

import pytest
from django.contrib.auth.models import Group, User
from reversion.models import Version

from casestudies.models import CaseFigure, CaseStudy
from casestudies.tests.test_import_export import CONFIRM_URL, CSV_FORMAT, IMPORT_URL, csv_bytes, good_row, named
from expertnet.models import Dispatch, Expert, Seminar
from initiatives.models import Initiative, InitiativeLink, Meeting
from portal.history import text_diff
from portal.models import AuditEvent, Municipality, NewsItem, Page, Theme
from portal.publishing import PublishState
from portal.roles import ADMINISTRATORS, EDITORS, PUBLISHERS
from portal.tests.admin_forms import change_form, form_data

pytestmark = pytest.mark.django_db


# Helpers ---------------------------------------------------------------------------------------


def user_in(role: str, name: str | None = None) -> User:
    user = User.objects.create_user(name or f"history-{role}", password="a-long-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def login(client):
    def as_role(role: str) -> tuple:
        user = user_in(role)
        client.force_login(user)
        return client, user

    return as_role


def admin_url(obj_or_model, suffix: str = "") -> str:
    opts = obj_or_model._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/{suffix}"


def change_url(obj) -> str:
    return admin_url(obj, f"{obj.pk}/change/")


def history_url(obj) -> str:
    return admin_url(obj, f"{obj.pk}/history/")


def compare_url(obj, old, new=None, **extra) -> str:
    query = f"?from={old.pk}&to={new.pk if new else 'current'}"
    return admin_url(obj, f"{obj.pk}/history/compare/") + query + "".join(f"&{k}={v}" for k, v in extra.items())


def restore_url(obj, version) -> str:
    return admin_url(obj, f"{obj.pk}/history/{version.pk}/")


def versions(obj):
    return list(Version.objects.get_for_object(obj).select_related("revision__user").order_by("pk"))


def form_errors(response) -> str:
    context = getattr(response, "context", None) or {}
    errors = []
    if "adminform" in context:
        errors.append(str(context["adminform"].form.errors))
        for formset in context.get("inline_admin_formsets", []):
            errors.append(str(formset.formset.errors) + str(formset.formset.non_form_errors()))
    return " ".join(errors) or response.content.decode()[:2000]


def post_form(client, url: str, **changes):
    """GET the form at ``url``, change some values and POST it back as the browser would."""
    data = change_form(client, url)
    data.update({k: v for k, v in changes.items() if v is not None})
    for k in [k for k, v in changes.items() if v is None]:
        data.pop(k, None)
    response = client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    return response


def add_row(data: dict, prefix: str, **fields) -> None:
    n = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(n + 1)
    data.update({f"{prefix}-{n}-{name}": value for name, value in fields.items()})


def cell(html: str, label: str, lang: str) -> str:
    """The content of the ``lang`` column of the row ``label`` in the first table that has it."""
    row = re.search(
        rf'<th scope="row">{re.escape(label)}(?:<span[^>]*>[^<]*</span>)?</th>(.*?)</tr>', html, flags=re.DOTALL
    )
    assert row, f"no row {label}"
    found = re.search(rf'<td lang="{lang}">(.*?)</td>', row.group(1), flags=re.DOTALL)
    assert found, f"no {lang} column in row {label}: {row.group(1)}"
    return found.group(1)


# Saving through the admin creates versions ------------------------------------------------------


def test_a_save_in_the_change_form_keeps_the_item_its_rows_and_relations_with_the_user(login):
    client, user = login(ADMINISTRATORS)
    program = Initiative.objects.get(slug="ikigaku-renkei")
    other = Initiative.objects.exclude(pk=program.pk).exclude(pk__in=program.related.all()).first()
    assert versions(program) == []
    url = change_url(program)
    data = change_form(client, url)
    data.update(title_ja="域学連携(改)", title_en="Region-University Collaboration (revised)")
    add_row(data, "links", label_ja="新しいリンク", url="https://www.soumu.go.jp/new", order="1", initiative=program.pk)
    data["related"] = [*map(str, program.related.values_list("pk", flat=True)), str(other.pk)]
    response = client.post(url, data)
    assert response.status_code == 302, form_errors(response)

    first, second = versions(program)
    # The item as it was before its first change, then the change, by whom and what.
    assert first.revision.comment == "履歴の記録を始める前の内容" and first.revision.user is None
    assert first.field_dict["title_ja"] == "「域学連携」地域づくり活動"
    assert second.revision.user == user
    assert "名称" in second.revision.comment and "関連リンク" in second.revision.comment
    assert second.field_dict["title_en"] == "Region-University Collaboration (revised)"
    assert other.pk in second.field_dict["related"]
    link = InitiativeLink.objects.get(label_ja="新しいリンク")
    assert second.revision.version_set.filter(object_id=str(link.pk)).exists()


def test_an_item_added_in_the_admin_starts_its_history_with_the_user(login):
    client, user = login(EDITORS)
    data = change_form(client, admin_url(NewsItem, "add/"))
    data.update(slug="history-added", title_ja="追加した新着", title_en="Added news", body_ja="本文です。")
    response = client.post(admin_url(NewsItem, "add/"), data)
    assert response.status_code == 302, form_errors(response)
    (version,) = versions(NewsItem.objects.get(slug="history-added"))
    assert version.revision.user == user and version.revision.comment == "追加されました。"  # Django's own message
    assert (version.field_dict["title_ja"], version.field_dict["title_en"]) == ("追加した新着", "Added news")


def test_the_history_page_lists_versions_newest_first_with_links(login):
    client, user = login(ADMINISTRATORS)
    page = Page.objects.get(slug="about")
    post_form(client, change_url(page), title_ja="このサイトについて(改)")
    post_form(client, change_url(page), title_en="About this site (revised)")
    html = client.get(history_url(page)).content.decode()
    baseline, v2, v3 = versions(page)
    assert html.index("版 3") < html.index("版 2") < html.index("版 1")
    assert "令和" in html and "history-" in html
    assert user.get_username() in html and "履歴の記録を始める前の内容" in html
    assert compare_url(page, v2, v3).replace("&", "&amp;") in html  # with the version before it
    assert compare_url(page, baseline).replace("&", "&amp;") in html  # with the item now
    assert restore_url(page, baseline) in html and "この版に戻す" in html


# The difference between versions -------------------------------------------------------------------


def test_compare_shows_each_language_in_its_column_and_rows_and_relations_by_name(login):
    client, _user = login(ADMINISTRATORS)
    program = Initiative.objects.get(slug="ikigaku-renkei")
    theme_program = Initiative.objects.exclude(pk=program.pk).exclude(pk__in=program.related.all()).first()
    url = change_url(program)
    data = change_form(client, url)
    add_row(data, "links", label_ja="最初のリンク", url="https://www.soumu.go.jp/a", order="1", initiative=program.pk)
    assert client.post(url, data).status_code == 302
    data = change_form(client, url)
    data.update(title_ja="新しい名称", title_en="New name", status="active")
    data["links-0-label_ja"] = "直したリンク"
    data["related"] = [*map(str, program.related.values_list("pk", flat=True)), str(theme_program.pk)]
    response = client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    _baseline, before, after = versions(program)

    response = client.get(compare_url(program, before, after))
    assert response.status_code == 200
    html = response.content.decode()
    ja, en = cell(html, "名称", "ja"), cell(html, "名称", "en")
    assert "「域学連携」地域づくり活動" in ja and "新しい名称" in ja and "New name" not in ja
    assert "New name" in en and "新しい名称" not in en
    assert re.search(r"<del>.*「域学連携」地域づくり活動.*</del>", ja, re.DOTALL)
    assert re.search(r"<ins>.*新しい名称.*</ins>", ja, re.DOTALL)
    assert "追加:" in ja and "削除:" in ja  # read out by screen readers, not shown
    # A choice by its label, the m2m by name, the inline row's change.
    assert "実施中" in html and "これまでの取組" in html
    assert re.search(rf"<ins>.*{re.escape(theme_program.title_ja)}.*</ins>", html, re.DOTALL)
    assert "関連リンク" in html and "直したリンク" in html and "最初のリンク" in html
    # Unchanged fields are left out until asked for.
    assert "略称" not in html and "すべての項目を表示" in html
    everything = client.get(compare_url(program, before, after, all=1)).content.decode()
    assert "略称" in everything and "変更のあった項目だけを表示" in everything


def test_compare_with_the_current_item_and_a_removed_and_an_added_row(login):
    client, _user = login(ADMINISTRATORS)
    case = CaseStudy.objects.filter(figures__isnull=False).distinct().order_by("pk").first()
    figure = case.figures.order_by("pk").first()
    url = change_url(case)
    data = change_form(client, url)
    index = next(k.split("-")[1] for k, v in data.items() if re.fullmatch(r"figures-\d+-id", k) and v == str(figure.pk))
    data[f"figures-{index}-DELETE"] = "on"
    add_row(data, "links", label_ja="事例の新しいリンク", url="https://example.go.jp/", order="1", case=case.pk)
    response = client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    baseline = versions(case)[0]
    html = client.get(compare_url(case, baseline)).content.decode()
    assert "現在の内容" in html
    assert "history-row-removed" in html and figure.label_ja in html
    assert "history-row-added" in html and "事例の新しいリンク" in html


def test_long_text_is_compared_line_by_line_and_word_by_word():
    old = "一行目です。\n二行目は変わりません。\nThe quick brown fox.\n" + "同じ行\n" * 10 + "最後の行"
    new = "一行目でした。\n二行目は変わりません。\nThe quick red fox.\n" + "同じ行\n" * 10 + "最後の行\n足した行"
    html = str(text_diff(old, new))
    assert '<del><span class="visually-hidden">削除:</span>brown' in html
    assert '<ins><span class="visually-hidden">追加:</span>red' in html
    assert '<del><span class="visually-hidden">削除:</span>す' in html  # Japanese: by character
    assert "足した行" in html and "history-line-ins" in html
    assert "変更のない 7 行を省略" in html
    assert "省略" not in str(text_diff(old, new, show_all=True))
    assert "&lt;script&gt;" in str(text_diff("a", "<script>"))


def test_compare_refuses_bad_and_foreign_version_ids_with_404(login):
    client, _user = login(ADMINISTRATORS)
    page, other = Page.objects.order_by("pk")[:2]
    post_form(client, change_url(page), title_ja="変えたタイトル")
    post_form(client, change_url(other), title_ja="別のページ")
    mine, foreign = versions(page)[-1], versions(other)[-1]
    base = admin_url(page, f"{page.pk}/history/compare/")
    for query in [
        "",
        "?from=abc",
        "?from=",
        "?from=-1",
        "?from=99999999",
        "?from=" + "9" * 40,
        f"?from={foreign.pk}",
        f"?from={mine.pk}&to={foreign.pk}",
        f"?from={mine.pk}&to=xyz",
    ]:
        assert client.get(base + query).status_code == 404, query
    assert client.get(admin_url(page, "999999/history/compare/") + f"?from={mine.pk}").status_code == 404
    assert client.get(admin_url(page, f"{page.pk}/history/{foreign.pk}/")).status_code == 404
    assert client.get(admin_url(page, f"{page.pk}/history/{'9' * 40}/")).status_code == 404
    assert client.get(admin_url(page, f"{'x' * 10}/history/{mine.pk}/")).status_code == 404
    # A version of another content type is not one of this type's deleted items.
    assert client.get(admin_url(NewsItem, f"recover/{mine.pk}/")).status_code == 404
    assert client.get(admin_url(NewsItem, "recover/" + "9" * 40 + "/")).status_code == 404
    # An item that still exists is not recovered: its history is the way back.
    response = client.get(admin_url(Page, f"recover/{mine.pk}/"))
    assert response.status_code == 302 and response["Location"].endswith(history_url(page))


def test_history_and_compare_need_the_view_or_change_permission(client, login):
    admin, _user = login(ADMINISTRATORS)
    page = Page.objects.get(slug="about")
    post_form(admin, change_url(page), title_ja="変えたタイトル")
    version = versions(page)[0]
    nobody = User.objects.create_user("staff-without-permissions", password="a-long-password-123", is_staff=True)
    client.force_login(nobody)
    assert client.get(history_url(page)).status_code == 403
    assert client.get(compare_url(page, version)).status_code == 403
    assert client.get(restore_url(page, version)).status_code == 403


# Restoring a version ----------------------------------------------------------------------------


def test_restore_brings_back_both_languages_the_rows_and_the_relations(login):
    client, user = login(ADMINISTRATORS)
    program = Initiative.objects.get(slug="ikigaku-renkei")
    title_ja, title_en = program.title_ja, program.title_en
    related = set(program.related.values_list("pk", flat=True))
    url = change_url(program)
    data = change_form(client, url)
    add_row(data, "links", label_ja="残すリンク", label_en="Kept link", url="https://a.example.jp/", order="1")
    assert client.post(url, data).status_code == 302
    kept = InitiativeLink.objects.get(label_ja="残すリンク")
    links = list(program.links.order_by("pk").values_list("pk", "label_ja", "label_en"))
    assert (kept.pk, "残すリンク", "Kept link") in links
    data = change_form(client, url)
    data.update(title_ja="一時的な名称", title_en="Temporary title")
    index = next(k.split("-")[1] for k, v in data.items() if re.fullmatch(r"links-\d+-id", k) and v == str(kept.pk))
    data[f"links-{index}-DELETE"] = "on"
    add_row(data, "links", label_ja="後で足したリンク", url="https://b.example.jp/", order="2")
    data["related"] = []
    response = client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    program.refresh_from_db()
    assert program.title_ja == "一時的な名称" and not program.related.exists()
    with_link = versions(program)[1]

    # The version in the change form: its values, nothing saved yet.
    response = client.get(restore_url(program, with_link))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="{title_ja}"' in html and "残すリンク" in html and "版 2" in html
    program.refresh_from_db()
    assert program.title_ja == "一時的な名称"  # a look is rolled back
    assert not InitiativeLink.objects.filter(pk=kept.pk).exists()

    data = form_data(html, form_id="initiative_form")
    response = client.post(restore_url(program, with_link), data)
    assert response.status_code == 302, form_errors(response)
    assert response["Location"].endswith(history_url(program))
    program.refresh_from_db()
    assert (program.title_ja, program.title_en) == (title_ja, title_en)
    assert set(program.related.values_list("pk", flat=True)) == related
    assert list(program.links.order_by("pk").values_list("pk", "label_ja", "label_en")) == links
    newest = versions(program)[-1]
    assert newest.revision.user == user
    comment = newest.revision.comment
    assert comment.startswith("版 2(令和") and comment.endswith(")を復元しました"), comment
    event = AuditEvent.objects.get(action="restore")
    assert event.user == user and event.object_id == str(program.pk) and "版 2" in event.detail
    # The restore itself is a version: it can be compared and undone like any other.
    assert client.get(compare_url(program, versions(program)[-2], newest)).status_code == 200


def news_published_by(client) -> NewsItem:
    """A news item saved as a draft, then published by a publisher: two versions and the baseline."""
    item = NewsItem.objects.create(slug="history-news", title_ja="最初の見出し", title_en="First", body_ja="本文。")
    url = change_url(item)
    post_form(client, url, title_ja="下書きの見出し")
    post_form(
        client,
        url,
        title_ja="公開した見出し",
        state="published",
        published_at_0="2026-04-01",
        published_at_1="09:00:00",
    )
    item.refresh_from_db()
    assert item.state == PublishState.PUBLISHED
    return item


def test_an_editor_restoring_an_old_version_does_not_unpublish_the_item(client, login):
    publisher, _ = login(PUBLISHERS)
    item = news_published_by(publisher)
    published_at = item.published_at
    draft_version = versions(item)[1]
    assert draft_version.field_dict["state"] == PublishState.DRAFT

    editor = user_in(EDITORS, "history-editor")
    client.force_login(editor)
    response = client.get(restore_url(item, draft_version))
    html = response.content.decode()
    assert response.status_code == 200 and "公開状態・公開日時・掲載終了日時は今のまま変わりません" in html
    response = client.post(restore_url(item, draft_version), form_data(html, form_id="newsitem_form"))
    assert response.status_code == 302, form_errors(response)
    item.refresh_from_db()
    assert item.title_ja == "下書きの見出し"
    assert (item.state, item.published_at) == (PublishState.PUBLISHED, published_at)
    assert versions(item)[-1].revision.user == editor


def test_an_editor_may_not_sneak_the_state_into_a_restore(client, login):
    publisher, _ = login(PUBLISHERS)
    item = news_published_by(publisher)
    draft_version = versions(item)[1]
    client.force_login(user_in(EDITORS, "history-editor"))
    html = client.get(restore_url(item, draft_version)).content.decode()
    data = {**form_data(html, form_id="newsitem_form"), "state": "draft"}
    assert client.post(restore_url(item, draft_version), data).status_code == 403
    item.refresh_from_db()
    assert item.state == PublishState.PUBLISHED and item.title_ja == "公開した見出し"


def test_a_publisher_restoring_an_old_version_restores_its_state_too(login):
    client, _user = login(PUBLISHERS)
    item = news_published_by(client)
    draft_version = versions(item)[1]
    html = client.get(restore_url(item, draft_version)).content.decode()
    assert "公開状態も「下書き」になります" in html
    response = client.post(restore_url(item, draft_version), form_data(html, form_id="newsitem_form"))
    assert response.status_code == 302, form_errors(response)
    item.refresh_from_db()
    assert (item.title_ja, item.state) == ("下書きの見出し", PublishState.DRAFT)
    assert "公開状態: 公開 → 下書き" in AuditEvent.objects.get(action="restore").detail


def test_a_field_an_old_version_lacks_keeps_its_current_value(login):
    client, _user = login(ADMINISTRATORS)
    page = Page.objects.get(slug="about")
    post_form(client, change_url(page), title_ja="変えたタイトル", order="7")
    old = versions(page)[0]
    # As if the field "order" had been added to the model after this version was saved.
    data = json.loads(old.serialized_data)
    del data[0]["fields"]["order"]
    old.serialized_data = json.dumps(data)
    old.save()
    html = client.get(restore_url(page, old)).content.decode()
    assert "「表示順」はこの版に記録がないため、今の値のままにします。" in html
    assert "(この版には記録がありません)" in client.get(compare_url(page, old)).content.decode()
    response = client.post(restore_url(page, old), form_data(html, form_id="page_form"))
    assert response.status_code == 302, form_errors(response)
    page.refresh_from_db()
    assert page.order == 7 and page.title_ja != "変えたタイトル"


def test_a_restore_that_would_clash_with_another_item_is_refused_with_a_message(login):
    client, _user = login(ADMINISTRATORS)
    page, other = Page.objects.order_by("pk")[:2]
    old_slug = page.slug
    post_form(client, change_url(page), slug="renamed-page")
    post_form(client, change_url(other), slug=old_slug)
    response = client.get(restore_url(page, versions(page)[0]), follow=True)
    assert response.status_code == 200
    assert "ほかの項目と同じ値" in response.content.decode()
    page.refresh_from_db()
    assert page.slug == "renamed-page"


# Deleting and recovering --------------------------------------------------------------------------


def test_delete_then_recover_brings_back_the_item_with_its_rows_and_relations(login):
    client, user = login(ADMINISTRATORS)
    case = CaseStudy.objects.filter(figures__isnull=False).distinct().order_by("pk").first()
    url = change_url(case)
    data = change_form(client, url)
    add_row(data, "links", label_ja="事例のリンク", url="https://example.go.jp/case", order="1")
    data["schemes"] = ["1"]
    response = client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    pk, title = case.pk, case.title_ja
    figures = list(case.figures.order_by("pk").values_list("pk", "label_ja", "value"))
    links = list(case.links.values_list("pk", "label_ja"))
    themes = set(case.themes.values_list("pk", flat=True))
    places = set(case.municipalities.values_list("pk", flat=True))
    schemes = set(case.schemes.values_list("pk", flat=True))
    assert figures and links and themes and places and schemes

    response = client.post(admin_url(case, f"{pk}/delete/"), {"post": "yes"})
    assert response.status_code == 302
    assert not CaseStudy.objects.filter(pk=pk).exists() and not CaseFigure.objects.filter(case_id=pk).exists()

    changelist = client.get(admin_url(CaseStudy)).content.decode()
    assert "削除した項目を復元" in changelist and "ファイルから取り込む" in changelist
    recover_list = client.get(admin_url(CaseStudy, "recover/")).content.decode()
    assert title in recover_list and "令和" in recover_list
    deleted = Version.objects.get_deleted(CaseStudy).get(object_id=str(pk))
    assert deleted.revision.comment == "削除しました" and deleted.revision.user == user

    response = client.get(admin_url(CaseStudy, f"recover/{deleted.pk}/"))
    assert response.status_code == 200
    assert not CaseStudy.objects.filter(pk=pk).exists()
    response = client.post(
        admin_url(CaseStudy, f"recover/{deleted.pk}/"), form_data(response.content, "casestudy_form")
    )
    assert response.status_code == 302, form_errors(response)
    case = CaseStudy.objects.get(pk=pk)
    assert case.title_ja == title
    assert list(case.figures.order_by("pk").values_list("pk", "label_ja", "value")) == figures
    assert list(case.links.values_list("pk", "label_ja")) == links
    assert set(case.themes.values_list("pk", flat=True)) == themes
    assert set(case.municipalities.values_list("pk", flat=True)) == places
    assert set(case.schemes.values_list("pk", flat=True)) == schemes
    assert case.theme_mask != 0  # kept in step with the themes it got back
    assert "削除した項目を版" in versions(case)[-1].revision.comment
    assert AuditEvent.objects.filter(action="recover", object_id=str(pk), user=user).exists()
    # Back on the site as it was: the search index and the list's counts follow (saved again by the form).
    assert case.is_public
    client.logout()
    assert client.get(f"/casestudies/{case.slug}/").status_code == 200
    assert f"/casestudies/{case.slug}/" in client.get("/search/", {"q": title}).content.decode()


def test_an_editor_recovers_a_deleted_published_item_as_a_draft(client, login):
    admin, _user = login(ADMINISTRATORS)
    item = NewsItem.objects.get(slug="portal-opened")
    assert item.state == PublishState.PUBLISHED
    assert admin.post(admin_url(item, f"{item.pk}/delete/"), {"post": "yes"}).status_code == 302
    deleted = Version.objects.get_deleted(NewsItem).get(object_id=str(item.pk))
    client.force_login(user_in(EDITORS, "history-editor"))
    html = client.get(admin_url(NewsItem, f"recover/{deleted.pk}/")).content.decode()
    assert "下書きとして復元します" in html
    response = client.post(admin_url(NewsItem, f"recover/{deleted.pk}/"), form_data(html, "newsitem_form"))
    assert response.status_code == 302, form_errors(response)
    recovered = NewsItem.objects.get(pk=item.pk)
    assert recovered.title_ja == item.title_ja and recovered.state == PublishState.DRAFT


def test_a_recovered_item_whose_relation_target_was_deleted_comes_back_without_it(login):
    client, _user = login(ADMINISTRATORS)
    program = Initiative.objects.create(slug="history-temp", title_ja="一時的な取組", summary_ja="概要")
    item = NewsItem.objects.create(slug="history-linked", title_ja="取組の新着", body_ja="本文", initiative=program)
    post_form(client, change_url(item), title_en="Linked news")
    assert client.post(admin_url(item, f"{item.pk}/delete/"), {"post": "yes"}).status_code == 302
    program.delete()
    deleted = Version.objects.get_deleted(NewsItem).get(object_id=str(item.pk))
    html = client.get(admin_url(NewsItem, f"recover/{deleted.pk}/")).content.decode()
    assert "削除されているため、空欄にします" in html
    assert (
        client.post(admin_url(NewsItem, f"recover/{deleted.pk}/"), form_data(html, "newsitem_form")).status_code == 302
    )
    assert NewsItem.objects.get(pk=item.pk).initiative is None


# Saves outside the change form ----------------------------------------------------------------------


def test_publishing_from_the_list_records_a_version_per_item_with_the_user(login):
    client, user = login(PUBLISHERS)
    drafts = [
        NewsItem.objects.create(slug=f"history-draft-{n}", title_ja=f"下書き{n}", body_ja="本文") for n in range(2)
    ]
    response = client.post(
        admin_url(NewsItem),
        {"action": "publish_now", "_selected_action": [d.pk for d in drafts], "index": "0"},
    )
    assert response.status_code == 302
    for draft in drafts:
        baseline, published = versions(draft)
        assert baseline.field_dict["state"] == PublishState.DRAFT
        assert published.field_dict["state"] == PublishState.PUBLISHED and published.revision.user == user
        assert published.revision.version_set.count() == 1  # one item per revision


def test_a_change_in_the_list_records_a_version(login):
    client, user = login(ADMINISTRATORS)
    programs = list(Initiative.objects.order_by("order", "pk"))
    html = client.get(admin_url(Initiative)).content.decode()
    data = form_data(html, form_id="changelist-form")
    index = next(
        k.split("-")[1] for k, v in data.items() if re.fullmatch(r"form-\d+-id", k) and v == str(programs[0].pk)
    )
    data[f"form-{index}-order"] = "999"
    data["_save"] = "保存"
    data.pop("action", None)
    response = client.post(admin_url(Initiative), data)
    assert response.status_code == 302, form_errors(response)
    latest = versions(programs[0])[-1]
    assert latest.field_dict["order"] == 999 and latest.revision.user == user and "表示順" in latest.revision.comment
    assert versions(programs[1]) == []  # rows the save did not change get no version


def test_a_file_import_records_a_version_of_each_case_it_adds_or_changes(login):
    client, user = login(ADMINISTRATORS)
    updated, untouched = CaseStudy.objects.order_by("pk")[:2]
    title = updated.title_ja
    rows = [good_row(), good_row(スラッグ=updated.slug, 事例名="取り込みで直した事例名")]
    file = named(csv_bytes(rows), "cases.csv")
    response = client.post(IMPORT_URL, {"format": CSV_FORMAT, "resource": "0", "import_file": file})
    form = response.context["confirm_form"]
    response = client.post(CONFIRM_URL, {name: form.initial.get(name, "") for name in form.fields})
    assert response.status_code == 302
    comment = "ファイル「cases.csv」から取り込みました(新規 1 件、更新 1 件)"
    (added,) = versions(CaseStudy.objects.get(slug="import-test-1"))
    assert added.revision.user == user and added.revision.comment == comment
    baseline, imported = versions(updated)
    assert baseline.field_dict["title_ja"] == title  # what the file replaced
    assert imported.field_dict["title_ja"] == "取り込みで直した事例名" and imported.revision.comment == comment
    assert versions(untouched) == []


def test_deleting_from_the_list_keeps_each_item_for_recovery(login):
    client, user = login(ADMINISTRATORS)
    pages = list(Page.objects.order_by("pk")[:2])
    response = client.post(
        admin_url(Page), {"action": "delete_selected", "_selected_action": [p.pk for p in pages], "post": "yes"}
    )
    assert response.status_code == 302
    assert not Page.objects.filter(pk__in=[p.pk for p in pages]).exists()
    deleted = Version.objects.get_deleted(Page)
    assert {v.object_id for v in deleted} == {str(p.pk) for p in pages}
    assert all(v.revision.comment == "削除しました" and v.revision.user == user for v in deleted)
    html = client.get(admin_url(Page, "recover/")).content.decode()
    assert all(p.title_ja in html for p in pages)


def test_a_meeting_changed_on_its_own_page_is_a_version_of_its_program(login):
    client, user = login(ADMINISTRATORS)
    program = Initiative.objects.get(slug="ikigaku-renkei")
    meeting = Meeting.objects.create(initiative=program, title_ja="第1回 会議", held_at="2026-04-01T10:00:00+09:00")
    post_form(client, change_url(meeting), title_ja="第1回 推進会議")
    baseline, changed = versions(program)
    assert baseline.revision.comment == "履歴の記録を始める前の内容"
    assert changed.revision.user == user and "第1回 推進会議" in changed.revision.comment
    html = client.get(compare_url(program, baseline, changed)).content.decode()
    assert "会議" in html and "第1回 推進会議" in html
    response = client.post(
        admin_url(Meeting), {"action": "delete_selected", "_selected_action": [meeting.pk], "post": "yes"}
    )
    assert response.status_code == 302 and not Meeting.objects.filter(pk=meeting.pk).exists()
    deleted = versions(program)[-1]
    assert deleted.revision.comment == "会議 を削除しました" and deleted.revision.user == user
    assert "history-row-removed" in client.get(compare_url(program, changed, deleted)).content.decode()


# Every content type -----------------------------------------------------------------------------------

CONTENT = [
    # model, the item, a translated text field to change, an inline relation and its form prefix
    (Initiative, {"slug": "ikigaku-renkei"}, "title", "meetings"),
    (Page, {"slug": "about"}, "title", None),
    (NewsItem, {"slug": "portal-opened"}, "title", None),
    (CaseStudy, {"figures__isnull": False}, "title", "figures"),
    (Expert, {"themes__isnull": False}, "name", "dispatches"),
    (Seminar, {"sessions__isnull": False}, "title", "sessions"),
]


def item_of(model, lookup):
    obj = model.objects.filter(**lookup).distinct().order_by("pk").first()
    assert obj is not None, (model, lookup)
    return obj


def relations_of(obj) -> dict:
    return {f.name: sorted(getattr(obj, f.name).values_list("pk", flat=True)) for f in obj._meta.many_to_many}


@pytest.mark.parametrize(("model", "lookup", "text", "rows"), CONTENT, ids=[c[0].__name__ for c in CONTENT])
def test_save_history_compare_delete_and_recover(login, model, lookup, text, rows):
    client, user = login(ADMINISTRATORS)
    obj = item_of(model, lookup)
    if model is Initiative:  # a program with a meeting
        Meeting.objects.create(initiative=obj, title_ja="第1回 会議", held_at="2026-04-01T10:00:00+09:00")
    if model is Expert:  # an expert with a dispatch record, so that the inline comes back too
        Dispatch.objects.create(
            expert=obj, municipality=Municipality.objects.order_by("pk").first(), year_start=2024, summary_ja="支援"
        )
    if model is Seminar:  # and a session with a speaker
        obj.sessions.order_by("pk").first().speakers.add(Expert.objects.order_by("pk").first())
    before = getattr(obj, f"{text}_ja")
    post_form(client, change_url(obj), **{f"{text}_ja": f"{before}(改)", f"{text}_en": "Changed in English"})
    baseline, saved = versions(obj)
    assert saved.revision.user == user

    html = client.get(history_url(obj)).content.decode()
    assert "版 2" in html and "この版に戻す" in html
    html = client.get(compare_url(obj, baseline, saved)).content.decode()
    assert f"{before}(改)" in cell(html, str(model._meta.get_field(text).verbose_name), "ja")
    assert "Changed in English" in cell(html, str(model._meta.get_field(text).verbose_name), "en")

    obj.refresh_from_db()
    row_ids = sorted(getattr(obj, rows).values_list("pk", flat=True)) if rows else []
    if rows:
        assert row_ids
    relations = relations_of(obj)
    speakers = (
        {s.pk: sorted(s.speakers.values_list("pk", flat=True)) for s in obj.sessions.all()} if model is Seminar else {}
    )
    assert client.post(admin_url(obj, f"{obj.pk}/delete/"), {"post": "yes"}).status_code == 302
    assert not model.objects.filter(pk=obj.pk).exists()
    assert "削除した項目を復元" in client.get(admin_url(model)).content.decode()
    deleted = Version.objects.get_deleted(model).get(object_id=str(obj.pk))
    assert str(obj) in client.get(admin_url(model, "recover/")).content.decode()
    response = client.get(admin_url(model, f"recover/{deleted.pk}/"))
    assert response.status_code == 200
    form_id = f"{model._meta.model_name}_form"
    response = client.post(admin_url(model, f"recover/{deleted.pk}/"), form_data(response.content, form_id))
    assert response.status_code == 302, form_errors(response)
    recovered = model.objects.get(pk=obj.pk)
    assert getattr(recovered, f"{text}_ja") == f"{before}(改)"
    assert getattr(recovered, f"{text}_en") == "Changed in English"
    if rows:
        assert sorted(getattr(recovered, rows).values_list("pk", flat=True)) == row_ids
    assert relations_of(recovered) == relations
    if model is Seminar:
        assert {s.pk: sorted(s.speakers.values_list("pk", flat=True)) for s in recovered.sessions.all()} == speakers
    assert AuditEvent.objects.filter(action="recover", object_id=str(obj.pk)).exists()


def test_every_content_type_has_a_history(login):
    """A new content type's admin must register its model (portal.history.register)."""
    from django.contrib import admin

    from portal.history import HistoryAdmin, _registry

    content = {m for m, admin_ in admin.site._registry.items() if isinstance(admin_, HistoryAdmin)}
    assert content == {Initiative, Page, NewsItem, CaseStudy, Expert, Seminar}
    assert content <= set(_registry)
    assert {Theme, Municipality}.isdisjoint(_registry)  # shared lists: not versioned with an item
