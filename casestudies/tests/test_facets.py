"""The pre-counted facet cells give the same counts as counting the cases, and follow edits,
scheduled publishing and the turn of the fiscal year without anyone running a command."""

import datetime
import itertools
import re
from collections import Counter

import pytest
import time_machine
from django.utils import timezone

from casestudies import selectors
from casestudies.models import CaseStudy
from portal import listing
from portal.models import Theme
from portal.search.query import parse
from portal.text import fiscal_year

pytestmark = pytest.mark.django_db


def brute_force(filters, now=None):
    """Every facet counted case by case, the other filters applied."""
    now = now or timezone.now()
    current = fiscal_year(timezone.localtime(now).date())
    cases = list(CaseStudy.objects.published(at=now).prefetch_related("themes"))

    def passes(case, skip):
        return (
            (skip == "place" or not filters.pref or case.prefecture_id == filters.pref)
            and (skip in ("place", "region") or not filters.region or filters.pref or case.region == filters.region)
            and (skip == "theme" or not filters.theme or filters.theme in {t.key for t in case.themes.all()})
            and (
                skip == "year"
                or not filters.year
                or case.fiscal_year_start <= filters.year <= (case.fiscal_year_end or current)
            )
            and (skip == "pop" or not filters.pop or case.population_band == filters.pop)
        )

    prefs = Counter(c.prefecture_id for c in cases if passes(c, "place"))
    regions = Counter(c.region for c in cases if passes(c, "region"))
    themes = Counter(t.key for c in cases if passes(c, "theme") for t in c.themes.all())
    years = Counter(
        y
        for c in cases
        if passes(c, "year")
        for y in range(c.fiscal_year_start, min(c.fiscal_year_end or current, current) + 1)
    )
    pops = Counter(c.population_band for c in cases if passes(c, "pop"))
    return {
        "total": sum(1 for c in cases if passes(c, "")),
        "prefs": {k: v for k, v in prefs.items() if v},
        "regions": dict(regions),
        "themes": dict(themes),
        "years": {y: n for y, n in years.items() if y in selectors.years()},
        "pops": dict(pops),
    }


def from_cells(filters):
    facets = selectors.facets(filters, listing.themes())
    return {
        "total": facets.total,
        "prefs": {p.code: p.n for p in facets.prefs if p.n},
        "regions": {k: v for k, v in facets.regions.items() if v},
        "themes": {t.key: t.n for t in facets.themes if t.n},
        "years": {y: n for y, n in facets.years.items() if n},
        "pops": {k: v for k, v in facets.pops.items() if v},
    }


def filters_for(**values):
    filters = selectors.Filters(query=parse(""))
    for key, value in values.items():
        setattr(filters, key, value)
    return filters


COMBINATIONS = list(
    itertools.product(
        [{}, {"region": "kanto"}, {"pref": "13"}, {"region": "kyushu_okinawa", "pref": "40"}],
        [{}, {"theme": "tourism"}, {"theme": "migration"}],
        [{}, {"year": 2020}, {"year": 2024}],
        [{}, {"pop": "10k-50k"}, {"pop": "u5k"}],
    )
)


@pytest.mark.parametrize("combination", [*COMBINATIONS[::4], COMBINATIONS[-1]])
def test_cells_count_what_counting_the_cases_counts(combination):
    filters = filters_for(**{k: v for part in combination for k, v in part.items()})
    assert from_cells(filters) == {
        k: {kk: vv for kk, vv in v.items() if vv} if isinstance(v, dict) else v for k, v in brute_force(filters).items()
    }


def test_cells_follow_an_edit_when_it_commits(django_capture_on_commit_callbacks):
    filters = filters_for(theme="disaster")
    before = from_cells(filters)["total"]
    case = CaseStudy.objects.published().exclude(themes__key="disaster").first()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        case.themes.add(Theme.objects.get(key="disaster"))
    assert [c.__name__ for c in callbacks].count("_rebuild_after_commit") == 1  # once, however many signals
    assert from_cells(filters)["total"] == before + 1
    with django_capture_on_commit_callbacks(execute=True):
        case.state = "draft"
        case.save()
    assert from_cells(filters)["total"] == before


def test_a_change_whose_commit_never_came_is_counted_at_the_next_read():
    """Inside a transaction that has not committed, the cells are marked stale, and the next
    read rebuilds them before answering."""
    filters = filters_for(pop="200k")
    before = from_cells(filters)["total"]
    CaseStudy.objects.published().exclude(population_band="200k").update(population=300_000)  # no signal
    case = CaseStudy.objects.published().exclude(population_band="200k").first()
    case.population = 250_000
    case.save()  # the signal marks the cells stale; no on_commit runs in this test
    assert from_cells(filters)["total"] == brute_force(filters)["total"]
    assert brute_force(filters)["total"] == before + 1


def test_a_scheduled_case_counts_from_its_publish_time_without_a_save():
    start = timezone.now()
    filters = filters_for()
    before = from_cells(filters)["total"]
    case = CaseStudy.objects.published().first()
    case.pk = None
    case.slug = "scheduled-case"
    case.published_at = start + datetime.timedelta(hours=2)
    case.save()
    case.themes.set(Theme.objects.filter(key="tourism"))
    assert from_cells(filters)["total"] == before
    with time_machine.travel(start + datetime.timedelta(hours=3)):
        assert from_cells(filters)["total"] == before + 1
        assert from_cells(filters_for(theme="tourism")) == brute_force(filters_for(theme="tourism"))


def test_ongoing_cases_count_in_the_new_fiscal_year_once_it_starts():
    case = CaseStudy.objects.published().filter(fiscal_year_end__isnull=True).first()
    assert case is not None
    now = timezone.localtime()
    next_year = fiscal_year(now.date()) + 1
    from_cells(filters_for())  # built for this fiscal year
    with time_machine.travel(datetime.datetime(next_year, 4, 1, 9, tzinfo=now.tzinfo)):
        filters = filters_for(year=next_year)
        assert next_year in selectors.years()
        assert from_cells(filters)["total"] == brute_force(filters)["total"] > 0


def listed_slugs(client, **params):
    html = client.get("/casestudies/", params).content.decode()
    return re.findall(r'class="case-card__title"><a href="/casestudies/([\w-]+)/"', html)


def test_theme_bits_follow_the_themes_both_ways(client):
    """The list filters by theme on CaseStudy.theme_mask; it follows every way themes change."""
    disaster = Theme.objects.get(key="disaster")
    case = CaseStudy.objects.published().exclude(themes=disaster).first()
    case.themes.add(disaster)
    assert case.slug in listed_slugs(client, theme="disaster", sort="kana", pop=case.population_band)
    case.themes.remove(disaster)
    assert case.slug not in listed_slugs(client, theme="disaster", sort="kana", pop=case.population_band)
    disaster.case_studies.add(case)  # from the theme's side
    case.refresh_from_db()
    assert case.theme_mask & (1 << disaster.pk)
    others = list(disaster.case_studies.values_list("pk", flat=True))
    disaster.case_studies.clear()
    assert not CaseStudy.objects.filter(pk__in=others, theme_mask__gt=0).exclude(themes__isnull=False).exists()
    for other in CaseStudy.objects.filter(pk__in=others):
        assert not other.theme_mask & (1 << disaster.pk)
        assert other.theme_mask == sum(1 << t.pk for t in other.themes.all())
    assert listed_slugs(client, theme="disaster") == []


@pytest.mark.parametrize("combination", COMBINATIONS[::5])
@pytest.mark.parametrize("sort", ["new", "kana", "pref"])
def test_page_query_selects_what_the_orm_filter_selects(combination, sort):
    """The list's page query (plain SQL) and filtered() (the ORM, used by the open data) agree."""

    filters = filters_for(**{k: v for part in combination for k, v in part.items()}, sort=sort)
    theme_ids = dict(Theme.objects.values_list("key", "pk"))
    orders = {
        "new": ("-edition", "-fiscal_year_start", "-id"),
        "kana": ("organisation_kana", "id"),
        "pref": ("prefecture_id", "organisation_kana", "id"),
    }
    expected = list(
        selectors.filtered(filters, theme_ids=theme_ids).order_by(*orders[sort]).values_list("pk", flat=True)
    )
    if filters.theme:  # the theme bits select what the themes themselves select
        by_join = CaseStudy.objects.filter(pk__in=expected, themes__key=filters.theme)
        assert by_join.count() == len(expected)
    pages = selectors.PageIds(filters, theme_ids=theme_ids, count=len(expected))
    assert pages[0:1000] == expected
    assert pages[3:7] == expected[3:7]


def test_a_card_shows_an_edit_at_once(client, django_capture_on_commit_callbacks):
    case = CaseStudy.objects.published().order_by("-edition", "-fiscal_year_start", "-id").first()
    assert case.title_ja in client.get("/casestudies/").content.decode()  # drawn and kept
    with django_capture_on_commit_callbacks(execute=True):
        case.title_ja = "題名を直した事例"
        case.save()
    html = client.get("/casestudies/").content.decode()
    assert "題名を直した事例" in html
    theme = case.themes.first()
    with django_capture_on_commit_callbacks(execute=True):
        theme.name_ja = "名前を変えたテーマ"
        theme.save()
    assert "名前を変えたテーマ" in client.get("/casestudies/").content.decode()


def test_card_store_keeps_the_most_recent():
    from casestudies.views import CardStore

    store = CardStore(size=2)
    store.put("a", "A")
    store.put("b", "B")
    assert store.get("a") == "A"  # a is now the most recent
    store.put("c", "C")
    assert store.get("b") is None and store.get("a") == "A" and store.get("c") == "C"


def test_a_keyword_with_more_hits_than_counted_says_so(client, monkeypatch):
    from casestudies import selectors as list_selectors
    from casestudies import views
    from portal.search import engine

    for module in (engine, list_selectors, views):
        monkeypatch.setattr(module, "MATCHING_LIMIT", 5)
    html = client.get("/casestudies/", {"q": "地域"}).content.decode()
    assert "該当する事例: 5 件以上" in html
    assert "関連度の高い 5 件の中で数えています" in html
    html = client.get("/casestudies/", {"q": "棚田"}).content.decode()
    assert "件以上" not in html
