"""地域力創造セミナー: list, event page, iCalendar, Atom, search, sitemap and admin."""

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expertnet import seminars
from expertnet.models import Expert, Seminar, SeminarDocument, SeminarSession, SessionKind
from portal.models import Municipality, SearchEntry, Theme
from portal.publishing import PublishState
from portal.tests.sitemap_files import sitemap_text

pytestmark = pytest.mark.django_db

JST = dt.timezone(dt.timedelta(hours=9))
TODAY = dt.datetime(2026, 11, 29, 12, 0, tzinfo=JST)  # the sample data's "today"
ATOM = {"a": "http://www.w3.org/2005/Atom"}
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
TRICKY_TITLE = (
    "地域力創造セミナー、豪雪地帯の冬の暮らし;雪下ろしの担い手\\除雪の協働,集落の見守りと"
    "移住者の受入れを考える二日間\n(第二部)長い題名が七十五オクテットを何度も超えて折り返されることを確かめる"
)


@pytest.fixture
def today():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def make_seminar(slug="test-seminar", *, days=30, hours=5, state=PublishState.PUBLISHED, published_at=None, **extra):
    starts = timezone.now() + dt.timedelta(days=days)
    fields = {
        "slug": slug,
        "title_ja": f"テストのセミナー {slug}",
        "starts_at": starts,
        "ends_at": starts + dt.timedelta(hours=hours),
        "municipality": Municipality.objects.get(code="202053"),
        "venue_ja": "市民会館 大ホール",
        "summary_ja": "テストのセミナーの概要です。",
        "state": state,
        "published_at": published_at or (timezone.now() - dt.timedelta(days=1)),
    }
    fields.update(extra)
    return Seminar.objects.create(**fields)


def section(html: str, heading_id: str) -> str:
    match = re.search(rf'<section class="section" aria-labelledby="{heading_id}">(.*?)</section>', html, re.S)
    return match.group(1) if match else ""


def slugs_in(fragment: str) -> list[str]:
    return re.findall(r'href="(?:/en)?/expertnet/seminars/([\w-]+)/"', fragment)


def json_ld(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))


# --- A strict reading of RFC 5545 ---------------------------------------------------------------

TEXT_PROPERTIES = {"SUMMARY", "LOCATION", "DESCRIPTION", "X-WR-CALNAME"}


def unescape_text(value: str) -> str:
    """A TEXT value as RFC 5545 3.3.11 reads it; fails on a bare ``,`` or ``;`` or a bad escape."""
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            escaped = next(chars)
            assert escaped in "\\;,nN", f"bad escape \\{escaped} in {value!r}"
            out.append("\n" if escaped in "nN" else escaped)
        else:
            assert char not in ",;", f"unescaped {char!r} in {value!r}"
            out.append(char)
    return "".join(out)


def parse_ics(body: bytes) -> list[dict]:
    """The VEVENTs of a calendar as {name: value} (TEXT values unescaped), after checking the lines."""
    assert body.endswith(b"\r\n")
    physical = body.split(b"\r\n")[:-1]
    for raw in physical:
        assert b"\r" not in raw and b"\n" not in raw, "a bare CR or LF"
        assert len(raw) <= 75, f"{len(raw)} octets: {raw!r}"
        raw.decode("utf-8")  # every physical line is whole UTF-8: no character was split
    logical = []
    for line in (raw.decode("utf-8") for raw in physical):
        if line.startswith((" ", "\t")):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    assert logical[0] == "BEGIN:VCALENDAR" and logical[-1] == "END:VCALENDAR"
    calendar, events, current = {}, [], None
    for line in logical[1:-1]:
        name, value = line.split(":", 1)
        assert re.fullmatch(r"[A-Z-]+", name), name
        if name in TEXT_PROPERTIES:
            value = unescape_text(value)
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is None:
            calendar[name] = value
        else:
            assert name not in current, f"{name} twice"
            current[name] = value
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    for event in events:
        for required in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "LOCATION", "DESCRIPTION", "URL"):
            assert required in event, f"{required} missing"
        for stamp in ("DTSTAMP", "DTSTART", "DTEND"):
            assert re.fullmatch(r"\d{8}T\d{6}Z", event[stamp]), event[stamp]
    return events


def utc(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


# --- The sample data ----------------------------------------------------------------------------


def test_the_sample_seminars_are_published_and_marked_as_sample(today):
    sample = Seminar.objects.published()
    assert sample.count() == 10 and all(s.is_sample for s in sample)
    assert seminars.upcoming().count() == 5 and seminars.past().count() == 5
    assert all(s.sessions.exists() for s in sample)


# --- The list -----------------------------------------------------------------------------------


def test_list_shows_upcoming_soonest_first_and_past_latest_first(client, today):
    html = client.get("/expertnet/seminars/").content.decode()
    assert html.count("<h1>") == 1
    upcoming = slugs_in(section(html, "upcoming-heading"))
    past = slugs_in(section(html, "past-heading"))
    assert upcoming == [f"sample-seminar-{n:02d}" for n in (6, 7, 8, 9, 10)]
    assert past == [f"sample-seminar-{n:02d}" for n in (5, 4, 3, 2, 1)]
    assert "令和9年(2027年)1月21日(木)13:00" in html and "1月22日(金)12:00" in html
    assert "長野県飯田市" in section(html, "past-heading")
    breadcrumb = re.search(r'<nav class="breadcrumbs".*?</nav>', html, re.S).group(0)
    assert "地域人材ネット" in breadcrumb and 'aria-current="page">地域力創造セミナー<' in breadcrumb


def test_the_split_moves_with_the_clock(client):
    with time_machine.travel(dt.datetime(2027, 3, 1, 9, 0, tzinfo=JST), tick=False):
        html = client.get("/expertnet/seminars/").content.decode()
    assert slugs_in(section(html, "upcoming-heading")) == [f"sample-seminar-{n:02d}" for n in (8, 9, 10)]
    past = slugs_in(section(html, "past-heading"))
    assert past[:3] == ["sample-seminar-07", "sample-seminar-06", "sample-seminar-05"]
    # A seminar that is on now is still upcoming, marked 開催中, until it ends.
    with time_machine.travel(dt.datetime(2027, 1, 22, 10, 0, tzinfo=JST), tick=False):
        html = client.get("/expertnet/seminars/").content.decode()
        detail = client.get("/expertnet/seminars/sample-seminar-06/").content.decode()
    upcoming = section(html, "upcoming-heading")
    assert slugs_in(upcoming)[0] == "sample-seminar-06" and "開催中" in upcoming
    assert "開催中" in detail
    with time_machine.travel(dt.datetime(2027, 12, 1, 9, 0, tzinfo=JST), tick=False):
        html = client.get("/expertnet/seminars/").content.decode()
    assert slugs_in(section(html, "upcoming-heading")) == []
    assert "開催予定のセミナーは、いまはありません。" in html
    assert len(slugs_in(section(html, "past-heading"))) == 10


def test_every_sample_seminar_is_marked_as_sample_on_the_list(client, today):
    html = client.get("/expertnet/seminars/").content.decode()
    assert html.count("tag--sample") == 10
    assert "動作確認のために作った架空のデータです" in html
    make_seminar("real-one", days=5)
    html = client.get("/expertnet/seminars/").content.decode()
    card = re.search(r'<li class="case-card seminar-card">(?:(?!</li>).)*real-one.*?</li>', html, re.S).group(0)
    assert "tag--sample" not in card


def test_past_seminars_are_paginated_and_bad_pages_are_404(client, today):
    for page in ("2", "0", "-1", "x", "1.5", "999999999999999999999", "", "１０"):
        response = client.get("/expertnet/seminars/", {"page": page})
        assert response.status_code == 404, page
        assert "<h1>" in response.content.decode()
    for n in range(20):
        make_seminar(f"old-{n:02d}", days=-1000 - n)  # before every sample seminar
    first = client.get("/expertnet/seminars/").content.decode()
    assert len(slugs_in(section(first, "past-heading"))) == 20
    assert 'href="?page=2"' in first
    second = client.get("/expertnet/seminars/", {"page": "2"})
    assert second.status_code == 200
    html = second.content.decode()
    assert 'id="upcoming-heading"' not in html  # the upcoming seminars are on the first page only
    assert slugs_in(section(html, "past-heading")) == ["old-15", "old-16", "old-17", "old-18", "old-19"]
    assert "(2ページ目)" in html
    assert client.get("/expertnet/seminars/", {"page": "3"}).status_code == 404


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(st.sampled_from(["page", "q", "theme", "x"]), st.text(max_size=30), max_size=4),
    raw=st.text(max_size=40),
    lang=st.sampled_from(["", "/en"]),
)
def test_no_query_string_gives_a_server_error(params, raw, lang):
    client = Client(raise_request_exception=False)
    assert client.get(f"{lang}/expertnet/seminars/", params).status_code in (200, 404)
    assert client.get(f"{lang}/expertnet/seminars/?{quote(raw, safe='=&;')}").status_code in (200, 404)


def test_only_get_and_head_are_allowed(client):
    for path in ("/expertnet/seminars/", "/expertnet/seminars/sample-seminar-07/", "/expertnet/seminars/feed.atom"):
        assert client.post(path).status_code == 405
        assert client.head(path).status_code == 200


# --- The event page -----------------------------------------------------------------------------


def test_detail_page_shows_the_event_and_its_programme(client, today):
    seminar = Seminar.objects.get(slug="sample-seminar-07")
    html = client.get(seminar.get_absolute_url()).content.decode()
    assert html.count("<h1") == 1 and "地域力創造セミナー in 鳥取(サンプル)" in html
    assert (
        '<time datetime="2027-02-04T13:00+09:00">令和9年(2027年)2月4日(木)13:00</time>〜'
        '<time datetime="2027-02-05T12:00+09:00">2月5日(金)12:00</time>'
    ) in html
    assert "鳥取県鳥取市" in html and seminar.venue_ja in html and seminar.theme.name_ja in html
    assert "100人" in html and "参加費無料" in html
    for label in ("講演", "分科会", "パネルディスカッション", "現地視察"):
        assert f"<td>{label}</td>" in html
    for session in seminar.sessions.all():
        assert session.title_ja in html
        for expert in session.speakers.all():
            assert f'<a href="/expertnet/experts/{expert.slug}/">{expert.name_ja}</a>' in html
    assert 'href="/expertnet/seminars/sample-seminar-07/event.ics"' in html
    assert 'href="/expertnet/consultation/"' in html
    assert "tag--active" in html and "開催予定" in html
    assert "サンプルデータ" in html and "架空のデータ" in html
    breadcrumb = re.search(r'<nav class="breadcrumbs".*?</nav>', html, re.S).group(0)
    assert re.findall(r">([^<>]+)</(?:a|span)>", breadcrumb) == [
        "ホーム",
        "地域人材ネット",
        "地域力創造セミナー",
        seminar.title_ja,
    ]
    assert 'property="og:title" content="地域力創造セミナー in 鳥取(サンプル)"' in html


def test_detail_page_json_ld_is_an_event(client, today):
    seminar = Seminar.objects.get(slug="sample-seminar-07")
    data = json_ld(client.get(seminar.get_absolute_url()).content.decode())
    assert data["@type"] == "Event" and data["name"] == seminar.title_ja
    assert data["startDate"] == "2027-02-04T13:00:00+09:00" and data["endDate"] == "2027-02-05T12:00:00+09:00"
    assert data["location"]["address"]["addressLocality"] == "鳥取市"
    assert data["location"]["address"]["addressRegion"] == "鳥取県"
    assert data["maximumAttendeeCapacity"] == 100
    assert {p["url"].rsplit("/", 2)[-2] for p in data["performer"]} == set(
        Expert.objects.filter(sessions__seminar=seminar).values_list("slug", flat=True)
    )


def test_past_seminar_says_it_has_ended(client, today):
    html = client.get("/expertnet/seminars/sample-seminar-01/").content.decode()
    assert "このセミナーは終了しました。" in html and "開催済み" in html
    assert "参加費無料" not in html


def test_english_page(client, today):
    html = client.get("/en/expertnet/seminars/sample-seminar-07/").content.decode()
    assert '<html lang="en">' in html and html.count("<h1") == 1
    assert Seminar.objects.get(slug="sample-seminar-07").title_en in html
    assert '<time datetime="2027-02-04T13:00+09:00">Thu 4 February 2027, 13:00</time>' in html
    assert '<span lang="ja">鳥取市</span>, Tottori' in html
    assert 'href="/en/expertnet/experts/' in html
    assert json_ld(html)["inLanguage"] == "en"


def test_speakers_link_only_to_public_experts(client, today):
    seminar = make_seminar("with-a-draft-speaker")
    public, draft = list(Expert.objects.published()[:2])
    draft.state = PublishState.DRAFT
    draft.save()
    session = SeminarSession.objects.create(
        seminar=seminar,
        starts_at=seminar.starts_at,
        kind=SessionKind.PANEL,
        title_ja="パネルの題目",
        other_speakers_ja="地元の商店主",
    )
    session.speakers.set([public, draft])
    html = client.get(seminar.get_absolute_url()).content.decode()
    assert f'<a href="{public.get_absolute_url()}">{public.name_ja}</a>' in html
    assert f"<span>{draft.name_ja}</span>" in html and draft.get_absolute_url() not in html
    assert "地元の商店主" in html
    # Sample experts on a seminar that is not sample data are marked as sample.
    assert public.is_sample and "tag--sample" in html
    assert [p["name"] for p in json_ld(html)["performer"]] == [public.name_ja]


def test_documents_show_their_type_and_size(client, media, today):
    seminar = make_seminar("with-documents")
    SeminarDocument.objects.create(seminar=seminar, title_ja="当日の資料", file=ContentFile(PDF_BYTES, name="a.pdf"))
    html = client.get(seminar.get_absolute_url()).content.decode()
    assert "当日の資料" in html and f"(PDF・{len(PDF_BYTES)}B)" in html
    assert '<h2 id="documents-heading">資料</h2>' in html


def test_drafts_and_scheduled_seminars_stay_hidden(client, today):
    draft = make_seminar("a-draft", state=PublishState.DRAFT)
    scheduled = make_seminar("scheduled", published_at=timezone.now() + dt.timedelta(days=3))
    for seminar in (draft, scheduled):
        assert client.get(seminar.get_absolute_url()).status_code == 404
        assert client.get(f"/expertnet/seminars/{seminar.slug}/event.ics").status_code == 404
    for path in ("/expertnet/seminars/", "/expertnet/seminars/feed.atom", "/expertnet/seminars/calendar.ics"):
        body = client.get(path).content.decode()
        assert "a-draft" not in body and "scheduled" not in body, path
    assert "/expertnet/seminars/a-draft/" not in sitemap_text(client)


def test_editors_preview_drafts_without_an_ics_link(client, today):
    draft = make_seminar("a-draft", state=PublishState.DRAFT, published_at=None)
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "a-long-password-123"))
    response = client.get(draft.get_absolute_url())
    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex" and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "このページはまだ公開されていません" in html and "event.ics" not in html
    assert client.get(f"/expertnet/seminars/{draft.slug}/event.ics").status_code == 404


def test_detail_queries_do_not_grow_with_the_programme(client, media, today):
    seminar = make_seminar("growing", days=10, hours=30)
    experts = list(Expert.objects.published()[:31])
    first = SeminarSession.objects.create(seminar=seminar, starts_at=seminar.starts_at, kind="lecture", title_ja="一")
    first.speakers.set(experts[:1])
    SeminarDocument.objects.create(seminar=seminar, title_ja="資料0", file=ContentFile(PDF_BYTES, name="0.pdf"))
    path = seminar.get_absolute_url()

    def count(url):
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = {url: count(url) for url in (path, "/en" + path)}
    for n in range(30):
        session = SeminarSession.objects.create(
            seminar=seminar,
            starts_at=seminar.starts_at + dt.timedelta(hours=n),
            ends_at=seminar.starts_at + dt.timedelta(hours=n, minutes=50),
            kind=SessionKind.values[n % 4],
            title_ja=f"題目{n}",
        )
        session.speakers.set(experts[n : n + 2])
        SeminarDocument.objects.create(
            seminar=seminar, title_ja=f"資料{n + 1}", file=ContentFile(PDF_BYTES, name=f"{n + 1}.pdf")
        )
    html = client.get(path).content.decode()
    assert "題目29" in html and "資料30" in html and experts[30].name_ja in html
    assert html.count("<caption>") == 2  # the programme runs over two days: a table each
    after = {url: count(url) for url in before}
    assert after == before
    assert max(after.values()) <= 10


def test_list_queries_do_not_grow(client, today):
    def count(url):
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = count("/expertnet/seminars/")
    for n in range(25):
        make_seminar(f"more-{n}", days=n * 7 - 90)
    assert count("/expertnet/seminars/") == before <= 5


# --- iCalendar ----------------------------------------------------------------------------------


def test_ics_of_one_seminar(client, today):
    seminar = Seminar.objects.get(slug="sample-seminar-07")
    response = client.get("/expertnet/seminars/sample-seminar-07/event.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="sample-seminar-07.ics"'
    [event] = parse_ics(response.content)
    assert event["UID"] == "seminar-sample-seminar-07@testserver"
    assert utc(event["DTSTART"]) == seminar.starts_at and utc(event["DTEND"]) == seminar.ends_at
    assert event["DTSTART"] == "20270204T040000Z"
    assert event["SUMMARY"] == seminar.title_ja
    assert event["LOCATION"] == f"鳥取県鳥取市 {seminar.venue_ja}"
    assert event["URL"] == "http://testserver/expertnet/seminars/sample-seminar-07/"
    assert event["DESCRIPTION"].startswith("[サンプルデータ]")
    assert seminar.summary_ja in event["DESCRIPTION"] and "講演: 妊娠期から切れ目なく" in event["DESCRIPTION"]
    english = parse_ics(client.get("/en/expertnet/seminars/sample-seminar-07/event.ics").content)[0]
    assert english["UID"] == event["UID"]  # the same event in either language
    assert english["SUMMARY"] == seminar.title_en
    assert english["URL"] == "http://testserver/en/expertnet/seminars/sample-seminar-07/"


def test_ics_escapes_and_folds_long_japanese_text(client, today, settings):
    settings.SITE_URL = "https://www.example.go.jp"
    seminar = make_seminar(
        "tricky", title_ja=TRICKY_TITLE, venue_ja="会館;大ホール,東棟\\2階", summary_ja="一行目\r\n二行目"
    )
    body = client.get("/expertnet/seminars/tricky/event.ics").content
    assert len(body.split(b"\r\n")) > 10
    assert b"\r\n " in body  # folded
    [event] = parse_ics(body)
    assert event["SUMMARY"] == TRICKY_TITLE
    assert event["LOCATION"] == "長野県飯田市 会館;大ホール,東棟\\2階"
    assert "一行目\n二行目" in event["DESCRIPTION"]
    assert event["UID"] == "seminar-tricky@www.example.go.jp"
    assert seminar.title_ja == TRICKY_TITLE


def test_fold_and_escape_units():
    assert seminars.ical_text("a,b;c\\d\ne\r\nf\x07") == "a\\,b\\;c\\\\d\\ne\\nf"
    line = "SUMMARY:" + "あ" * 40  # 8 + 120 octets
    folded = seminars.fold(line)
    parts = folded.split("\r\n")
    assert [len(p.encode()) for p in parts] == [74, 55]  # 8 + 22 × 3 = 74; a 23rd あ would make 77
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line
    assert seminars.fold("X" * 75) == "X" * 75
    assert seminars.fold("X" * 76) == "X" * 75 + "\r\n X"
    # A 4-octet character never straddles a fold.
    for prefix in range(70, 76):
        for part in seminars.fold("D" * prefix + "𠮷" * 3).split("\r\n"):
            assert len(part.encode()) <= 75


def test_calendar_holds_the_upcoming_seminars(client, today):
    response = client.get("/expertnet/seminars/calendar.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    events = parse_ics(response.content)
    assert [e["UID"] for e in events] == [f"seminar-sample-seminar-{n:02d}@testserver" for n in (6, 7, 8, 9, 10)]
    assert "X-WR-CALNAME:地域力創造セミナー" in response.content.decode()
    with time_machine.travel(dt.datetime(2027, 12, 1, tzinfo=JST), tick=False):
        assert parse_ics(client.get("/expertnet/seminars/calendar.ics").content) == []


# --- Atom ---------------------------------------------------------------------------------------


def test_feed_lists_the_latest_announced_first_with_event_dates(client, today):
    newest = make_seminar("just-announced", days=60, published_at=timezone.now() - dt.timedelta(minutes=5))
    newest.theme = Theme.objects.get(key="tourism")
    newest.save()
    response = client.get("/expertnet/seminars/feed.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    entries = root.findall("a:entry", ATOM)
    assert len(entries) == 11
    first = entries[0]
    assert first.findtext("a:title", namespaces=ATOM) == newest.title_ja
    assert first.find("a:link", ATOM).get("href") == "http://testserver/expertnet/seminars/just-announced/"
    summary = first.findtext("a:summary", namespaces=ATOM)
    local = timezone.localtime(newest.starts_at)
    assert f"{local.month}月{local.day}日" in summary and "日時" in summary and "長野県飯田市" in summary
    assert first.find("a:category", ATOM).get("term") == "観光振興・交流"
    assert "サンプルデータ" not in summary
    published = [e.findtext("a:published", namespaces=ATOM) for e in entries]
    assert published == sorted(published, reverse=True)
    assert all("サンプルデータ" in e.findtext("a:summary", namespaces=ATOM) for e in entries[1:])
    english = ET.fromstring(client.get("/en/expertnet/seminars/feed.atom").content)
    assert english.findall("a:entry", ATOM)[1].findtext("a:title", namespaces=ATOM).startswith("Regional")


# --- Search, sitemap, admin ---------------------------------------------------------------------


def test_site_search_finds_seminars_by_place_venue_and_programme(client, today):
    for q in ("県民文化交流センター", "森のようちえん", "鳥取市"):
        html = client.get("/search/", {"q": q}).content.decode()
        assert 'id="kind-seminar"' in html and "/expertnet/seminars/sample-seminar-07/" in html, q
    seminar = make_seminar("searchable", venue_ja="ふるさと交流プラザ")
    html = client.get("/search/", {"q": "ふるさと交流プラザ"}).content.decode()
    assert seminar.get_absolute_url() in html
    seminar.state = PublishState.DRAFT
    seminar.save()
    assert seminar.get_absolute_url() not in client.get("/search/", {"q": "ふるさと交流プラザ"}).content.decode()


def test_sitemap_lists_every_published_seminar_in_both_languages(client, today):
    xml = sitemap_text(client)
    for seminar in Seminar.objects.published():
        assert f"/expertnet/seminars/{seminar.slug}/</loc>" in xml
        assert f"/en/expertnet/seminars/{seminar.slug}/</loc>" in xml
    assert "/expertnet/seminars/</loc>" in xml


@pytest.mark.parametrize(
    "path",
    [
        "/admin/expertnet/seminar/",
        "/admin/expertnet/seminar/?schedule=upcoming",
        "/admin/expertnet/seminar/?schedule=past",
        "/admin/expertnet/seminar/?q=鳥取",
        "/admin/expertnet/seminar/add/",
    ],
)
def test_admin_pages_open(admin_client, path):
    assert admin_client.get(path).status_code == 200


def test_admin_filter_and_change_form(admin_client, today):
    upcoming = admin_client.get("/admin/expertnet/seminar/", {"schedule": "upcoming"}).content.decode()
    assert upcoming.count('name="_selected_action"') == 5
    past = admin_client.get("/admin/expertnet/seminar/", {"schedule": "past"}).content.decode()
    assert past.count('name="_selected_action"') == 5
    assert "開催時期" in upcoming
    seminar = Seminar.objects.get(slug="sample-seminar-07")
    html = admin_client.get(f"/admin/expertnet/seminar/{seminar.pk}/change/").content.decode()
    assert 'name="title_ja"' in html and 'name="title_en"' in html
    assert 'name="sessions-0-title_ja"' in html and 'name="sessions-0-title_en"' in html
    assert "/admin/autocomplete/" in html  # speakers and the municipality are searched, not listed
    assert 'name="documents-TOTAL_FORMS"' in html
    assert "/admin/r/" in html  # view on site


def test_admin_save_reindexes_the_programme(admin_client, today):
    seminar = make_seminar("admin-made")
    data = {
        "slug": seminar.slug,
        "title_ja": seminar.title_ja,
        "title_en": "",
        "is_sample": "",
        "starts_at_0": "2026-12-20",
        "starts_at_1": "13:00:00",
        "ends_at_0": "2026-12-20",
        "ends_at_1": "17:00:00",
        "municipality": "202053",
        "venue_ja": "市民会館",
        "venue_en": "",
        "theme": "",
        "summary_ja": "概要",
        "summary_en": "",
        "capacity": "50",
        "application_ja": "",
        "application_en": "",
        "state": "published",
        "published_at_0": "2026-11-28",
        "published_at_1": "09:00:00",
        "sessions-TOTAL_FORMS": "1",
        "sessions-INITIAL_FORMS": "0",
        "sessions-MIN_NUM_FORMS": "0",
        "sessions-MAX_NUM_FORMS": "1000",
        "sessions-0-starts_at_0": "2026-12-20",
        "sessions-0-starts_at_1": "13:10:00",
        "sessions-0-ends_at_0": "2026-12-20",
        "sessions-0-ends_at_1": "14:00:00",
        "sessions-0-kind": "lecture",
        "sessions-0-title_ja": "雪国のくらしを支える仕組みづくり",
        "sessions-0-title_en": "",
        "sessions-0-speakers": [str(Expert.objects.published().first().pk)],
        "sessions-0-other_speakers_ja": "",
        "sessions-0-other_speakers_en": "",
        "documents-TOTAL_FORMS": "0",
        "documents-INITIAL_FORMS": "0",
        "documents-MIN_NUM_FORMS": "0",
        "documents-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(f"/admin/expertnet/seminar/{seminar.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert seminar.sessions.get().title_ja == "雪国のくらしを支える仕組みづくり"
    entry = SearchEntry.objects.get(kind="seminar", object_id=seminar.pk, language="ja")
    assert "雪国のくらしを支える仕組みづくり" in entry.body
    assert timezone.localtime(Seminar.objects.get(pk=seminar.pk).starts_at).hour == 13
