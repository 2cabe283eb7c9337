import json
import re

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casestudies.models import CaseStudy, PopulationBand
from portal.models import Municipality, Theme

pytestmark = pytest.mark.django_db


def option_count(html, select_id, value):
    select = re.search(rf'<select id="{select_id}".*?</select>', html, re.S).group(0)
    match = re.search(rf'<option value="{re.escape(value)}"[^>]*>[^<]*\((\d+)\)</option>', select)
    return int(match.group(1)) if match else None


def test_sample_cases_cover_every_filter():
    cases = CaseStudy.objects.published()
    assert cases.count() >= 60
    assert all(c.is_sample for c in cases)
    assert cases.values("region").distinct().count() == 8
    assert cases.values("prefecture").distinct().count() >= 35
    assert cases.values("population_band").distinct().count() == len(PopulationBand.values)
    for theme in Theme.objects.all():
        assert theme.case_studies.count() >= 5, theme.key
    for case in cases:
        assert case.title_en and case.summary_en
        assert case.municipalities.exists()


def test_facet_counts_apply_the_other_filters(client):
    html = client.get("/casestudies/", {"theme": "tourism"}).content.decode()
    tourism = CaseStudy.objects.published().filter(themes__key="tourism")
    for region in ("kanto", "kyushu_okinawa"):
        assert option_count(html, "case-region", region) == tourism.filter(region=region).count()
    # The theme facet ignores the theme filter itself.
    assert option_count(html, "case-theme", "migration") == CaseStudy.objects.filter(themes__key="migration").count()
    assert f"該当する事例: {tourism.count()} 件" in html


def test_year_filter_matches_the_years_of_the_work(client):
    html = client.get("/casestudies/", {"year": "2020"}).content.decode()
    expected = [
        c for c in CaseStudy.objects.published() if c.fiscal_year_start <= 2020 and (c.fiscal_year_end or 9999) >= 2020
    ]
    assert f"該当する事例: {len(expected)} 件" in html


def test_population_band_follows_the_population():
    municipality = Municipality.objects.get(code="011002")
    case = CaseStudy(
        slug="x",
        title_ja="x",
        summary_ja="x",
        fiscal_year_start=2020,
        edition=2024,
        prefecture_id="01",
        organisation_ja="x",
        population=4999,
    )
    case.save()
    case.municipalities.set([municipality])
    assert case.population_band == PopulationBand.UNDER_5K and case.region == "hokkaido"
    case.population = 200_000
    case.save()
    assert case.population_band == PopulationBand.OVER_200K


def test_keyword_and_chips_and_shareable_url(client):
    response = client.get("/casestudies/", {"q": "移住", "theme": "migration"})
    html = response.content.decode()
    assert "キーワード: 移住" in html and "テーマ: 移住・定住促進" in html
    assert 'href="?theme=migration"' in html  # removing the keyword keeps the theme
    assert 'href="?q=%E7%A7%BB%E4%BD%8F"' in html  # removing the theme keeps the keyword


def test_unknown_values_are_ignored_with_a_notice(client):
    response = client.get(
        "/casestudies/", {"region": "atlantis", "theme": "x", "year": "1800", "pop": "huge", "sort": "?"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "無視しました" in html and "地方" in html
    assert f"該当する事例: {CaseStudy.objects.published().count()} 件" in html
    english = client.get("/en/casestudies/", {"pref": "99"}).content.decode()
    assert "were ignored: Prefecture" in english


def test_out_of_range_page_is_404(client):
    assert client.get("/casestudies/", {"page": "999"}).status_code == 404
    assert client.get("/casestudies/", {"page": "x"}).status_code == 404


def test_detail_page_shows_every_field_and_json_ld(client):
    case = CaseStudy.objects.published().filter(figures__isnull=False).first()
    html = client.get(case.get_absolute_url()).content.decode()
    for heading in ("概要", "目的", "取組内容", "成果", "学んだこと", "持続させる仕組み"):
        assert f">{heading}</h2>" in html
    assert "サンプルデータ" in html
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert data["headline"] == case.title_ja and data["@type"] == "Article"
    municipality = case.municipalities.first()
    if municipality.url:
        assert municipality.url in html


def test_search_finds_cases(client):
    html = client.get("/search/", {"q": "地域おこし協力隊"}).content.decode()
    assert 'id="kind-casestudy"' in html and "サンプルデータ" in html


def test_list_queries_do_not_grow_with_the_data(client, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casestudies.views import CARDS

    def queries(params):
        CARDS.cards.clear()  # the cards are drawn afresh: the most queries a page takes
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/casestudies/", params).status_code == 200
        return len([q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]])

    params = [
        {},
        {"theme": "tourism", "region": "chubu", "year": "2021", "pop": "10k-50k", "sort": "kana"},
        {"q": "地域", "theme": "tourism", "pref": "13", "year": "2021", "pop": "200k", "sort": "pref"},
    ]
    client.get("/casestudies/")  # the first request after the migration counts the facets
    small = [queries(p) for p in params]
    template = CaseStudy.objects.published().first()
    themes = list(template.themes.all())
    # As in production, the facet counts are rebuilt when the editor's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        for i in range(40):
            extra = CaseStudy.objects.create(
                slug=f"extra-{i}",
                title_ja=f"追加の事例{i}",
                summary_ja="概要",
                fiscal_year_start=2018,
                edition=2022,
                prefecture=template.prefecture,
                organisation_ja="町",
                population=12000 + i,
                state="published",
            )
            extra.themes.set(themes)
            extra.municipalities.set(template.municipalities.all())
    after = [queries(p) for p in params]
    assert after == small
    assert max(small) <= 10, small


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["q", "region", "pref", "theme", "year", "pop", "sort", "page", "x"]),
        st.text(max_size=30),
        max_size=6,
    ),
    lang=st.sampled_from(["", "/en"]),
)
def test_no_query_string_gives_a_server_error(params, lang):
    response = Client(raise_request_exception=False).get(f"{lang}/casestudies/", params)
    assert response.status_code in (200, 404)


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_csv_for_excel_has_a_bom_and_follows_the_filters(client):
    import csv
    import io

    response = client.get("/casestudies/export.csv", {"theme": "tourism", "region": "chubu"})
    data = body(response)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    expected = CaseStudy.objects.published().filter(themes__key="tourism", region="chubu")
    assert {r["id"] for r in rows} == set(expected.values_list("slug", flat=True))
    assert all("tourism" in r["themes"].split("|") for r in rows)
    plain = body(client.get("/casestudies/export-utf8.csv"))
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert len(list(csv.reader(io.StringIO(plain.decode("utf-8"))))) == CaseStudy.objects.published().count() + 1


def test_json_and_atom_follow_the_filters(client):
    data = json.loads(body(client.get("/casestudies/export.json", {"pop": "u5k"})))
    assert "PDL1.0" in data["licence"]
    assert len(data["cases"]) == CaseStudy.objects.published().filter(population_band="u5k").count()
    assert all(c["is_sample"] == "true" for c in data["cases"])
    atom = body(client.get("/casestudies/feed.atom", {"theme": "disaster"})).decode()
    assert atom.count("<entry>") == CaseStudy.objects.published().filter(themes__key="disaster").count()
    assert "防災減災・危機管理" in atom


def test_drafts_never_leave_in_open_data(client):
    case = CaseStudy.objects.published().first()
    case.state = "draft"
    case.save()
    assert case.slug.encode() not in body(client.get("/casestudies/export-utf8.csv"))
    assert case.slug.encode() not in body(client.get("/casestudies/export.json"))


def test_prefecture_map_links_add_the_filter_and_has_a_table_twin(client):
    html = client.get("/casestudies/", {"theme": "tourism"}).content.decode()
    svg = re.search(r"<svg class=\"japan-map__svg\".*?</svg>", html, re.S).group(0)
    assert svg.count("<a ") == 47
    assert 'role="group" aria-labelledby="japan-map-caption"' in svg
    okinawa = CaseStudy.objects.published().filter(themes__key="tourism", prefecture_id="47").count()
    assert f'<a href="?pref=47&amp;theme=tourism" aria-label="沖縄県 {okinawa}件"' in svg
    assert re.search(r'<th scope="row"><a href="\?pref=47&amp;theme=tourism">沖縄県</a></th><td>\d+</td>', html)
    chosen = client.get("/casestudies/", {"theme": "tourism", "pref": "47"}).content.decode()
    assert 'aria-current="true"' in re.search(r"<svg.*?</svg>", chosen, re.S).group(0)


def test_generated_sample_cases_are_marked_indexed_and_filterable(client):
    from django.core.management import call_command

    from portal.models import SearchEntry

    call_command("generate_sample_data", "--cases", "150", verbosity=0)
    generated = CaseStudy.objects.filter(slug__startswith="sample-bench-case-")
    assert generated.count() == 150
    assert all(c.is_sample and c.title_ja.startswith("【サンプル】") for c in generated)
    assert SearchEntry.objects.filter(kind="casestudy", object_id__in=generated.values("pk")).count() == 300
    assert all(c.municipalities.count() == 1 and c.themes.exists() for c in generated[:20])
    call_command("generate_sample_data", "--cases", "150", verbosity=0)  # already there: nothing added
    assert generated.count() == 150
    html = client.get("/casestudies/", {"q": "サンプル", "pop": "u5k"}).content.decode()
    assert "該当する事例:" in html


def test_case_page_links_the_experts_who_worked_on_it(client):
    from expertnet.models import Dispatch

    dispatch = (
        Dispatch.objects.filter(case__isnull=False, expert__state="published").select_related("case", "expert").first()
    )
    html = client.get(dispatch.case.get_absolute_url()).content.decode()
    assert "この事例に関わった専門家" in html and dispatch.expert.get_absolute_url() in html


def test_detail_page_takes_at_most_ten_queries_and_keeps_figures_in_order(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from casestudies.models import CaseFigure, CaseLink

    case = CaseStudy.objects.published().filter(figures__isnull=False).distinct().first()
    CaseLink.objects.create(case=case, label_ja="町の紹介ページ", url="https://example.jp/town", order=1)
    figures = list(case.figures.order_by("order", "id"))
    with CaptureQueriesContext(connection) as ctx:
        html = client.get(case.get_absolute_url()).content.decode()
    assert len(ctx.captured_queries) <= 10
    positions = [html.index(f'<th scope="row">{f.label_ja}</th>') for f in figures]
    assert positions == sorted(positions)
    assert '<a href="https://example.jp/town">町の紹介ページ</a>' in html
    english = client.get("/en" + case.get_absolute_url()).content.decode()
    assert all(f.label_en in english for f in figures if f.label_en)
    assert "町の紹介ページ" in english  # no English label: the Japanese one
    assert CaseFigure.objects.filter(case=case).count() == len(figures)
