import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from expertnet.models import Dispatch, Expert, ExpertKind, kana_row
from portal.models import Municipality, Prefecture, Theme
from portal.sample_data import generate_experts

pytestmark = pytest.mark.django_db


def option_count(html, select_id, value):
    select = re.search(rf'<select id="{select_id}".*?</select>', html, re.S).group(0)
    match = re.search(rf'<option value="{re.escape(value)}"[^>]*>[^<]*\((\d+)\)</option>', select)
    return int(match.group(1)) if match else None


def listed(html):
    return re.findall(r'class="case-card__title"><a href="/expertnet/experts/([\w-]+)/"', html)


def test_sample_experts_are_marked_spread_and_in_every_row():
    experts = Expert.objects.published()
    assert experts.count() >= 96 and Expert.objects.count() == 100
    assert all(e.is_sample for e in Expert.objects.all())
    assert set(experts.values_list("kana_row", flat=True)) == {
        "a",
        "ka",
        "sa",
        "ta",
        "na",
        "ha",
        "ma",
        "ya",
        "ra",
        "wa",
    }
    assert experts.values("base_region").distinct().count() == 8
    assert set(experts.values_list("kind", flat=True)) == set(ExpertKind.values)
    for theme in Theme.objects.all():
        assert theme.experts.count() >= 5, theme.key
        assert Expert.objects.filter(pk__in=theme.experts.values("pk"), theme_mask__gt=0).exists()
    assert Dispatch.objects.values("prefecture").distinct().count() == 47


def test_kana_row_follows_the_reading():
    assert kana_row("みほん さくら") == "ma"
    assert kana_row("ワリツケ") == "wa"  # katakana counts as hiragana
    assert kana_row("がくしゅう") == "ka"  # voiced sounds belong to their row
    assert kana_row("ぱんだ") == "ha"
    assert kana_row("Mihon") == "" and kana_row("") == ""


def test_list_is_sorted_by_reading_and_counts_apply_the_other_filters(client):
    html = client.get("/expertnet/", {"theme": "tourism"}).content.decode()
    tourism = Expert.objects.published().filter(themes__key="tourism")
    assert f"該当する専門家: {tourism.count()} 人" in html
    slugs = listed(html)
    readings = [Expert.objects.get(slug=s).name_kana for s in slugs]
    assert readings == sorted(readings)
    assert option_count(html, "expert-kind", "private") == tourism.filter(kind="private").count()
    # The theme facet ignores the theme filter itself.
    assert (
        option_count(html, "expert-theme", "economy")
        == Expert.objects.published().filter(themes__key="economy").count()
    )
    assert option_count(html, "expert-region", "kanto") == tourism.filter(base_region="kanto").count()


def test_kana_index_filters_by_row_with_counts(client):
    html = client.get("/expertnet/", {"kana": "ka"}).content.decode()
    expected = Expert.objects.published().filter(kana_row="ka")
    assert f"該当する専門家: {expected.count()} 人" in html
    assert all(Expert.objects.get(slug=s).name_kana[0] in "かきくけこがぎぐげご" for s in listed(html))
    index = re.search(r'<nav class="kana-index".*?</nav>', html, re.S).group(0)
    assert (
        f'<a href="?kana=ka" aria-current="true">か行 <span class="kana-index__count">{expected.count()}人</span></a>'
        in index
    )


def test_region_by_dispatch_counts_each_expert_once(client):
    html = client.get("/expertnet/", {"place": "dispatch", "region": "shikoku"}).content.decode()
    shikoku = Prefecture.objects.filter(region="shikoku")
    expected = Expert.objects.published().filter(dispatches__prefecture__in=shikoku).distinct()
    assert f"該当する専門家: {expected.count()} 人" in html
    assert set(listed(html)) <= set(expected.values_list("slug", flat=True))
    assert option_count(html, "expert-region", "shikoku") == expected.count()
    # By base, the same region means something else.
    base = client.get("/expertnet/", {"region": "shikoku"}).content.decode()
    assert f"該当する専門家: {Expert.objects.published().filter(base_region='shikoku').count()} 人" in base


def test_drafts_are_hidden_everywhere(client):
    draft = Expert.objects.exclude(state="published").first()
    assert client.get(draft.get_absolute_url()).status_code == 404
    assert draft.slug not in client.get("/expertnet/", {"kana": draft.kana_row}).content.decode()
    data = json.loads(b"".join(client.get("/expertnet/export.json").streaming_content))
    assert draft.slug not in {e["id"] for e in data["experts"]}
    assert len(data["experts"]) == Expert.objects.published().count()


def test_expert_page_shows_profile_dispatches_cases_and_how_to_invite(client):
    expert = Expert.objects.published().filter(dispatches__case__isnull=False).first()
    html = client.get(expert.get_absolute_url()).content.decode()
    assert html.count("<h1") == 1 and expert.name in html and "サンプルデータ" in html
    for dispatch in expert.dispatches.all():
        assert f'href="/expertnet/municipalities/{dispatch.municipality_id}/"' in html
    case = expert.dispatches.exclude(case=None).first().case
    assert case.get_absolute_url() in html
    assert "専門家を招くには" in html and "/expertnet-invitation/" in html
    assert f'href="/expertnet/consultation/?expert={expert.slug}"' in html
    assert '"@type": "' in html  # JSON-LD


def test_municipality_page_lists_its_dispatches_and_cases(client):
    dispatch = Dispatch.objects.filter(expert__state="published", case__isnull=False).first()
    html = client.get(f"/expertnet/municipalities/{dispatch.municipality_id}/").content.decode()
    assert dispatch.expert.get_absolute_url() in html and dispatch.case.get_absolute_url() in html
    assert client.get("/expertnet/municipalities/999999/").status_code == 404
    assert client.get("/expertnet/municipalities/abc/").status_code == 404


def test_csv_for_excel_has_a_bom_and_public_fields_only(client):
    response = client.get("/expertnet/export.csv", {"kind": "municipal"})
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffid,url,name_ja")
    rows = body.strip().splitlines()[1:]
    assert len(rows) == Expert.objects.published().filter(kind="municipal").count()
    for private in ("email", "phone", "client_hash", "staff_note"):
        assert private not in body.splitlines()[0]
    feed = client.get("/expertnet/feed.atom").content.decode()
    assert feed.count("<entry>") == min(50, Expert.objects.published().count())


def test_list_and_detail_queries_do_not_grow_with_the_data(client):
    def queries(url, params=None):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url, params or {}).status_code == 200
        return len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]])

    expert = Expert.objects.published().filter(dispatches__isnull=False).first()
    lists = [
        {},
        {"theme": "tourism", "kind": "private", "region": "kanto"},
        {"q": "地域", "theme": "economy", "place": "dispatch", "region": "kanto"},
        {"place": "dispatch", "region": "kinki"},
    ]
    client.get("/expertnet/")  # the first request of a process reads the prefectures once
    small = [queries("/expertnet/", p) for p in lists] + [queries(expert.get_absolute_url())]
    # From the 100 sample experts to 10,000, and 40 more dispatches for the expert on show.
    generate_experts(10_000)
    municipalities = list(Municipality.objects.exclude(kind="ward")[:30])
    for i in range(40):
        Dispatch.objects.create(expert=expert, municipality=municipalities[i % 30], year_start=2020, summary_ja="助言")
    assert Expert.objects.published().count() > 10_000
    after = [queries("/expertnet/", p) for p in lists] + [queries(expert.get_absolute_url())]
    assert after == small
    assert max(small) <= 10, small


def test_an_unknown_filter_is_ignored_with_a_notice_and_a_bad_page_is_404(client):
    html = client.get("/expertnet/", {"kind": "robot", "kana": "xx", "theme": "tourism"}).content.decode()
    assert "次の条件は指定された値が正しくないため、無視しました: 種別、五十音" in html
    assert client.get("/expertnet/", {"page": "999"}).status_code == 404
    assert client.get("/expertnet/", {"page": "abc"}).status_code == 404


def test_theme_bits_follow_the_fields():
    expert = Expert.objects.published().first()
    disaster = Theme.objects.get(key="disaster")
    expert.themes.set([disaster])
    expert.refresh_from_db()
    assert expert.theme_mask == 1 << disaster.pk
    disaster.experts.clear()
    expert.refresh_from_db()
    assert expert.theme_mask == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["q", "kind", "theme", "place", "region", "pref", "kana", "page", "x"]),
        st.text(max_size=30),
        max_size=6,
    ),
    lang=st.sampled_from(["", "/en"]),
)
def test_no_query_string_gives_a_server_error(params, lang):
    response = Client(raise_request_exception=False).get(f"{lang}/expertnet/", params)
    assert response.status_code in (200, 404)


def test_generated_experts_are_marked_indexed_and_filterable(client):
    from django.core.management import call_command

    from portal.models import SearchEntry

    call_command("generate_sample_data", "--experts", "120", verbosity=0)
    generated = Expert.objects.filter(slug__startswith="sample-bench-expert-")
    assert generated.count() == 120
    assert all(e.is_sample and "サンプル" in e.name_ja and e.theme_mask for e in generated)
    assert SearchEntry.objects.filter(kind="expert", object_id__in=generated.values("pk")).count() == 240
    call_command("generate_sample_data", "--experts", "120", verbosity=0)  # already there: nothing added
    assert generated.count() == 120
    html = client.get("/expertnet/", {"q": "サンプル", "kana": "sa"}).content.decode()
    assert "該当する専門家:" in html
