"""What every public page of the portal passes, in Japanese and in English.

a. Every sitemap URL answers 200 with one <h1>, the right <html lang>, the 現在位置 breadcrumb, a
   skip link, a strict Content-Security-Policy and links to the other language; error pages too.
b. Valid HTML: the Nu Html Checker (vnu) over every page, in one run.
c. Zero axe-core violations (WCAG 2.1 A/AA and best practices), and no horizontal scrolling at
   200 % zoom (a 640 CSS px wide viewport, i.e. 1280 px at 200 %).
d. Keyboard only: skip link first, tab to a program, Enter, tab to "English", Enter.
e. Query counts that do not grow with the data.

b, c and d record what they measured in ``a11y_results``; with A11Y_REPORT=path the session
writes it there (`make a11y-report`, shown on the accessibility policy page).
"""

import datetime
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from expertnet.models import Expert, Seminar, SeminarSession
from initiatives.models import Initiative, InitiativeDocument, InitiativeLink, InitiativeStatus, Meeting
from portal.models import Municipality, NewsItem, Page
from portal.publishing import PublishState

BREADCRUMB_LABEL = {"ja": "現在位置", "en": "You are here"}
HOME_PATHS = {"/", "/en/"}
# home, programs, cases and their open data, experts and their open data, seminars, the request
# form for experts, news, search, site map
STATIC_SITEMAP_ITEMS = 11
OTHER_LANGUAGE = {"ja": "en", "en": "ja"}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
MAX_TABS = 60


def expected_alternates(path: str) -> dict[str, str]:
    """The Japanese and English paths of a page (Japanese unprefixed, English under /en/)."""
    ja = path[len("/en") :] if path.startswith("/en/") else path
    return {"ja": ja, "en": "/en" + ja, "x-default": ja}


def fail_with(problems: list[str], what: str) -> None:
    if problems:
        pytest.fail(f"{len(problems)} {what}:\n  " + "\n  ".join(problems), pytrace=False)


# --- a. Every page ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sitemap_lists_every_public_page_in_both_languages(sitemap_entries):
    from casestudies.models import CaseStudy

    published = (
        Initiative.objects.published().count()
        + Page.objects.published().count()
        + NewsItem.objects.published().count()
        + CaseStudy.objects.published().count()
        + Seminar.objects.published().count()
        + Expert.objects.published().count()
    )
    assert published >= 10 + 5 + 3, "the shipped content (10 programs, 5 site pages, 3 news) is missing"
    paths = [entry.path for entry in sitemap_entries]
    assert len(paths) == len(set(paths)), "the sitemap lists a URL twice"
    assert len(paths) >= 2 * (10 + 5 + 3 + STATIC_SITEMAP_ITEMS)
    assert len(paths) == 2 * (published + STATIC_SITEMAP_ITEMS)
    by_lang = {lang: {e.path for e in sitemap_entries if e.lang == lang} for lang in ("ja", "en")}
    assert {expected_alternates(p)["en"] for p in by_lang["ja"]} == by_lang["en"], "ja and en lists differ"
    problems = [
        f"{e.path}: alternates {e.alternates}, expected {expected_alternates(e.path)}"
        for e in sitemap_entries
        if e.alternates != expected_alternates(e.path)
    ]
    fail_with(problems, "sitemap entries with wrong hreflang alternates")


@pytest.mark.django_db
def test_every_page_answers_200_with_one_h1_in_its_language(site_pages, query_pages):
    problems = []
    for page in [*site_pages, *query_pages]:
        if page.status != 200:
            problems.append(f"{page.path}: status {page.status}")
            continue
        facts = page.facts
        if facts.h1_count != 1:
            problems.append(f"{page.path}: {facts.h1_count} <h1> elements")
        if facts.html_lang != page.lang:
            problems.append(f'{page.path}: <html lang="{facts.html_lang}">, expected "{page.lang}"')
    fail_with(problems, "pages with a wrong status, h1 count or language")


@pytest.mark.django_db
def test_every_page_but_home_has_the_breadcrumb(site_pages, query_pages):
    problems = []
    for page in [*site_pages, *query_pages]:
        labels = page.facts.nav_labels
        has_breadcrumb = BREADCRUMB_LABEL[page.lang] in labels
        if page.path in HOME_PATHS and has_breadcrumb:
            problems.append(f"{page.path}: the home page has a breadcrumb")
        elif page.path not in HOME_PATHS and not has_breadcrumb:
            problems.append(f'{page.path}: no <nav aria-label="{BREADCRUMB_LABEL[page.lang]}"> (navs: {labels})')
    fail_with(problems, "pages with a wrong breadcrumb")


@pytest.mark.django_db
def test_every_page_starts_with_a_skip_link_to_main(site_pages, query_pages):
    problems = []
    for page in [*site_pages, *query_pages]:
        facts = page.facts
        first_href = facts.anchors[0].get("href") if facts.anchors else None
        if first_href != "#main":
            problems.append(f"{page.path}: the first link goes to {first_href!r}, not #main")
        if "main" not in facts.ids:
            problems.append(f'{page.path}: no element with id="main"')
    fail_with(problems, "pages without a working skip link")


@pytest.mark.django_db
def test_every_page_has_a_strict_content_security_policy(site_pages, query_pages):
    problems = []
    for page in [*site_pages, *query_pages]:
        policy = page.headers.get("Content-Security-Policy")
        facts = page.facts
        if not policy:
            problems.append(f"{page.path}: no Content-Security-Policy header")
        elif "'unsafe-inline'" in policy:
            problems.append(f"{page.path}: the policy allows 'unsafe-inline': {policy}")
        # What the policy would block, and so silently break in a browser.
        if facts.inline_scripts or facts.style_elements or facts.style_attributes:
            problems.append(
                f"{page.path}: {facts.inline_scripts} inline <script>, {facts.style_elements} <style>, "
                f"{facts.style_attributes} style attributes"
            )
    fail_with(problems, "pages with a missing or weak Content-Security-Policy")


@pytest.mark.django_db
def test_every_page_links_to_the_other_language(site_pages):
    problems = []
    for page in site_pages:
        facts = page.facts
        expected = expected_alternates(page.path)
        alternates = facts.alternates()
        if alternates != expected:
            problems.append(f"{page.path}: <link rel=alternate hreflang> {alternates}, expected {expected}")
        other = OTHER_LANGUAGE[page.lang]
        switch = [
            a
            for a in facts.anchors
            if a.get("hreflang") == other and urlsplit(a.get("href") or "").path == expected[other]
        ]
        if not switch:
            problems.append(f'{page.path}: no <a hreflang="{other}" href="{expected[other]}"> (language switcher)')
        elif switch[0].get("lang") != other:
            problems.append(f'{page.path}: the language switcher link has lang="{switch[0].get("lang")}"')
    fail_with(problems, "pages without links to the other language")


@pytest.mark.django_db
def test_error_pages_have_their_status_one_h1_and_language(error_pages):
    problems = []
    for page in error_pages:
        facts = page.facts
        if page.status != page.expected_status:
            problems.append(f"{page.name}: status {page.status}, expected {page.expected_status}")
        if facts.h1_count != 1:
            problems.append(f"{page.name}: {facts.h1_count} <h1> elements")
        if facts.html_lang != page.lang:
            problems.append(f'{page.name}: <html lang="{facts.html_lang}">, expected "{page.lang}"')
    assert len(error_pages) == 8
    fail_with(problems, "wrong error pages")


# --- b. Valid HTML ------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db
def test_every_page_is_valid_html(site_pages, query_pages, error_pages, vnu_command, a11y_results, tmp_path):
    files = {}  # file name -> page
    for number, page in enumerate([*site_pages, *query_pages, *error_pages], start=1):
        slug = re.sub(r"[^a-z0-9]+", "-", page.name.lower()).strip("-") or "home"
        file = tmp_path / f"{number:03d}-{slug}.html"
        file.write_text(page.html, encoding="utf-8")
        files[file.name] = page.name
    result = subprocess.run(
        [*vnu_command, "--format", "json", "--stdout", *(str(tmp_path / name) for name in files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        messages = json.loads(result.stdout)["messages"]
    except (ValueError, KeyError):
        pytest.fail(f"vnu gave no JSON (exit {result.returncode}):\n{result.stdout}\n{result.stderr}", pytrace=False)
    errors = [m for m in messages if m.get("type") in {"error", "non-document-error"}]
    a11y_results.record_vnu(errors=len(errors))
    problems = []
    for m in errors:
        url = m.get("url", "?")
        name = files.get(Path(urlsplit(url).path).name, url)
        where = f"line {m.get('lastLine', '?')}:{m.get('firstColumn', m.get('lastColumn', '?'))}"
        extract = (m.get("extract") or "").replace("\n", " ").strip()
        problems.append(f"{name} {where}: {m.get('message')}  [{extract}]")
    fail_with(problems, f"HTML errors in {len(files)} pages")
    assert result.returncode == 0, result.stderr


# --- c. axe-core and reflow ---------------------------------------------------------------------
#
# The functions named *_in_browser run in the browser's thread (conftest.BrowserThread) and only
# drive the browser; the tests check what they return, in the test thread.

# Every browser test reads the shipped content, which a transactional test's flush would remove.
browser_db = pytest.mark.django_db(transaction=True, serialized_rollback=True)

AXE_RUN_JS = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
  .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                     targets: v.nodes.map(n => n.target.join(' '))})))"""


def open_page(page, url: str, expected_status: int) -> str | None:
    response = page.goto(url, wait_until="load")
    if response is None or response.status != expected_status:
        return f"status {response.status if response else None}, expected {expected_status}"
    return None


def axe_in_browser(
    page, base_url: str, paths: list[tuple[str, int]], axe_js: Path
) -> list[tuple[str, str | None, list]]:
    """(path, error, violations) of every page."""
    out = []
    for path, status in paths:
        error = open_page(page, base_url + path, status)
        if error:
            out.append((path, error, []))
            continue
        page.add_script_tag(path=str(axe_js))
        out.append((path, None, page.evaluate(AXE_RUN_JS, AXE_TAGS)))
    return out


@pytest.mark.browser
@browser_db
def test_no_axe_violations(live_server, browser, crawl_page, browser_paths, axe_js, a11y_results):
    crawl = browser.run(axe_in_browser, crawl_page, live_server.url, browser_paths, axe_js)
    problems = [f"{path}: {error}" for path, error, _ in crawl if error]
    violations = [(path, v) for path, _, found in crawl for v in found]
    problems += [
        f"{path}: {v['id']} ({v['impact']}) {v['help']} -> {', '.join(v['targets'][:5])}" for path, v in violations
    ]
    if not any(error for _, error, _ in crawl):
        a11y_results.record_axe(pages=len(crawl), violations=len(violations))
    fail_with(problems, f"axe-core violations in {len(crawl)} pages")


OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 0.5)
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (el.className ? '.' + [...el.classList].join('.') : '')
         + ' right=' + Math.round(el.getBoundingClientRect().right));
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, wide};
}"""


def reflow_in_browser(page, base_url: str, paths: list[tuple[str, int]]) -> list[tuple[str, str | None, dict]]:
    page.set_viewport_size({"width": 640, "height": 800})  # 1280 px wide at 200 %
    try:
        out = []
        for path, status in paths:
            error = open_page(page, base_url + path, status)
            out.append((path, error, {} if error else page.evaluate(OVERFLOW_JS)))
        return out
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})


@pytest.mark.browser
@browser_db
def test_no_horizontal_scroll_at_200_percent_zoom(live_server, browser, crawl_page, browser_paths):
    crawl = browser.run(reflow_in_browser, crawl_page, live_server.url, browser_paths)
    problems = [f"{path}: {error}" for path, error, _ in crawl if error]
    problems += [
        f"{path}: scrollWidth {m['scrollWidth']} > {m['innerWidth']}; too wide: {m['wide']}"
        for path, error, m in crawl
        if not error and m["scrollWidth"] > m["innerWidth"]
    ]
    fail_with(problems, "pages that scroll sideways at 200 % zoom")


# --- d. Keyboard only ---------------------------------------------------------------------------

FOCUSED_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const style = getComputedStyle(el);
  const rect = el.getBoundingClientRect();
  return {
    tag: el.tagName.toLowerCase(), id: el.id, href: el.getAttribute('href'), pathname: el.pathname || null,
    hreflang: el.getAttribute('hreflang'), text: el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 60),
    outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) || 0,
    boxShadow: style.boxShadow, width: rect.width, height: rect.height, bottom: rect.bottom,
  };
}"""
INITIATIVE_PATH = re.compile(r"^/initiatives/[\w-]+/$")


def focus_problem(info: dict) -> str | None:
    """Why the focused element's focus would not be visible, or None."""
    outline = info["outlineStyle"] != "none" and info["outlineWidth"] > 0
    shadow = bool(info["boxShadow"]) and info["boxShadow"] != "none"
    if not (outline or shadow):
        return f"no focus indicator on <{info['tag']}> {info['text']!r} (outline {info['outlineStyle']}, no box-shadow)"
    if info["width"] == 0 or info["height"] == 0 or info["bottom"] <= 0:
        return f"focused <{info['tag']}> {info['text']!r} is not on screen"
    return None


def tab_until(page, wanted, focus_problems: list[str]) -> dict | None:
    """Press Tab until ``wanted(focused)`` holds (at most MAX_TABS times), checking every focus on the way."""
    where = urlsplit(page.url).path
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        info = page.evaluate(FOCUSED_JS)
        if info is None:
            continue
        problem = focus_problem(info)
        if problem:
            focus_problems.append(f"{where}: {problem}")
        if wanted(info):
            return info
    return None


def keyboard_in_browser(browser, base: str) -> dict:
    """Walk the site with the keyboard only; the assertions fail in the test thread."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP")  # the real CSP
    page = context.new_page()
    page.set_default_timeout(15_000)
    walk = {"console_errors": [], "focus_problems": []}
    page.on("console", lambda m: walk["console_errors"].append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: walk["console_errors"].append(f"{page.url}: {e}"))
    try:
        page.goto(base + "/")
        page.keyboard.press("Tab")
        walk["first"] = page.evaluate(FOCUSED_JS)

        link = tab_until(
            page, lambda i: bool(i["pathname"] and INITIATIVE_PATH.match(i["pathname"])), walk["focus_problems"]
        )
        walk["program_link"] = link
        if not link:
            return walk
        with page.expect_navigation():
            page.keyboard.press("Enter")
        walk["after_program_enter"] = page.url
        walk["program_h1_count"] = page.locator("h1").count()

        english = tab_until(
            page,
            lambda i: i["tag"] == "a" and i["text"] == "English" and i["hreflang"] == "en",
            walk["focus_problems"],
        )
        walk["english_link"] = english
        if not english:
            return walk
        with page.expect_navigation():
            page.keyboard.press("Enter")
        walk["after_english_enter"] = page.url
        walk["english_lang"] = page.evaluate("document.documentElement.lang")

        # The skip link moves keyboard focus to the main content.
        page.keyboard.press("Tab")
        walk["english_first"] = page.evaluate(FOCUSED_JS)
        page.keyboard.press("Enter")
        walk["after_skip_focus"] = page.evaluate("document.activeElement.id")
        return walk
    finally:
        context.close()


@pytest.mark.browser
@browser_db
def test_keyboard_only_navigation(live_server, browser, a11y_results):
    a11y_results.keyboard_ok = False  # until every check below has passed
    base = live_server.url
    walk = browser.run(keyboard_in_browser, browser.browser, base)

    first = walk["first"]
    assert first and first["tag"] == "a" and first["href"] == "#main", f"the first Tab focused {first}"
    assert focus_problem(first) is None, f"the skip link: {focus_problem(first)}"

    link = walk["program_link"]
    assert link, f"{MAX_TABS} Tabs on the home page never reached a link to a program page"
    assert walk["after_program_enter"] == base + link["pathname"], (
        f"Enter on {link['text']!r} opened {walk['after_program_enter']}"
    )
    assert walk["program_h1_count"] == 1

    assert walk["english_link"], f"{MAX_TABS} Tabs on {link['pathname']} never reached the language switcher 'English'"
    assert walk["after_english_enter"] == base + "/en" + link["pathname"], (
        f"'English' opened {walk['after_english_enter']}"
    )
    assert walk["english_lang"] == "en"

    skip = walk["english_first"]
    assert skip and skip["href"] == "#main", f"the first Tab on the English page focused {skip}"
    assert walk["after_skip_focus"] == "main", "the skip link did not move keyboard focus to <main>"

    assert not walk["focus_problems"], "focus not visible:\n  " + "\n  ".join(walk["focus_problems"])
    errors = walk["console_errors"]
    assert not errors, "browser console errors (a blocked script or style?):\n  " + "\n  ".join(errors)
    a11y_results.keyboard_ok = True


# --- e. Query counts ----------------------------------------------------------------------------

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def count_queries(client, path: str) -> tuple[int, list[str]]:
    client.get(path)  # warm up anything cached per process
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, f"{path}: status {response.status_code}"
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def page_kinds(initiative_slug: str, news_slug: str, seminar_slug: str) -> dict[str, str]:
    kinds = {}
    for prefix in ("", "/en"):
        kinds |= {
            f"seminar list{prefix}": f"{prefix}/expertnet/seminars/",
            f"seminar detail{prefix}": f"{prefix}/expertnet/seminars/{seminar_slug}/",
            f"home{prefix}": f"{prefix}/",
            f"initiative list{prefix}": f"{prefix}/initiatives/",
            f"initiative detail{prefix}": f"{prefix}/initiatives/{initiative_slug}/",
            f"news list{prefix}": f"{prefix}/news/",
            f"news detail{prefix}": f"{prefix}/news/{news_slug}/",
            f"site page{prefix}": f"{prefix}/about/",
            f"site map{prefix}": f"{prefix}/sitemap/",
        }
    kinds["sitemap.xml"] = "/sitemap.xml"
    return kinds


def add_program_details(initiative, *, links: int, documents: int, meetings: int, documents_per_meeting: int, tag: str):
    """Links, documents (real PDF bytes), meetings with their documents."""
    for n in range(links):
        InitiativeLink.objects.create(
            initiative=initiative,
            label_ja=f"関連リンク{tag}-{n}",
            label_en=f"Link {tag}-{n}",
            url=f"https://www.soumu.go.jp/{tag}/{n}.html",
            order=n,
        )
    for n in range(documents):
        InitiativeDocument.objects.create(
            initiative=initiative,
            title_ja=f"資料{tag}-{n}",
            title_en=f"Document {tag}-{n}",
            file=ContentFile(PDF_BYTES, name=f"{tag}-{n}.pdf"),
            order=n,
        )
    for m in range(meetings):
        meeting = Meeting.objects.create(
            initiative=initiative,
            title_ja=f"第{m + 1}回 会議{tag}",
            title_en=f"Meeting {m + 1} {tag}",
            held_at=timezone.now() - datetime.timedelta(days=30 * m),
            place_ja="中央合同庁舎第2号館",
            agenda_ja="1. 開会\n2. 議事",
            minutes_ja="議事要旨です。",
        )
        for n in range(documents_per_meeting):
            InitiativeDocument.objects.create(
                initiative=initiative,
                meeting=meeting,
                title_ja=f"会議資料{tag}-{m}-{n}",
                file=ContentFile(PDF_BYTES, name=f"{tag}-{m}-{n}.pdf"),
                order=n,
            )


def new_program(number: int, *, english: bool = True) -> Initiative:
    return Initiative.objects.create(
        slug=f"extra-program-{number}",
        title_ja=f"追加の取組{number}",
        title_en=f"Extra program {number}" if english else "",
        summary_ja=f"追加の取組{number}の概要です。" * 3,
        summary_en=f"Summary of extra program {number}." if english else "",
        body_ja="## 取組の内容\n\n本文です。",
        office_ja="地域力創造グループ 地域政策課",
        status=InitiativeStatus.ACTIVE if number % 2 else InitiativeStatus.PAST,
        state=PublishState.PUBLISHED,
        published_at=timezone.now() - datetime.timedelta(days=number + 1),
        order=200 + number,
    )


def add_seminars(count: int, *, speakers) -> None:
    """Published seminars, past and upcoming, each with a programme of three sessions and speakers."""
    municipality = Municipality.objects.get(code="202053")
    for n in range(count):
        starts = timezone.now() + datetime.timedelta(days=10 * n - 150)
        seminar = Seminar.objects.create(
            slug=f"extra-seminar-{n}",
            title_ja=f"追加のセミナー{n}",
            starts_at=starts,
            ends_at=starts + datetime.timedelta(hours=5),
            municipality=municipality,
            venue_ja="市民会館",
            summary_ja="追加のセミナーの概要です。",
            state=PublishState.PUBLISHED,
            published_at=timezone.now() - datetime.timedelta(days=1),
        )
        for m in range(3):
            session = SeminarSession.objects.create(
                seminar=seminar,
                starts_at=starts + datetime.timedelta(hours=m),
                kind="lecture",
                title_ja=f"講演{n}-{m}",
            )
            session.speakers.set(speakers[m:])


@pytest.mark.django_db
def test_query_counts_do_not_grow_with_the_data(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    shipped = Initiative.objects.published().order_by("order", "id").first()
    news = NewsItem.objects.published().first()
    seminar = Seminar.objects.published().order_by("starts_at", "id").first()
    kinds = page_kinds(shipped.slug, news.slug, seminar.slug)
    before = {kind: count_queries(client, path) for kind, path in kinds.items()}

    # A program page with one of everything, then the same page with many.
    grown = new_program(0)
    add_program_details(grown, links=1, documents=1, meetings=1, documents_per_meeting=1, tag="g1")
    grown.related.add(shipped)
    grown_path = f"/initiatives/{grown.slug}/"  # reverse() would follow the language of the last request
    grown_before = {p: count_queries(client, p) for p in (grown_path, "/en" + grown_path)}

    # More of everything: 30 programs with links, documents, meetings and related programs,
    # 40 news items, and the shipped program's page grows too.
    programs = [new_program(n, english=n % 3 != 0) for n in range(1, 31)]
    for n, program in enumerate(programs):
        add_program_details(program, links=2, documents=2, meetings=2, documents_per_meeting=2, tag=f"p{n}")
        program.related.add(*programs[max(0, n - 3) : n], shipped)
    add_program_details(grown, links=8, documents=6, meetings=5, documents_per_meeting=3, tag="g2")
    grown.related.add(*programs[:10])
    # No meetings here: the view's nested prefetch of meeting documents runs only when a program
    # has meetings (5 queries without, 6 with, at any size); the pair above pins that shape.
    add_program_details(shipped, links=6, documents=5, meetings=0, documents_per_meeting=0, tag="s")
    shipped.related.add(*programs[10:20])
    for n in range(40):
        NewsItem.objects.create(
            slug=f"extra-news-{n}",
            title_ja=f"追加のお知らせ{n}",
            title_en=f"Extra news {n}" if n % 2 else "",
            summary_ja="お知らせの概要です。",
            body_ja="お知らせの本文です。",
            initiative=programs[n % 30] if n % 4 else None,
            state=PublishState.PUBLISHED,
            published_at=timezone.now() - datetime.timedelta(hours=n + 1),
        )
    add_seminars(30, speakers=list(Expert.objects.published()[:5]))
    assert Initiative.objects.published().count() >= 41
    assert NewsItem.objects.published().count() >= 43
    detail = client.get(kinds["initiative detail"]).content.decode()
    assert "関連リンクs-5" in detail and "資料s-4" in detail and "追加の取組20" in detail, (
        "the growth is not on the page"
    )

    after = {kind: count_queries(client, path) for kind, path in kinds.items()}
    grown_after = {p: count_queries(client, p) for p in grown_before}

    problems = [
        f"{kind} ({kinds[kind]}): {before[kind][0]} queries at the shipped data, {after[kind][0]} after adding data:\n"
        + "\n".join(f"      {sql}" for sql in after[kind][1])
        for kind in kinds
        if after[kind][0] != before[kind][0]
    ]
    problems += [
        f"{path}: {grown_before[path][0]} queries with one link/document/meeting, {grown_after[path][0]} with many"
        for path in grown_before
        if grown_after[path][0] != grown_before[path][0]
    ]
    fail_with(problems, "pages whose query count grows with the data")

    measured = [
        (f"{kind} ({state})", counts[kind][0])
        for state, counts in (("shipped", before), ("grown", after))
        for kind in kinds
        if kind.startswith(("home", "initiative detail"))
    ]
    measured += [
        (f"{path} ({state})", counts[path][0])
        for state, counts in (("one", grown_before), ("many", grown_after))
        for path in grown_before
    ]
    too_many = [f"{what}: {count} queries" for what, count in measured if count > 8]
    fail_with(too_many, "pages over 8 queries")
