"""相談申込: the request form, its mails, spam protection, the admin and the retention command."""

import datetime as dt
import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from pathlib import Path
from smtplib import SMTPException
from urllib.parse import urlsplit

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core import mail, signing
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone, translation
from django.utils.html import escape
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from expertnet import consultations
from expertnet.forms import ConsultationForm, showable
from expertnet.management.commands.purge_closed_requests import ERASED
from expertnet.models import ConsultationRequest, Expert, RequestEvent, RequestStatus
from portal.tests.admin_forms import change_form

pytestmark = pytest.mark.django_db

FORM = "/expertnet/consultation/"
FORM_EN = "/en/expertnet/consultation/"
LOOKUP = "/expertnet/municipalities.json"
STAFF = ["expertnet-staff@example.go.jp"]
SITE = "https://portal.example.go.jp"
TEXT_FIELDS = ("municipality", "department", "contact_person", "email", "phone", "message")


class FailingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise SMTPException("the mail server is down")


@pytest.fixture(autouse=True)
def mail_settings(settings):
    settings.EXPERTNET_STAFF_EMAILS = STAFF
    settings.SITE_URL = SITE
    settings.EXPERTNET_REQUESTS_PER_HOUR = 5
    settings.EXPERTNET_TRUST_X_FORWARDED_FOR = False
    return settings


@pytest.fixture
def failing_mail(settings):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.FailingBackend"}}


def valid_data(**changes) -> dict:
    data = {
        "municipality": "363022",
        "department": "企画環境課",
        "contact_person": "見本 花子",
        "email": "hanako@town.example.lg.jp",
        "phone": "0885-46-0111",
        "themes": ["environment", "tourism"],
        "message": "ごみの分別を観光に生かす取組について、専門家の助言を受けたいと考えています。\n時期は来年度を考えています。",
        "preferred_experts": ["sample-expert-001"],
        "consent": "on",
        "homepage": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def post(client, data, path=FORM, **extra):
    return client.post(path, data, **extra)


def html_of(response) -> str:
    return response.content.decode()


def error_summary(html: str) -> str:
    match = re.search(r'<section class="error-summary".*?</section>', html, re.S)
    assert match, "no error summary"
    return match.group(0)


def field_error(html: str, name: str) -> str:
    match = re.search(rf'<p class="field__error" id="id_{name}_error">(.*?)</p>', html, re.S)
    return unescape(match.group(1)) if match else ""


# --- The page -----------------------------------------------------------------------------------


def test_the_form_page(client):
    response = client.get(FORM)
    html = html_of(response)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert html.count("<h1") == 1 and "<h1>専門家の紹介を申し込む</h1>" in html
    breadcrumb = re.search(r'<nav class="breadcrumbs".*?</nav>', html, re.S).group(0)
    assert re.findall(r">([^<>]+)</(?:a|span)>", breadcrumb) == ["ホーム", "地域人材ネット", "専門家の紹介を申し込む"]
    assert 'href="/expertnet/"' in breadcrumb
    assert 'href="/privacy/"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'list="municipality-options"' in html and '<datalist id="municipality-options"></datalist>' in html
    assert 'data-lookup="/expertnet/municipalities.json"' in html
    assert "maxlength" not in html.split('<form class="consultation-form"')[1]
    assert html.count("必須") >= 7  # six fields and the consent
    honeypot = re.search(r'<div class="visually-hidden" aria-hidden="true">(.*?)</div>', html, re.S).group(1)
    assert 'name="homepage"' in honeypot and 'tabindex="-1"' in honeypot and 'autocomplete="off"' in honeypot
    assert "この欄には何も入力しないでください" in honeypot
    published = Expert.objects.published().count()
    assert html.count('name="preferred_experts"') == published
    assert 'name="preferred_experts" value="sample-expert-053"' not in html  # a draft
    assert "error-summary" not in html and 'aria-invalid="true"' not in html


def test_the_english_form_page(client):
    html = html_of(client.get(FORM_EN))
    assert '<html lang="en">' in html
    assert 'action="/en/expertnet/consultation/"' in html
    assert 'href="/en/privacy/"' in html
    assert 'data-lookup="/en/expertnet/municipalities.json"' in html


def test_experts_are_preselected_from_the_query_string_and_unknown_ones_ignored(client):
    response = client.get(FORM, {"expert": ["sample-expert-001", "no-such-expert", "sample-expert-053", "\x00<"]})
    html = html_of(response)
    assert response.status_code == 200
    checked = re.findall(r'name="preferred_experts" value="([^"]+)"[^>]*checked', html)
    assert checked == ["sample-expert-001"]  # the draft 053 and the unknown slugs are ignored
    name = Expert.objects.get(slug="sample-expert-001").name
    assert f"選んでいる専門家: {name}" in html


def test_the_form_page_takes_a_bounded_number_of_queries(client, django_assert_max_num_queries):
    client.get(FORM)
    with django_assert_max_num_queries(3) as captured:
        client.get(FORM, {"expert": [f"sample-expert-{n:03d}" for n in range(1, 50)]})
    before = len(captured.captured_queries)
    template = Expert.objects.published().first()
    for n in range(30):
        extra = Expert.objects.get(pk=template.pk)
        extra.pk = None
        extra.slug = f"extra-expert-{n}"
        extra.save()
    with django_assert_max_num_queries(before):
        html = html_of(client.get(FORM))
    assert "extra-expert-29" in html


# --- A request that goes through ---------------------------------------------------------------


def test_a_request_is_saved_then_both_mails_are_sent(client):
    response = post(client, valid_data(), REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 303
    assert response["Location"].startswith("/expertnet/consultation/received/?t=")

    consultation = ConsultationRequest.objects.get()
    assert consultation.municipality_id == "363022"
    assert consultation.department == "企画環境課"
    assert consultation.email == "hanako@town.example.lg.jp"
    assert consultation.phone == "0885-46-0111"
    assert sorted(consultation.themes.values_list("key", flat=True)) == ["environment", "tourism"]
    assert list(consultation.preferred_experts.values_list("slug", flat=True)) == ["sample-expert-001"]
    assert consultation.status == RequestStatus.NEW
    assert [e.description for e in consultation.events.all()] == ["受付"]
    assert re.fullmatch(r"[0-9a-f]{64}", consultation.client_hash)
    assert "203.0.113.7" not in consultation.client_hash
    assert consultation.confirmation_sent_at and consultation.notice_sent_at

    page = client.get(response["Location"])
    html = html_of(page)
    assert page.status_code == 200
    assert consultation.reference in html and "お申込みを受け付けました" in html
    assert "受付の確認メールをお送りしました" in html
    assert 'name="robots" content="noindex"' in html

    confirmation, notice = mail.outbox
    assert confirmation.to == ["hanako@town.example.lg.jp"]
    assert consultation.reference in confirmation.subject and "受け付けました" in confirmation.subject
    for text in (
        consultation.reference,
        "徳島県上勝町",
        "企画環境課",
        "見本 花子 様",
        "0885-46-0111",
        "環境保全・SDGs、観光振興・交流",
        Expert.objects.get(slug="sample-expert-001").name,
        "時期は来年度を考えています。",
        "この後の流れ",
        f"{SITE}/contact/",
    ):
        assert text in confirmation.body, text

    assert notice.to == STAFF
    assert consultation.reference in notice.subject and "徳島県上勝町" in notice.subject
    assert f"{SITE}/admin/expertnet/consultationrequest/{consultation.pk}/change/" in notice.body
    assert "申込者への受付メール: 送信済み" in notice.body
    # Personal data stays in the admin: the notice names neither the person nor the message.
    for private in ("見本 花子", "hanako@town.example.lg.jp", "0885-46-0111", "時期は来年度"):
        assert private not in notice.body


def test_a_request_is_kept_when_the_mail_server_is_down(client, failing_mail, caplog):
    response = post(client, valid_data())
    assert response.status_code == 303
    consultation = ConsultationRequest.objects.get()
    assert consultation.confirmation_sent_at is None and consultation.notice_sent_at is None
    assert [e.description for e in consultation.events.all()] == ["受付"]
    assert "confirmation mail could not be sent" in caplog.text and "notice to staff could not be sent" in caplog.text
    html = html_of(client.get(response["Location"]))
    assert consultation.reference in html
    assert "受付の確認メールをお送りできませんでした" in html
    assert mail.outbox == []


def test_without_staff_addresses_the_request_is_kept_and_no_notice_is_sent(client, settings):
    settings.EXPERTNET_STAFF_EMAILS = []
    assert post(client, valid_data()).status_code == 303
    consultation = ConsultationRequest.objects.get()
    assert consultation.confirmation_sent_at and consultation.notice_sent_at is None
    assert [m.to for m in mail.outbox] == [["hanako@town.example.lg.jp"]]


def test_full_width_input_is_normalised(client):
    data = valid_data(
        email="ｈａｎａｋｏ＠ｔｏｗｎ．ｅｘａｍｐｌｅ．ｌｇ．ｊｐ",
        phone="（０８８５）４６ー０１１１",
        municipality="３６３０２２",
    )
    assert post(client, data).status_code == 303
    consultation = ConsultationRequest.objects.get()
    assert consultation.email == "hanako@town.example.lg.jp"
    assert consultation.phone == "(0885)46-0111"


# --- Errors -------------------------------------------------------------------------------------


def test_an_empty_form_shows_a_summary_and_an_error_at_every_required_field(client):
    response = post(client, {})
    html = html_of(response)
    assert response.status_code == 200
    assert "<title>エラー: 専門家の紹介を申し込む" in html
    summary = error_summary(html)
    assert 'id="error-summary" tabindex="-1"' in summary
    assert "入力内容を確認してください" in summary
    expected = {
        "municipality": "市区町村を入力してください",
        "department": "担当部署を入力してください",
        "contact_person": "担当者名を入力してください",
        "email": "メールアドレスを入力してください",
        "phone": "電話番号を入力してください",
        "message": "相談内容を入力してください",
        "consent": "個人情報の取扱いへの同意を確認してください",
    }
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)
    assert links == [(f"id_{name}", message) for name, message in expected.items()]
    for name, message in expected.items():
        assert field_error(html, name) == message
        tag = re.search(rf'<(?:input|textarea)[^>]*id="id_{name}"[^>]*>', html).group(0)
        assert 'aria-invalid="true"' in tag
        assert f"id_{name}_error" in re.search(r'aria-describedby="([^"]+)"', tag).group(1)
    assert ConsultationRequest.objects.count() == 0 and mail.outbox == []


def test_errors_are_in_english_on_the_english_form(client):
    html = html_of(post(client, {}, path=FORM_EN))
    assert '<html lang="en">' in html
    with translation.override("en"):
        heading = translation.gettext("入力内容を確認してください")
        required = str(ConsultationForm.base_fields["department"].error_messages["required"])
    assert heading in error_summary(html)
    assert field_error(html, "department") == required


def test_what_was_typed_stays_in_the_form_after_an_error(client):
    data = valid_data(phone="12345", consent=None)
    html = html_of(post(client, data))
    assert field_error(html, "phone").startswith("電話番号は、市外局番から10桁または11桁の数字で")
    assert field_error(html, "consent") == "個人情報の取扱いへの同意を確認してください"
    assert 'name="municipality" value="363022"' in html
    assert 'name="department" value="企画環境課"' in html
    assert 'name="contact_person" value="見本 花子"' in html
    assert 'name="email" value="hanako@town.example.lg.jp"' in html
    assert 'name="phone" value="12345"' in html
    assert escape(data["message"]) in html
    assert re.search(r'name="themes" value="tourism"[^>]*checked', html)
    assert re.search(r'name="preferred_experts" value="sample-expert-001"[^>]*checked', html)
    assert not re.search(r'name="consent"[^>]*checked', html)


def test_an_oversized_field_gets_a_clear_error_with_the_count(client):
    html = html_of(post(client, valid_data(department="部" * 250, message="あ" * 4001)))
    assert field_error(html, "department") == "担当部署は200文字以内で入力してください(現在 250 文字)"
    assert field_error(html, "message") == "相談内容は4000文字以内で入力してください(現在 4001 文字)"
    assert 'value="' + "部" * 250 + '"' in html
    assert ConsultationRequest.objects.count() == 0


def test_control_characters_and_nul_bytes_are_errors_at_their_field(client):
    response = post(
        client, valid_data(department="企画\x00環境課", contact_person="見本\x1b花子", message="本文\x07です")
    )
    html = html_of(response)
    assert response.status_code == 200
    for name in ("department", "contact_person", "message"):
        assert "入力できない文字(制御文字など)が含まれていたため、取り除きました" in field_error(html, name)
    assert 'name="department" value="企画環境課"' in html  # shown without the characters
    assert "\x00" not in html and "\x1b" not in html and "\x07" not in html
    assert ConsultationRequest.objects.count() == 0


def test_invalid_utf8_is_an_error_at_its_field_and_the_rest_is_kept(client):
    body = "&".join(
        f"{k}={v}"
        for k, v in {
            "municipality": "363022",
            "department": "%E4%BC%81%FF%FE",  # 企 and two bytes that are not UTF-8
            "contact_person": "%E8%A6%8B%E6%9C%AC",  # 見本
            "email": "a%40example.jp",
            "phone": "03-5253-5111",
            "message": "%C3",  # a truncated sequence
            "consent": "on",
        }.items()
    )
    response = client.post(FORM, body, content_type="application/x-www-form-urlencoded")
    html = html_of(response)
    assert response.status_code == 200
    assert "正しく読み取れない文字(�)が含まれています" in field_error(html, "department")
    assert "正しく読み取れない文字" in field_error(html, "message")
    assert 'name="contact_person" value="見本"' in html
    assert ConsultationRequest.objects.count() == 0


def test_broken_and_oversized_requests_get_a_4xx():
    client = Client(raise_request_exception=False)
    no_boundary = client.post(
        FORM, b"--x\r\nContent-Disposition: form-data\r\n\r\n", content_type="multipart/form-data"
    )
    assert no_boundary.status_code == 400
    assert "リクエストが正しくありません" in html_of(no_boundary)
    garbage = client.post(FORM, b"garbage", content_type="multipart/form-data; boundary=" + "x" * 80)
    assert garbage.status_code in (200, 400)
    huge = client.post(FORM, valid_data(message="あ" * 4_000_000))
    assert huge.status_code == 400
    many = client.post(FORM, {f"f{n}": "x" for n in range(1500)})
    assert many.status_code == 400
    english = client.post(FORM_EN, valid_data(message="あ" * 4_000_000))
    assert english.status_code == 400 and '<html lang="en">' in html_of(english)
    assert client.put(FORM).status_code == 405
    assert ConsultationRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("0885460111", ""),
        ("03-5253-5111", ""),
        ("090 1234 5678", ""),
        ("(03)5253-5111", ""),
        ("03-5253-511", "電話番号は"),  # 9 digits
        ("090-1234-56789", "電話番号は"),  # 12 digits
        ("+81-3-5253-5111", "電話番号は"),
        ("03-5253-5111 内線 123", "電話番号は"),
        ("1" * 41, "電話番号は40文字以内で入力してください(現在 41 文字)"),
    ],
)
def test_phone_numbers_are_checked_loosely(value, error):
    form = ConsultationForm(valid_data(phone=value))
    form.is_valid()
    message = " ".join(form.errors.get("phone", []))
    assert message.startswith(error) if error else message == ""


@pytest.mark.parametrize("value", ["hanako", "hanako@", "@example.jp", "hanako@example", "a b@example.jp"])
def test_a_malformed_email_address_is_refused(value):
    form = ConsultationForm(valid_data(email=value))
    assert not form.is_valid()
    assert form.errors["email"] == ["メールアドレスの形式が正しくありません(例: chiiki@city.example.lg.jp)"]


def test_values_that_are_not_choices_are_one_clear_error(client):
    html = html_of(
        post(client, valid_data(themes=["tourism", "no-such-theme"], preferred_experts=["sample-expert-053"]))
    )
    assert field_error(html, "themes") == "相談したい分野に、選択肢にない値が含まれています。選び直してください"
    assert (
        field_error(html, "preferred_experts") == "希望する専門家に、選択肢にない値が含まれています。選び直してください"
    )
    assert '<a href="#id_themes_0">' in error_summary(html)


# --- The municipality ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("363022", "363022"),
        ("３６３０２２", "363022"),
        ("36302", "363022"),  # without the check digit
        ("363022 徳島県上勝町", "363022"),  # as the suggestion list gives it
        ("363022　上勝町", "363022"),
        ("上勝町", "363022"),
        ("徳島県上勝町", "363022"),
        ("徳島県 上勝町", "363022"),
        ("かみかつちょう", "363022"),
        ("カミカツチョウ", "363022"),
        ("札幌市中央区", "011011"),
        ("北海道札幌市中央区", "011011"),
        ("東京都府中市", "132063"),
        ("広島県府中市", "342084"),
        ("東京都中央区", "131024"),
        ("龍ヶ崎市", "082082"),  # officially 龍ケ崎市
        ("茅ケ崎市", "142077"),  # officially 茅ヶ崎市
    ],
)
def test_a_municipality_by_code_or_name(text, code):
    form = ConsultationForm(valid_data(municipality=text))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["municipality"].code == code


def municipality_error(text: str) -> str:
    form = ConsultationForm(valid_data(municipality=text))
    assert not form.is_valid()
    return form.errors["municipality"][0]


def test_an_ambiguous_name_lists_the_candidates_with_their_codes():
    message = municipality_error("府中市")
    assert message.startswith("「府中市」という名前の市区町村は複数あります。次の中から選び、コードを付けて")
    assert "132063 東京都府中市" in message and "342084 広島県府中市" in message
    wards = municipality_error("中央区")
    for candidate in ("011011 北海道札幌市中央区", "131024 東京都中央区", "271284 大阪府大阪市中央区"):
        assert candidate in wards


def test_an_unknown_municipality_or_code_is_a_clear_error():
    assert municipality_error("存在しない町").startswith("「存在しない町」に当たる市区町村が見つかりません")
    assert municipality_error("999999").startswith("市区町村コード「999999」に当たる市区町村はありません")
    assert municipality_error("上勝").startswith("「上勝」に当たる市区町村が見つかりません")
    mismatch = municipality_error("363022 徳島県神山町")
    assert mismatch.startswith("市区町村コード「363022」は徳島県上勝町のコードで、「徳島県神山町」とは一致しません")


def test_the_suggestion_list(client):
    def lookup(q):
        response = client.get(LOOKUP, {"q": q})
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        return response.json()

    assert {"code": "363022", "name": "徳島県上勝町"} in lookup("上勝")
    assert lookup("36302") == [{"code": "363022", "name": "徳島県上勝町"}]
    assert lookup("かみかつ")[0]["code"] == "363022"
    assert {"code": "363022", "name": "徳島県上勝町"} in lookup("徳島県上")
    assert {"code": "011011", "name": "北海道札幌市中央区"} in lookup("札幌市中")
    assert {"code": "082082", "name": "茨城県龍ケ崎市"} in lookup("龍ヶ崎")
    assert all(item["name"].startswith("東京都") for item in lookup("東京都"))
    assert len(lookup("0")) == 20
    assert lookup("") == [] and lookup("   ") == []
    for odd in ("\x00", "%", "_", "'; --", "あ" * 5000, "\ud7ff", "\ufffd", "<script>"):
        assert isinstance(lookup(odd), list)
    response = client.get(LOOKUP, {"q": "上勝"})
    assert "public" in response["Cache-Control"] and "max-age=3600" in response["Cache-Control"]
    assert "Cookie" not in response.get("Vary", "")
    assert client.post(LOOKUP, {"q": "上勝"}).status_code == 405
    assert client.get("/en" + LOOKUP, {"q": "上勝"}).json()[0]["code"] == "363022"


# --- CSRF and spam ------------------------------------------------------------------------------


def test_csrf_is_enforced():
    browser = Client(enforce_csrf_checks=True)
    refused = browser.post(FORM, valid_data())
    assert refused.status_code == 403
    assert "フォームの有効期限が切れています" in html_of(refused)
    page = html_of(browser.get(FORM))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert browser.post(FORM, valid_data(csrfmiddlewaretoken=token)).status_code == 303
    assert ConsultationRequest.objects.count() == 1


def test_a_filled_honeypot_pretends_success_but_saves_and_sends_nothing(client):
    response = post(client, valid_data(homepage="https://spam.example/"))
    assert response.status_code == 303
    html = html_of(client.get(response["Location"]))
    assert "お申込みを受け付けました" in html
    assert "受付番号" not in html
    assert ConsultationRequest.objects.count() == 0 and mail.outbox == []


def test_the_rate_limit_per_address_and_hour(client):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            assert post(client, valid_data(), REMOTE_ADDR="198.51.100.9").status_code == 303
        refused = post(client, valid_data(message="6件目の相談です。"), REMOTE_ADDR="198.51.100.9")
        assert refused.status_code == 429
        assert refused["Retry-After"] == "3600"
        html = html_of(refused)
        assert "<h1>申込みの回数が上限に達しました</h1>" in html
        assert "1時間に 5 件までです" in html
        assert "6件目の相談です。" in html  # the unsent text, to copy
        # Another address is not limited.
        assert post(client, valid_data(), REMOTE_ADDR="198.51.100.10").status_code == 303
    assert ConsultationRequest.objects.count() == 6
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        assert post(client, valid_data(), REMOTE_ADDR="198.51.100.9").status_code == 303
    assert ConsultationRequest.objects.count() == 7


def test_x_forwarded_for_counts_only_when_trusted(client, settings):
    for n in range(5):
        assert post(client, valid_data(), HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code == 303
    assert post(client, valid_data(), HTTP_X_FORWARDED_FOR="192.0.2.99").status_code == 429  # same REMOTE_ADDR
    settings.EXPERTNET_TRUST_X_FORWARDED_FOR = True
    # The proxy's entry is the last one; a forged first entry changes nothing.
    assert post(client, valid_data(), HTTP_X_FORWARDED_FOR="10.0.0.1, 192.0.2.50").status_code == 303
    hashes = set(ConsultationRequest.objects.values_list("client_hash", flat=True))
    assert len(hashes) == 2


# --- The confirmation page ----------------------------------------------------------------------


def test_the_confirmation_page_needs_a_valid_recent_token(client):
    assert client.get("/expertnet/consultation/received/")["Location"] == FORM
    bad = client.get("/expertnet/consultation/received/", {"t": "R-000001"})
    assert bad.status_code == 400
    assert "受付の確認画面を表示できません" in html_of(bad)
    forged = signing.dumps({"r": 1, "m": 1}, salt="another purpose")
    assert client.get("/expertnet/consultation/received/", {"t": forged}).status_code == 400
    response = post(client, valid_data())
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2)):
        assert client.get(response["Location"]).status_code == 400
    english = client.get("/en/expertnet/consultation/received/", {"t": "x"})
    assert english.status_code == 400 and '<html lang="en">' in html_of(english)


# --- Admin --------------------------------------------------------------------------------------


def make_request(**changes) -> ConsultationRequest:
    form = ConsultationForm(valid_data())
    assert form.is_valid(), form.errors
    consultation = consultations.save_request(form.cleaned_data, "0" * 64)
    if changes:
        ConsultationRequest.objects.filter(pk=consultation.pk).update(**changes)
        consultation.refresh_from_db()
    return consultation


def admin_path(consultation=None, what="change") -> str:
    base = f"/{django_settings.ADMIN_PATH}expertnet/consultationrequest/"
    return f"{base}{consultation.pk}/{what}/" if consultation else base


def change(admin_client, consultation, **values):
    """Post the admin change form as a browser would, with ``values`` changed."""
    data = change_form(admin_client, admin_path(consultation))
    data.update(
        status=consultation.status,
        assignee=consultation.assignee_id or "",
        staff_note=consultation.staff_note,
        department="書き換えようとした部署",  # read-only: ignored
    )
    data.update(values)
    response = admin_client.post(admin_path(consultation), data)
    assert response.status_code == 302, html_of(response)[:3000]
    consultation.refresh_from_db()
    return consultation


def test_admin_status_changes_write_history_and_closed_at(admin_client, admin_user, django_user_model):
    consultation = make_request()
    colleague = django_user_model.objects.create_user("colleague", is_staff=True)

    change(admin_client, consultation, status=RequestStatus.IN_PROGRESS, assignee=colleague.pk)
    assert consultation.status == RequestStatus.IN_PROGRESS and consultation.assignee == colleague
    assert consultation.department == "企画環境課"  # personal fields are read-only
    assert consultation.closed_at is None

    change(admin_client, consultation, status=RequestStatus.CLOSED)
    assert consultation.closed_at is not None

    change(admin_client, consultation, status=RequestStatus.INTRODUCED)
    assert consultation.closed_at is None  # reopened

    events = list(consultation.events.values_list("description", "user__username"))
    assert events == [
        ("受付", None),
        ("対応状況を「新規」から「対応中」に変更", admin_user.username),
        ("担当者を「なし」から「colleague」に変更", admin_user.username),
        ("対応状況を「対応中」から「完了」に変更", admin_user.username),
        ("対応状況を「完了」から「紹介済」に変更", admin_user.username),
    ]
    html = html_of(admin_client.get(admin_path(consultation)))
    assert "対応状況を「完了」から「紹介済」に変更" in html  # the history inline
    assert 'name="department"' not in html and "企画環境課" in html


def test_admin_list_search_filters_and_no_adding(admin_client):
    consultation = make_request()
    html = html_of(admin_client.get(admin_path(), {"q": "企画環境"}))
    assert consultation.reference in html and "徳島県上勝町" in html
    assert html_of(admin_client.get(admin_path(), {"q": "見本 花子"})).count(consultation.reference) >= 1
    assert consultation.reference not in html_of(admin_client.get(admin_path(), {"q": "存在しない"}))
    assert admin_client.get(admin_path(), {"status__exact": "new"}).status_code == 200
    assert admin_client.get(admin_path() + "add/").status_code == 403


def test_admin_resends_the_mails_that_were_not_sent(admin_client, settings):
    consultation = make_request()
    assert consultation.confirmation_sent_at is None
    data = {"action": "resend_mails", "_selected_action": [consultation.pk]}
    response = admin_client.post(admin_path(), data, follow=True)
    assert "2 通のメールを再送しました。" in html_of(response)
    consultation.refresh_from_db()
    assert consultation.confirmation_sent_at and consultation.notice_sent_at
    assert [m.to for m in mail.outbox] == [["hanako@town.example.lg.jp"], STAFF]
    assert list(consultation.events.values_list("description", flat=True))[-2:] == [
        "受付メールを再送",
        "職員への通知を再送",
    ]
    again = admin_client.post(admin_path(), data, follow=True)
    assert "未送信のメールはありません" in html_of(again)
    assert len(mail.outbox) == 2


# --- Retention ----------------------------------------------------------------------------------


def test_personal_data_is_erased_after_the_retention_period(settings, capsys):
    settings.EXPERTNET_RETENTION_DAYS = 365
    closed = make_request(status=RequestStatus.CLOSED, closed_at=timezone.now())
    still_open = make_request(status=RequestStatus.INTRODUCED)

    call_command("purge_closed_requests")
    closed.refresh_from_db()
    assert closed.personal_data_erased_at is None and closed.email == "hanako@town.example.lg.jp"

    with time_machine.travel(timezone.now() + dt.timedelta(days=366)):
        call_command("purge_closed_requests", "--dry-run")
        assert f"would erase {closed.reference}" in capsys.readouterr().out
        closed.refresh_from_db()
        assert closed.personal_data_erased_at is None

        call_command("purge_closed_requests")
        closed.refresh_from_db()
        assert closed.department == closed.contact_person == closed.message == ERASED
        assert closed.email == "" and closed.phone == "" and closed.client_hash == ""
        assert closed.personal_data_erased_at is not None
        assert closed.municipality_id == "363022" and closed.themes.count() == 2  # the statistics stay
        assert closed.events.last().description == "保存期間を過ぎたため、個人情報を削除"

        call_command("purge_closed_requests")  # idempotent
        assert closed.events.count() == 2
    still_open.refresh_from_db()
    assert still_open.email == "hanako@town.example.lg.jp" and still_open.personal_data_erased_at is None
    assert RequestEvent.objects.filter(description__startswith="保存期間").count() == 1


# --- Arbitrary input ----------------------------------------------------------------------------

ANY_TEXT = st.one_of(
    st.text(max_size=80),
    st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=3), st.integers(500, 2500)),
)


@override_settings(EXPERTNET_REQUESTS_PER_HOUR=10_000)
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.fixed_dictionaries(dict.fromkeys(TEXT_FIELDS, ANY_TEXT)),
    themes=st.lists(st.text(max_size=20), max_size=4),
    experts=st.lists(st.one_of(st.text(max_size=20), st.sampled_from(["sample-expert-001", "sample-expert-002"]))),
    consent=st.sampled_from(["", "on", "false", "\x00"]),
    lang=st.sampled_from(["", "/en"]),
)
def test_arbitrary_input_never_gives_a_server_error_and_stays_in_the_form(values, themes, experts, consent, lang):
    data = {**values, "themes": themes, "preferred_experts": experts, "consent": consent}
    response = Client(raise_request_exception=False).post(lang + FORM, data)
    assert response.status_code < 500
    if response.status_code != 200:
        assert response.status_code == 303
        return
    html = html_of(response)
    assert "入力内容を確認してください" in html or lang
    for name, value in values.items():
        shown = showable(value)
        if shown.strip():
            assert escape(shown) in html, name


# --- Valid HTML and accessibility of the error state (the crawl only GETs) ----------------------

BASE_DIR = Path(django_settings.BASE_DIR)
VNU_JAR = BASE_DIR / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def require(available: bool, what: str) -> None:
    """Like tests/conftest.py: skip without the tool, fail in CI (CI_REQUIRE_BROWSER)."""
    import os

    if not available:
        if os.environ.get("CI_REQUIRE_BROWSER"):
            pytest.fail(f"{what} is not available, and CI_REQUIRE_BROWSER is set", pytrace=False)
        pytest.skip(f"{what} is not available")


@pytest.mark.browser
def test_the_states_the_crawl_cannot_reach_are_valid_html(client, tmp_path, failing_mail):
    java = shutil.which("java")
    require(bool(java) and VNU_JAR.is_file(), "java and vnu.jar")
    pages = {}
    for lang in ("", "/en"):
        pages[f"errors{lang.replace('/', '-')}"] = post(
            client, valid_data(municipality="中央区", department="部" * 201, phone="1", consent=None), lang + FORM
        )
        pages[f"odd{lang.replace('/', '-')}"] = post(
            client, valid_data(email="<a>\x00\x0b\ufffe", message="\x01\x7f\x9f本文"), lang + FORM
        )
        received = post(client, valid_data(), lang + FORM)
        pages[f"received{lang.replace('/', '-')}"] = client.get(received["Location"])
        pages[f"received-invalid{lang.replace('/', '-')}"] = client.get(
            lang + "/expertnet/consultation/received/", {"t": "x"}
        )
    with override_settings(EXPERTNET_REQUESTS_PER_HOUR=0):
        pages["rate-limited"] = post(client, valid_data(message="<b>控え</b>\x00"))
        pages["rate-limited-en"] = post(client, valid_data(), FORM_EN)
    files = []
    for name, response in pages.items():
        assert response.status_code in (200, 400, 429), name
        file = tmp_path / f"{name}.html"
        file.write_bytes(response.content)
        files.append(str(file))
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--format", "json", "--stdout", *files],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    messages = [m for m in json.loads(result.stdout)["messages"] if m.get("type") in {"error", "non-document-error"}]
    problems = [
        f"{Path(urlsplit(m.get('url', '')).path).name}: {m.get('message')} [{m.get('extract')}]" for m in messages
    ]
    assert not problems, "\n".join(problems)


def browser_walk(base_url: str) -> dict:
    """In a thread of its own (see tests/conftest.py, BrowserThread): the form with the real CSP,
    then axe-core on the error state with the CSP bypassed (as the crawl does)."""
    from playwright.sync_api import sync_playwright

    walk = {"console": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"],
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.on("console", lambda m: walk["console"].append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: walk["console"].append(str(e)))
            page.goto(base_url + FORM)
            # The suggestion list fills from municipalities.json while typing.
            page.fill("#id_municipality", "上勝")
            page.wait_for_selector("#municipality-options option", state="attached")
            walk["options"] = page.eval_on_selector_all("#municipality-options option", "os => os.map(o => o.value)")
            # The expert filter appears, and Enter in it does not send the form.
            walk["filter_visible"] = page.is_visible("#expert-filter")
            page.fill("#expert-filter", "いちれい")
            page.press("#expert-filter", "Enter")
            walk["shown"] = page.eval_on_selector_all(
                "#expert-choices li.choice", "ls => ls.filter(l => !l.hidden).length"
            )
            walk["count_text"] = page.text_content(".choices__count")
            walk["url_after_enter"] = page.url
            # Send with errors: the page comes back with the summary focused.
            page.fill("#id_municipality", "中央区")
            with page.expect_navigation():
                page.click(".consultation-form button[type=submit]")
            walk["focused"] = page.evaluate("document.activeElement.id")
            walk["title"] = page.title()
            context.close()

            context = browser.new_context(viewport={"width": 640, "height": 800}, locale="ja-JP", bypass_csp=True)
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(base_url + FORM)
            page.fill("#id_municipality", "中央区")
            page.fill("#id_phone", "12")
            with page.expect_navigation():
                page.click(".consultation-form button[type=submit]")
            page.add_script_tag(path=str(AXE_JS))
            walk["axe"] = page.evaluate(
                """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
                  .then(r => r.violations.map(v => v.id + ': ' + v.help + ' -> ' + v.nodes.map(n => n.target.join(' ')).join(', ')))""",
                AXE_TAGS,
            )
            walk["scroll"] = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            context.close()
        finally:
            browser.close()
    return walk


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_form_in_a_browser(live_server):
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require(False, "the playwright package")
    require(CHROMIUM.is_file() and AXE_JS.is_file(), f"{CHROMIUM} and {AXE_JS}")
    with ThreadPoolExecutor(max_workers=1) as pool:
        walk = pool.submit(browser_walk, live_server.url).result()
    assert "363022 徳島県上勝町" in walk["options"]
    assert walk["filter_visible"]
    assert walk["shown"] == Expert.objects.published().filter(name_kana__startswith="いちれい").count() > 0
    assert walk["count_text"] == f"{walk['shown']} 人を表示しています"
    assert walk["url_after_enter"].endswith(FORM)
    assert walk["focused"] == "error-summary"
    assert walk["title"].startswith("エラー: ")
    assert walk["axe"] == []
    assert walk["scroll"][0] <= walk["scroll"][1]
    assert walk["console"] == []
