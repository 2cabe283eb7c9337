"""The search engine: normalisation, query syntax, exact results, ranking, sync, bad input."""

import datetime as dt
import random
import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from initiatives.models import Initiative
from portal.models import NewsItem, SearchEntry
from portal.search.engine import search
from portal.search.normalize import normalize
from portal.search.query import parse

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_shipped_news():
    """These tests count news they make themselves; the shipped news items leave first."""
    NewsItem.objects.all().delete()


def news_hits(q, language="ja", limit=50, **kwargs):
    group = search(parse(q), language=language, kinds=["news"], limit=limit, **kwargs).groups[0]
    return group.count, [h.title for h in group.hits]


def make_news(title, body="本文", days_ago=0, **kwargs):
    when = timezone.now() - dt.timedelta(days=days_ago, minutes=1)
    return NewsItem.objects.create(
        slug=f"n{NewsItem.objects.count() + 1}",
        title_ja=title,
        body_ja=body,
        state="published",
        published_at=when,
        **kwargs,
    )


# Normalisation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＮＰＯ", "npo"),
        ("ｼﾆｱ", "しにあ"),
        ("カンコウ", "かんこう"),
        ("ｶﾞｲﾄﾞ", "がいど"),
        ("Ｒｅｇｉｏｎａｌ", "regional"),
        ("地域\u3000活性", "地域 活性"),
        ("ヴ", "ゔ"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_width_case_and_kana_are_ignored_both_ways():
    make_news("NPO法人とシニア人材", "カンコウとかんこう")
    for q in ("ＮＰＯ", "npo", "Npo", "ｼﾆｱ", "しにあ", "かんこう", "カンコウ", "ｶﾝｺｳ"):
        assert news_hits(q)[0] == 1, q


# Query syntax and exact results ---------------------------------------------------------------


def test_one_two_and_three_character_queries():
    make_news("農業の担い手", "新規就農者を支援する")
    make_news("観光振興", "温泉地の観光客が増えた")
    make_news("移住相談会", "空き家バンクと移住支援")
    assert news_hits("農")[0] == 1
    assert news_hits("観光")[0] == 1
    assert news_hits("移住")[0] == 1
    assert news_hits("空き家")[0] == 1
    assert news_hits("就農者")[0] == 1
    assert news_hits("き")[0] == 1  # 空き家
    assert news_hits("観光地")[0] == 0  # the characters are there, the word is not


def test_all_terms_must_match_and_minus_excludes():
    make_news("観光と移住", "")
    make_news("観光", "温泉")
    make_news("移住", "")
    assert news_hits("観光 移住")[0] == 1
    assert news_hits("観光\u3000移住")[0] == 1  # full-width space
    assert news_hits("観光 -温泉")[0] == 1
    assert news_hits("観光 -温泉 -移住")[0] == 0


def test_phrases():
    make_news("地域おこし協力隊の活動", "")
    make_news("協力隊と地域おこし", "")
    make_news("Regional revitalization", "", title_en="regional revitalization plan")
    assert news_hits('"地域おこし協力隊"')[0] == 1
    assert news_hits("地域おこし 協力隊")[0] == 2
    assert news_hits('"regional revitalization"')[0] == 1
    assert news_hits('"revitalization regional"')[0] == 0
    assert news_hits("「地域おこし協力隊」")[0] == 1


def test_results_equal_a_brute_force_scan():
    rng = random.Random(20261129)
    words = ["観光", "移住", "農業", "空き家", "協力隊", "地域", "おこし", "シニア", "大学", "温泉", "NPO", "ICT"]
    docs = []
    for i in range(120):
        title = "".join(rng.sample(words, 2))
        body = "、".join(rng.sample(words, 4)) + "。"
        make_news(title, body, days_ago=i)
        docs.append((normalize(title), normalize(body)))
    queries = [
        "観",
        "光",
        "観光",
        "移住 空き家",
        "地域おこし",
        "協力隊 -大学",
        "npo",
        "ict 温泉",
        "しにあ",
        "家",
        "ずれ",
    ]
    for q in queries:
        parsed = parse(q)

        def matches(doc, parsed=parsed):
            title, body = doc
            ok = all(any(r in title or r in body for r in t.runs) for t in parsed.include)
            return ok and not any(any(r in title or r in body for r in t.runs) for t in parsed.exclude)

        expected = sum(matches(d) for d in docs)
        count, titles = news_hits(q, limit=200)
        assert count == expected, q
        assert len(titles) == expected, q


# Ranking and snippets -------------------------------------------------------------------------


def test_title_matches_rank_first_then_newest():
    make_news("古い記事(本文だけ)", "観光", days_ago=30)
    make_news("新しい記事(本文だけ)", "観光", days_ago=1)
    make_news("観光の記事(古い)", "", days_ago=40)
    make_news("観光の記事(新しい)", "", days_ago=20)
    assert news_hits("観光")[1] == [
        "観光の記事(新しい)",
        "観光の記事(古い)",
        "新しい記事(本文だけ)",
        "古い記事(本文だけ)",
    ]


def test_pages_of_results_do_not_overlap():
    for i in range(25):
        make_news(f"お知らせ{i}" + ("観光" if i % 2 else ""), "観光", days_ago=i)
    first = search(parse("観光"), language="ja", kinds=["news"], limit=10).groups[0].hits
    second = search(parse("観光"), language="ja", kinds=["news"], limit=10, offset=10).groups[0].hits
    third = search(parse("観光"), language="ja", kinds=["news"], limit=10, offset=20).groups[0].hits
    ids = [h.object_id for h in first + second + third]
    assert len(ids) == 25 == len(set(ids))


def test_snippet_marks_the_words_and_escapes_html():
    make_news("<script>かんこう</script>", "前置き。<b>カンコウ</b>客が1<2&増えました。")
    hit = search(parse("かんこう"), language="ja", kinds=["news"]).groups[0].hits[0]
    assert str(hit.title_html) == "&lt;script&gt;<mark>かんこう</mark>&lt;/script&gt;"
    assert "<mark>カンコウ</mark>" in str(hit.snippet_html)
    # The body is Markdown: its tags are dropped, its text escaped.
    assert "1&lt;2&amp;増えました" in str(hit.snippet_html)
    assert "<b>" not in str(hit.snippet_html) and "&lt;b&gt;" not in str(hit.snippet_html)


def test_english_fields_are_searched_on_english_pages():
    make_news("観光の記事", "本文", title_en="Tourism news", body_en="Visitors came back.")
    assert news_hits("tourism", language="en")[0] == 1
    assert news_hits("tourism", language="ja")[0] == 0
    assert news_hits("観光", language="en")[0] == 0


# Always in sync -------------------------------------------------------------------------------


def test_index_follows_save_publish_unpublish_and_delete():
    item = NewsItem.objects.create(slug="sync", title_ja="下書きの観光", body_ja="本文")
    assert news_hits("観光")[0] == 0  # a draft is never found
    item.state = "published"
    item.save()
    assert news_hits("観光")[0] == 1
    item.title_ja = "移住の記事"
    item.save()
    assert news_hits("観光")[0] == 0 and news_hits("移住")[0] == 1
    item.title_en = "Relocation"
    item.save()
    assert news_hits("relocation", language="en")[0] == 1
    item.state = "draft"
    item.save()
    assert news_hits("移住")[0] == 0
    item.state = "published"
    item.save()
    item.delete()
    assert news_hits("移住")[0] == 0
    assert not SearchEntry.objects.filter(kind="news", object_id=item.pk).exists()


def test_scheduled_items_appear_only_at_their_time():
    later = timezone.now() + dt.timedelta(hours=2)
    NewsItem.objects.create(slug="later", title_ja="予定の観光", body_ja="本文", state="published", published_at=later)
    assert news_hits("観光")[0] == 0
    assert news_hits("観光", now=later + dt.timedelta(minutes=1))[0] == 1
    assert "予定の観光" not in Client().get("/search/?q=観光").content.decode()


def test_initiatives_and_pages_are_indexed_from_the_migrations():
    result = search(parse("域学連携"), language="ja")
    counts = {g.kind.key: g.count for g in result.groups}
    assert counts["initiative"] >= 1
    assert search(parse("アクセシビリティ"), language="ja", kinds=["page"]).groups[0].count >= 1


def test_rebuild_command_restores_a_lost_index(capsys):
    before = SearchEntry.objects.count()
    SearchEntry.objects.all().delete()  # the FTS rows stay: rebuild must cope with both
    call_command("rebuild_search_index")
    assert SearchEntry.objects.count() == before
    assert search(parse("域学"), language="ja", kinds=["initiative"]).groups[0].count == 1
    assert "100%" in capsys.readouterr().err


def test_editing_an_initiative_reindexes_it():
    initiative = Initiative.objects.get(slug="ikigaku-renkei")
    initiative.summary_ja = "大学生が棚田の保全に取り組む"
    initiative.save()
    assert search(parse("棚田"), language="ja", kinds=["initiative"]).groups[0].count == 1


# The pages ------------------------------------------------------------------------------------


def test_search_page_groups_by_kind_with_counts(client):
    html = client.get("/search/?q=地域").content.decode()
    assert re.search(r'<h2 id="kind-initiative">取組 <span class="count">\(\d+ 件\)</span></h2>', html)
    assert "<mark>地域</mark>" in html
    assert '<meta name="robots" content="noindex">' in html


def test_empty_query_shows_help(client):
    html = client.get("/search/").content.decode()
    assert "検索のしかた" in html
    assert "検索のしかた" in client.get("/search/?q=%20%20").content.decode()
    assert "How to search" in client.get("/en/search/").content.decode()


def test_long_query_is_cut_with_a_notice(client):
    html = client.get("/search/", {"q": "観光" * 150}).content.decode()
    assert "先頭の 200 文字で検索しました" in html


def test_zero_hits_suggest_what_to_try(client):
    html = client.get("/search/", {"q": "観光 存在しない言葉"}).content.decode()
    assert "見つかりませんでした" in html
    assert 'href="?q=%E8%A6%B3%E5%85%89"' in html  # 観光 alone
    assert "ひらがな" in html


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "*",
        ":",
        "%",
        "_",
        "(",
        ")",
        "NEAR",
        "AND",
        "OR",
        "NOT",
        '"観光',
        "観光)",
        "title:観光",
        "{title}:x",
        "'; DROP TABLE portal_searchentry; --",
        "\x00観光\x1f",
        "a" * 1000,
        "-",
        "--",
        '""',
        '-""',
    ],
)
def test_syntax_characters_are_plain_text(client, q):
    response = client.get("/search/", {"q": q})
    assert response.status_code == 200
    assert SearchEntry.objects.exists()


def test_undecodable_query_bytes_are_plain_text(client):
    for raw in ("%ED%A0%80", "%FF%FE", "%E8%A6", "%00"):  # a lone surrogate, invalid and cut UTF-8, NUL
        assert client.get(f"/search/?q={raw}").status_code == 200, raw


def test_keyword_boxes_of_the_lists_use_the_engine(client):
    make_news("空き家バンクの説明会", "移住希望者向け")
    html = client.get("/news/", {"q": "空き家"}).content.decode()
    assert "<mark>空き家</mark>" in html and "1 件" in html
    html = client.get("/initiatives/", {"q": "大学"}).content.decode()
    assert "「域学連携」地域づくり活動" in html and "地域力強化戦略本部" not in html


def test_search_page_uses_a_bounded_number_of_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    captured = {}

    def queries(path):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        # Savepoints are the test's own transaction, not the page's work.
        sql = [q["sql"][:160] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
        captured[path] = sql
        return len(sql)

    paths = ["/search/?q=観光", "/search/?q=観光&kind=news&page=2", "/news/?q=観光", "/en/search/?q=tourism"]
    for i in range(25):
        make_news(f"観光のお知らせ{i}", "地域の観光", days_ago=i, title_en=f"Tourism {i}")
    small = [queries(p) for p in paths]
    for i in range(25, 60):
        make_news(f"観光のお知らせ{i}", "地域の観光", days_ago=i, title_en=f"Tourism {i}")
    large = [queries(p) for p in paths]
    # First pages: the same queries whatever the data; a later page may need one more (a page that
    # straddles title hits and body hits), never more than that.
    assert [large[0], *large[2:]] == [small[0], *small[2:]]
    # At most 10 a page (the site-wide limit), whatever kinds of content the word is found in.
    assert max(small + large) <= 10, (small, large, captured)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    q=st.text(max_size=250),
    kind=st.sampled_from(["", "news", "initiative", "page", "x"]),
    page=st.sampled_from(["", "1", "2", "0", "-3", "x", "99999999999999999999"]),
    path=st.sampled_from(["/search/", "/en/search/", "/news/", "/en/news/", "/initiatives/", "/en/initiatives/"]),
)
def test_no_input_gives_a_server_error(q, kind, page, path):
    params = {"q": q}
    if kind:
        params["kind"] = kind
    if page:
        params["page"] = page
    response = Client(raise_request_exception=False).get(path, params)
    assert response.status_code in (200, 404), (path, params, response.status_code)


def test_large_result_sets_keep_order_and_say_the_count_is_bounded(monkeypatch):
    """Above the limits a count reads 「約N件」 or 「N件以上」; ranking and pages stay right."""
    from portal.search import engine

    monkeypatch.setattr(engine, "RECHECK_LIMIT", 5)
    monkeypatch.setattr(engine, "COUNT_CAP", 8)
    for i in range(12):
        make_news(f"記事{i}" + ("(観光)" if i % 3 == 0 else ""), "観光と移住", days_ago=i)
    group = search(parse("観光"), language="ja", kinds=["news"], limit=6).groups[0]
    assert group.bound in (engine.ABOUT, engine.AT_LEAST)
    titles = [h.title for h in group.hits]
    assert titles[:4] == ["記事0(観光)", "記事3(観光)", "記事6(観光)", "記事9(観光)"]
    assert titles[4:] == ["記事1", "記事2"]
    rest = search(parse("観光"), language="ja", kinds=["news"], limit=6, offset=6).groups[0]
    assert [h.title for h in rest.hits] == ["記事4", "記事5", "記事7", "記事8", "記事10", "記事11"]


def test_many_title_hits_are_walked_by_date_and_pages_follow_on(monkeypatch, django_assert_max_num_queries):
    """More title candidates than the re-check limit: on PostgreSQL both parts are read from the
    date index; the order and the pages are the same as with few."""
    from portal.search import engine

    monkeypatch.setattr(engine, "RECHECK_LIMIT", 5)
    monkeypatch.setattr(engine, "COUNT_CAP", 8)
    for i in range(12):
        make_news(f"記事{i}" + ("(観光)" if i % 3 != 2 else ""), "観光と移住", days_ago=i)
    with django_assert_max_num_queries(10):
        result = search(parse("観光"), language="ja", kinds=["news"], limit=6)
    titles = [h.title for h in result.groups[0].hits]
    assert titles == ["記事0(観光)", "記事1(観光)", "記事3(観光)", "記事4(観光)", "記事6(観光)", "記事7(観光)"]
    rest = search(parse("観光"), language="ja", kinds=["news"], limit=6, offset=6).groups[0]
    assert [h.title for h in rest.hits] == ["記事9(観光)", "記事10(観光)", "記事2", "記事5", "記事8", "記事11"]


@pytest.mark.parametrize(
    ("text", "word", "marked"),
    [
        ("ｶﾞｲﾄﾞ付きツアー", "がいど", "<mark>ｶﾞｲﾄﾞ</mark>付きツアー"),
        ("ＮＰＯ法人", "npo", "<mark>ＮＰＯ</mark>法人"),
        ("㍻の観光", "観光", "㍻の<mark>観光</mark>"),
    ],
)
def test_highlight_maps_normalised_matches_back_to_the_original(text, word, marked):
    from portal.search.engine import highlight

    assert str(highlight(text, [word])) == marked
