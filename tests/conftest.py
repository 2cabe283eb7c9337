"""Shared fixtures of the site-wide tests: every public page, the error pages, the tools, the browser.

- ``sitemap_entries`` / ``site_pages``: every URL of /sitemap.xml (Japanese and English), fetched
  once with the Django test client.
- ``error_pages``: 404 through the URL resolver, 400/403/500 through the handlers, in both languages.
- ``vnu_command`` / ``axe_js``: the npm tools; ``browser``: Debian's chromium driven by Playwright
  in a thread of its own (see BrowserThread).
- ``a11y_results``: what the crawl measured; written to $A11Y_REPORT at the end of the session
  (portal/accessibility.py shows it on the accessibility policy page).

A tool that is missing skips its test on a developer's machine, and fails it when
CI_REQUIRE_BROWSER is set (CI installs every tool, so a missing one is a broken CI).
"""

import json
import os
import shutil
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
NODE_MODULES = BASE_DIR / "node_modules"
# node_modules/vnu-jar/vnu-jar.js: `path.join(__dirname, 'build/dist/vnu.jar')`.
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"]

SITEMAP_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9", "xhtml": "http://www.w3.org/1999/xhtml"}


def require_tool(available: bool, what: str) -> None:
    """Skip when a tool is missing, unless CI_REQUIRE_BROWSER is set: then fail."""
    if available:
        return
    message = f"{what} is not available"
    if os.environ.get("CI_REQUIRE_BROWSER"):
        pytest.fail(f"{message}, and CI_REQUIRE_BROWSER is set", pytrace=False)
    pytest.skip(message)


def language_of(path: str) -> str:
    """The language of a site path: English under /en/, Japanese everywhere else."""
    return "en" if path == "/en/" or path.startswith("/en/") else "ja"


def npm_version(package: str) -> str:
    return json.loads((NODE_MODULES / package / "package.json").read_text(encoding="utf-8"))["version"]


# --- HTML facts ---------------------------------------------------------------------------------


class PageFacts(HTMLParser):
    """The few facts of a page the site-wide tests look at, from one pass of the standard parser."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.html_lang: str | None = None
        self.h1_count = 0
        self.ids: set[str] = set()
        self.nav_labels: list[str | None] = []
        self.anchors: list[dict[str, str | None]] = []
        self.link_tags: list[dict[str, str | None]] = []
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if "style" in attributes:
            self.style_attributes += 1
        if tag == "html":
            self.html_lang = attributes.get("lang")
        elif tag == "h1":
            self.h1_count += 1
        elif tag == "nav":
            self.nav_labels.append(attributes.get("aria-label"))
        elif tag == "a":
            self.anchors.append(attributes)
        elif tag == "link":
            self.link_tags.append(attributes)
        elif tag == "script":
            script_type = (attributes.get("type") or "").lower()
            if not attributes.get("src") and script_type not in {"application/ld+json", "application/json"}:
                self.inline_scripts += 1
        elif tag == "style":
            self.style_elements += 1

    def alternates(self) -> dict[str, str]:
        """hreflang -> path of the page's <link rel="alternate" hreflang> elements."""
        out = {}
        for link in self.link_tags:
            if "alternate" in (link.get("rel") or "").split() and link.get("hreflang"):
                out[link["hreflang"]] = urlsplit(link.get("href") or "").path
        return out


# --- Pages --------------------------------------------------------------------------------------


@dataclass
class SitemapEntry:
    path: str
    lang: str
    alternates: dict[str, str] = field(default_factory=dict)  # hreflang -> path


@dataclass
class FetchedPage:
    path: str
    lang: str
    status: int
    headers: dict[str, str]
    html: str
    name: str = ""  # a readable name for messages and file names
    expected_status: int = 200

    def __post_init__(self):
        self.name = self.name or self.path

    @classmethod
    def of(cls, path: str, response, *, lang: str | None = None, **extra) -> "FetchedPage":
        """The page a response gave for ``path`` (its language from the path unless given)."""
        return cls(
            path=path,
            lang=lang or language_of(path),
            status=response.status_code,
            headers=dict(response.headers),
            html=response.content.decode(response.charset or "utf-8"),
            **extra,
        )

    @cached_property
    def facts(self) -> PageFacts:
        return PageFacts(self.html)


@pytest.fixture(scope="session")
def sitemap_entries(django_db_setup, django_db_blocker) -> list[SitemapEntry]:
    """Every <url> of /sitemap.xml as a site path (scheme and host stripped), with its alternates."""
    from django.test import Client

    from portal.tests.sitemap_files import section_paths

    client = Client()
    with django_db_blocker.unblock():
        sections = [client.get(path) for path in section_paths(client)]
    urls = []
    for response in sections:
        assert response.status_code == 200, f"a sitemap section answered {response.status_code}"
        urls += ET.fromstring(response.content).findall("sm:url", SITEMAP_NS)
    entries = []
    for url in urls:
        path = urlsplit(url.findtext("sm:loc", namespaces=SITEMAP_NS).strip()).path
        alternates = {
            link.get("hreflang"): urlsplit(link.get("href")).path
            for link in url.findall("xhtml:link", SITEMAP_NS)
            if link.get("rel") == "alternate"
        }
        entries.append(SitemapEntry(path=path, lang=language_of(path), alternates=alternates))
    return entries


@pytest.fixture(scope="session")
def sitemap_urls(sitemap_entries) -> list[str]:
    """The paths of every sitemap URL, Japanese and English."""
    return [entry.path for entry in sitemap_entries]


@pytest.fixture(scope="session")
def site_pages(sitemap_urls, django_db_blocker) -> list[FetchedPage]:
    """Every sitemap URL fetched once with the test client (anonymous, like a visitor)."""
    from django.test import Client

    client = Client()
    pages = []
    with django_db_blocker.unblock():
        for path in sitemap_urls:
            response = client.get(path)
            pages.append(FetchedPage.of(path, response))
    return pages


NOT_FOUND_PATHS = {"ja": "/no-such-page/", "en": "/en/no-such-page/"}

# Pages a visitor reaches through a form rather than a link in the sitemap: searches with hits,
# without hits, with a bad query, and keyword-filtered lists, in both languages.
QUERY_PATHS = [
    "/search/?q=%E5%9C%B0%E5%9F%9F",  # 地域
    "/search/?q=%E5%9C%B0%E5%9F%9F&kind=initiative",
    "/search/?q=%E5%AD%98%E5%9C%A8%E3%81%97%E3%81%AA%E3%81%84%E8%A8%80%E8%91%89+%E8%A6%B3%E5%85%89",  # 存在しない言葉 観光
    "/search/?q=%25%22",  # %"
    "/en/search/?q=regional",
    "/en/search/?q=nothing-like-this",
    "/news/?q=%E3%83%9D%E3%83%BC%E3%82%BF%E3%83%AB",  # ポータル
    "/initiatives/?q=%E5%A4%A7%E5%AD%A6",  # 大学
    "/casestudies/?q=%E7%A7%BB%E4%BD%8F&region=chubu&theme=migration&sort=kana",  # 移住, filters, chips
    "/casestudies/?pop=u5k&year=2020&region=nowhere",  # an unknown value, ignored with a notice
    "/en/casestudies/?theme=tourism&page=1",
    "/expertnet/?kana=ka&theme=tourism",  # the 五十音 index, a field, chips
    "/expertnet/?q=%E8%A6%B3%E5%85%89&place=dispatch&region=kyushu_okinawa",  # 観光, by dispatch place
    "/en/expertnet/?kind=municipal&pref=36",
    "/expertnet/municipalities/363022/",  # a municipality's dispatches and cases
    "/en/expertnet/municipalities/363022/",
    "/expertnet/consultation/?expert=sample-expert-001&expert=no-such-expert",  # a preselected expert
    "/en/initiatives/?q=university",
]


@pytest.fixture(scope="session")
def query_pages(django_db_setup, django_db_blocker) -> list[FetchedPage]:
    """The pages of QUERY_PATHS, fetched once with the test client."""
    from django.test import Client

    client = Client()
    pages = []
    with django_db_blocker.unblock():
        for path in QUERY_PATHS:
            response = client.get(path)
            pages.append(FetchedPage.of(path, response))
    return pages


@pytest.fixture(scope="session")
def error_pages(django_db_setup, django_db_blocker) -> list[FetchedPage]:
    """404 in both languages through the resolver; 400, 403 and 500 through portal.views' handlers."""
    from django.test import Client, RequestFactory
    from django.utils import translation

    from portal import views

    pages = []
    client = Client()
    with django_db_blocker.unblock():
        for lang, path in NOT_FOUND_PATHS.items():
            response = client.get(path)
            pages.append(FetchedPage.of(path, response, lang=lang, name=f"404 {lang} {path}", expected_status=404))
        factory = RequestFactory()
        handlers = {
            400: lambda request: views.bad_request(request, exception=None),
            403: lambda request: views.permission_denied(request, exception=None),
            500: views.server_error,
        }
        for status, handler in handlers.items():
            for lang, path in (("ja", "/"), ("en", "/en/")):
                request = factory.get(path)
                with translation.override(lang):
                    request.LANGUAGE_CODE = lang
                    response = handler(request)
                pages.append(
                    FetchedPage.of(path, response, lang=lang, name=f"{status} {lang} (handler)", expected_status=status)
                )
    return pages


@pytest.fixture(scope="session")
def browser_paths(sitemap_urls) -> list[tuple[str, int]]:
    """(path, expected status) of every page the browser crawl opens: the sitemap and the 404s."""
    return (
        [(path, 200) for path in sitemap_urls]
        + [(path, 200) for path in QUERY_PATHS]
        + [(path, 404) for path in NOT_FOUND_PATHS.values()]
    )


# --- Tools --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def vnu_command() -> list[str]:
    java = shutil.which("java")
    require_tool(bool(java) and VNU_JAR.is_file(), f"java ({java or 'not on PATH'}) and {VNU_JAR}")
    return [java, "-jar", str(VNU_JAR)]


@pytest.fixture(scope="session")
def axe_js() -> Path:
    require_tool(AXE_JS.is_file(), str(AXE_JS))
    return AXE_JS


class BrowserThread:
    """Playwright's sync API in a thread of its own; ``run(fn, ...)`` calls ``fn`` in that thread.

    MACHINE-NOTES.md gives two ways to use the sync API next to ``live_server``: set
    DJANGO_ALLOW_ASYNC_UNSAFE, or give the browser its own thread. The first was tried here and
    broke the suite: while Playwright's event loop runs in the test thread, asgiref hands Django
    a second set of database connections (thread-critical locals switch to context variables
    when a loop is running). The connection holding the serialized test data was no longer the
    one the tests saw, so ``serialized_rollback`` silently restored nothing and every browser
    test after the first found an empty database. In a thread of its own, Playwright never
    touches Django: the test thread stays synchronous and Django's async-safety check stays on.
    """

    def __init__(self):
        from playwright.sync_api import sync_playwright

        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._playwright = self.run(lambda: sync_playwright().start())
        self.browser = self.run(
            lambda: self._playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        )

    def run(self, fn, *args, **kwargs):
        return self._executor.submit(fn, *args, **kwargs).result()

    def close(self) -> None:
        try:
            self.run(self.browser.close)
            self.run(self._playwright.stop)
        finally:
            self._executor.shutdown()


@pytest.fixture(scope="module")
def browser() -> BrowserThread:
    """Debian's chromium through Playwright (no browser download), one per test module.

    Every Playwright call goes through ``browser.run``: the objects belong to the browser thread.
    """
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require_tool(False, "the playwright package")
    require_tool(CHROMIUM.is_file(), str(CHROMIUM))
    thread = BrowserThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def crawl_page(browser):
    """The one page object the whole crawl reuses (a new page per URL would cost more than axe).

    The site's Content-Security-Policy (script-src 'self') blocks the script tag that injects
    axe-core, so this context bypasses it; the keyboard test's context keeps it, and the page
    tests check the header and that no page has inline script or style.
    """

    def open_context():
        context = browser.browser.new_context(viewport={"width": 1280, "height": 800}, locale="ja-JP", bypass_csp=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return context, page

    context, page = browser.run(open_context)
    yield page
    browser.run(context.close)


# --- The accessibility report -------------------------------------------------------------------


@dataclass
class A11yResults:
    """What this run measured. A value stays None until the test that measures it has finished."""

    pages: int | None = None  # pages axe-core checked
    axe_version: str | None = None
    axe_violations: int | None = None  # violated rules, counted once per page
    vnu_version: str | None = None
    html_errors: int | None = None
    keyboard_ok: bool | None = None

    def record_axe(self, *, pages: int, violations: int) -> None:
        self.pages, self.axe_violations, self.axe_version = pages, violations, npm_version("axe-core")

    def record_vnu(self, *, errors: int) -> None:
        self.html_errors, self.vnu_version = errors, npm_version("vnu-jar")

    def not_measured(self) -> list[str]:
        return [name for name, value in vars(self).items() if value is None]

    def report(self) -> dict:
        from django.utils import timezone

        return {"date": timezone.localdate().isoformat(), **vars(self)}


@pytest.fixture(scope="session")
def a11y_results():
    """Collects the results of the HTML, axe and keyboard tests; writes $A11Y_REPORT at session end.

    The file is written only when every value was measured in this run: a partial run (a skipped
    tool, `-k`) leaves the previous file alone and fails loudly instead of publishing guesses.
    """
    results = A11yResults()
    yield results
    target = os.environ.get("A11Y_REPORT")
    if not target:
        return
    missing = results.not_measured()
    if missing:
        pytest.fail(f"A11Y_REPORT={target} not written: this run did not measure {', '.join(missing)}", pytrace=False)
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results.report(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
