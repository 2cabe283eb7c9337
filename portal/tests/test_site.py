import re

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casestudies.models import CaseStudy
from portal.models import NewsItem, Page
from portal.tests.sitemap_files import sitemap_text

pytestmark = pytest.mark.django_db

PUBLIC_PATHS = [
    "/",
    "/initiatives/",
    "/initiatives/ikigaku-renkei/",
    "/news/",
    "/news/portal-opened/",
    "/about/",
    "/accessibility/",
    "/sitemap/",
    "/sitemap.xml",
    "/robots.txt",
]
SLUG_PATTERNS = ["/initiatives/{}/", "/news/{}/", "/{}/"]


def test_site_pages_exist_in_both_languages(client):
    for slug in ("about", "accessibility", "privacy", "terms", "contact"):
        page = Page.objects.get(slug=slug)
        assert page.title_ja and page.title_en and page.body_ja and page.body_en
        for prefix in ("", "/en"):
            response = client.get(f"{prefix}/{slug}/")
            assert response.status_code == 200


def test_home_shows_programs_and_news(client):
    html = client.get("/").content.decode()
    assert html.count("<h1") == 1
    assert "地域力強化戦略本部" in html
    assert "地域力創造ポータルを開設しました" in html or NewsItem.objects.published().first().title_ja in html
    assert re.search(r'<time datetime="2026-11-29">令和8年\(2026年\)11月29日</time>', html)


def test_english_home(client):
    html = client.get("/en/").content.decode()
    assert '<html lang="en">' in html
    assert "29 November 2026" in html
    assert 'hreflang="ja" href="' in html and 'hreflang="en" href="' in html


def test_language_switcher_leads_to_the_same_page(client):
    html = client.get("/initiatives/ikigaku-renkei/").content.decode()
    assert '<a href="/en/initiatives/ikigaku-renkei/" hreflang="en" lang="en">English</a>' in html
    html = client.get("/en/initiatives/ikigaku-renkei/").content.decode()
    assert '<a href="/initiatives/ikigaku-renkei/" hreflang="ja" lang="ja">日本語</a>' in html


def test_news_draft_and_future_items_are_hidden(client):
    NewsItem.objects.create(slug="draft-news", title_ja="下書きのお知らせ", body_ja="本文")
    NewsItem.objects.create(
        slug="future-news",
        title_ja="予定のお知らせ",
        body_ja="本文",
        state="published",
        published_at=timezone.now() + timezone.timedelta(days=1),
    )
    html = client.get("/news/").content.decode()
    assert "下書きのお知らせ" not in html and "予定のお知らせ" not in html
    assert client.get("/news/draft-news/").status_code == 404
    assert client.get("/news/future-news/").status_code == 404
    sitemap = sitemap_text(client)
    assert "draft-news" not in sitemap and "future-news" not in sitemap


def test_news_pagination_and_bad_page_numbers(client):
    for i in range(25):
        NewsItem.objects.create(slug=f"n{i}", title_ja=f"お知らせ{i}", body_ja="本文", state="published")
    assert client.get("/news/?page=2").status_code == 200
    for bad in ("0", "-1", "999", "abc", "1.5", ""):
        response = client.get("/news/", {"page": bad})
        assert response.status_code in (200, 404), bad
    assert client.get("/news/?page=999").status_code == 404
    assert "ページが見つかりません" in client.get("/news/?page=abc").content.decode()


def test_sitemap_lists_both_languages_with_alternates(client):
    xml = sitemap_text(client)
    assert "/en/initiatives/ikigaku-renkei/" in xml
    assert 'hreflang="x-default"' in xml
    assert xml.count("<url>") >= 2 * (10 + 5 + 3 + 7)


def test_robots_txt(client):
    text = client.get("/robots.txt").content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in text
    assert "Disallow: /admin/" in text


def test_error_pages_in_both_languages(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and "ページが見つかりません" in response.content.decode()
    response = client.get("/en/no-such-page/")
    assert response.status_code == 404 and "Page not found" in response.content.decode()
    assert '<html lang="en">' in response.content.decode()


def test_server_error_page_renders_in_both_languages(rf):
    from django.utils import translation

    from portal.views import bad_request, permission_denied, server_error

    for lang, text in (("ja", "サーバーエラー"), ("en", "Server error")):
        with translation.override(lang):
            request = rf.get("/")
            request.user = None
            response = server_error(request)
            assert response.status_code == 500 and text in response.content.decode()
            assert bad_request(rf.get("/"), None).status_code == 400
            assert permission_denied(rf.get("/"), None).status_code == 403


def test_accessibility_page_shows_measured_results(client):
    html = client.get("/accessibility/").content.decode()
    assert "{{ accessibility_results }}" not in html
    assert "自動試験の結果" in html


def test_pages_set_no_cookies_for_visitors(client):
    for path in PUBLIC_PATHS:
        assert not client.get(path).cookies, path


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=4), lang=st.sampled_from(["", "/en"]))
def test_arbitrary_query_strings_never_give_a_server_error(query, lang):
    client = Client(raise_request_exception=False)
    for path in PUBLIC_PATHS:
        if path in ("/sitemap.xml", "/robots.txt") and lang:
            continue
        response = client.get(lang + path, query)
        assert response.status_code < 500, (lang + path, query)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segment=st.text(min_size=1, max_size=30), lang=st.sampled_from(["", "/en"]))
def test_arbitrary_path_segments_never_give_a_server_error(segment, lang):
    from urllib.parse import quote

    client = Client(raise_request_exception=False)
    for pattern in SLUG_PATTERNS:
        response = client.get(lang + pattern.format(quote(segment, safe="")))
        assert response.status_code < 500, (pattern, segment)


def test_health_endpoints(client):
    assert client.get("/healthz").content == b"ok"
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"database": True, "cache": True}
    # Answered before host validation, so that a container probe on 127.0.0.1 works.
    assert client.get("/healthz", HTTP_HOST="not-allowed.invalid").status_code == 200


def test_english_news_and_pages_fall_back_with_a_notice(client):
    NewsItem.objects.create(slug="ja-only-news", title_ja="日本語だけのお知らせ", body_ja="本文", state="published")
    html = client.get("/en/news/ja-only-news/").content.decode()
    assert "This page is not yet available in English" in html
    assert '<h1 lang="ja">日本語だけのお知らせ</h1>' in html
    assert "not yet available in English" not in client.get("/en/about/").content.decode()


def test_sitemap_is_an_index_of_section_files_within_the_limit(client, monkeypatch):
    """The protocol allows 50,000 URLs a file; sections are cut into pages of SITEMAP limit URLs."""
    from portal import sitemaps
    from portal.tests.sitemap_files import section_paths

    monkeypatch.setattr(sitemaps.CaseStudySitemap, "limit", 10)
    paths = section_paths(client)
    case_files = [p for p in paths if p.startswith("/sitemap-casestudies.xml")]
    cases = CaseStudy.objects.published().count()
    assert len(case_files) == -(-2 * cases // 10)  # both languages count
    for path in case_files:
        assert client.get(path).content.decode().count("<url>") <= 10
    assert client.get("/sitemap-nonsense.xml").status_code == 404
