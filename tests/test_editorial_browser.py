"""Two editors in two browsers open the same case study; the second to save is stopped, told what
changed, keeps their input, and saves on purpose (portal/editorial.py; docs/decisions/0010)."""

import pytest
from django.contrib.auth.models import Group, User

from casestudies.models import CaseStudy
from portal.roles import EDITORS

PASSWORD = "a-long-password-for-tests-123"
browser_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def editor(name: str) -> User:
    user = User.objects.create_user(name, password=PASSWORD, is_staff=True, last_name=name)
    user.groups.add(Group.objects.get(name=EDITORS))
    return user


def two_editors(playwright_browser, base: str, change_path: str) -> dict:
    def session(name: str):
        context = playwright_browser.new_context(locale="ja-JP")
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base}/admin/login/?next={change_path}")
        page.fill("#id_username", name)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"**{change_path}")
        return context, page

    (context_a, first), (context_b, second) = session("sato"), session("suzuki")
    try:
        # Both have the form open; the first saves a new title.
        first.fill("#id_title_ja", "一人目が直した事例名")
        first.click("input[name=_save]")
        first.wait_for_selector(".messagelist .success")

        # The second, who opened the form before that save, changes the English summary.
        second.fill("#id_summary_en", "Summary written by the second editor.")
        second.click("input[name=_save]")
        second.wait_for_selector(".errornote, .errorlist.nonfield")
        told = second.inner_text(".errorlist.nonfield")
        kept = second.input_value("#id_summary_en")
        shown_title = second.input_value("#id_title_ja")

        # Having read it, they save again, on purpose.
        second.click("input[name=_save]")
        second.wait_for_selector(".messagelist .success")
        return {"told": told, "kept": kept, "shown_title": shown_title, "url_after": second.url}
    finally:
        context_a.close()
        context_b.close()


@browser_db
def test_second_editor_is_told_and_keeps_their_input(live_server, browser):
    editor("sato")
    editor("suzuki")
    case = CaseStudy.objects.published().order_by("id").first()
    change_path = f"/admin/casestudies/casestudy/{case.pk}/change/"

    walk = browser.run(two_editors, browser.browser, live_server.url, change_path)

    assert "あなたが開いた後に sato さんが変更しました" in walk["told"]
    assert "事例名 [ja]" in walk["told"]
    assert walk["kept"] == "Summary written by the second editor."
    assert walk["shown_title"] == "一人目が直した事例名"
    case.refresh_from_db()
    assert case.title_ja == "一人目が直した事例名"
    assert case.summary_en == "Summary written by the second editor."
