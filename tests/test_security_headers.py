"""The security headers and cookies of every page type, with the production settings.

Every public page type (HTML, CSV, JSON, Atom, iCalendar, XML, plain text, the 404 and 400 pages),
in Japanese and English, and the admin's login page answer with:

- a strict Content-Security-Policy (no 'unsafe-inline', 'unsafe-eval' or wildcards; frame-ancestors
  'none'), and X-Frame-Options DENY where it is sent;
- Strict-Transport-Security of at least a year, with subdomains;
- X-Content-Type-Options: nosniff, a strict Referrer-Policy, Cross-Origin-Opener-Policy: same-origin;
- Permissions-Policy turning off every browser feature the portal does not use
  (portal.security.PermissionsPolicyMiddleware);
- no cookie at all for an anonymous GET, except the csrftoken of the pages holding a form that
  posts (the consultation form and the admin login), which is Secure, HttpOnly and SameSite=Lax.

The settings are the production ones: the security values of portal/settings.py read in a
process started with the production environment (portal/tests/test_settings.py's PROD), applied
with override_settings, and requests made over HTTPS (``secure=True``). `manage.py check --deploy`
under the production environment is portal/tests/test_settings.py's
test_check_deploy_is_clean_in_production.
"""

import json
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import translation

from casestudies.models import CaseStudy
from expertnet.models import Dispatch, Expert, Seminar
from initiatives.models import Initiative
from portal.models import NewsItem, Page
from portal.security import PermissionsPolicyMiddleware, permissions_policy_header
from portal.tests.test_settings import PROD, run_manage

# The settings that make up the production security: read from portal/settings.py as production
# builds them, never restated here.
PRODUCTION_SECURITY_SETTINGS = [
    "MIDDLEWARE",
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "SECURE_CSP",
    "SECURE_CSP_REPORT_ONLY",
    "PERMISSIONS_POLICY",
    "X_FRAME_OPTIONS",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
]

ONE_YEAR = 60 * 60 * 24 * 365
STRICT_REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
# Browser features no page of the portal uses; each must be off ("()": allowed to nobody).
FEATURES_OFF = [
    "accelerometer",
    "autoplay",
    "browsing-topics",
    "camera",
    "display-capture",
    "encrypted-media",
    "fullscreen",  # no page embeds video: a case's video is a link
    "geolocation",
    "gyroscope",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "sync-xhr",
    "usb",
    "xr-spatial-tracking",
]
CSRF_COOKIE = "csrftoken"
ADMIN_PASSWORD = "correct horse battery staple 2026"


@pytest.fixture(scope="session")
def production_security():
    """The security settings of production, as portal/settings.py builds them from PROD."""
    names = json.dumps(PRODUCTION_SECURITY_SETTINGS)
    code = f"import json; from django.conf import settings as s; print(json.dumps({{n: getattr(s, n, None) for n in {names}}}))"
    result = run_manage("shell", "--no-imports", "-c", code, env=PROD)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    if values["SECURE_PROXY_SSL_HEADER"]:
        values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    # What production must have; the rest of this file checks that the responses show it.
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= ONE_YEAR
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    return values


@pytest.fixture
def production(production_security):
    with override_settings(**production_security):
        yield production_security


# --- The page types -----------------------------------------------------------------------------


def published(model, **filters):
    obj = model.objects.published().filter(**filters).order_by("pk").first()
    assert obj is not None, f"no published {model.__name__} in the shipped content"
    return obj


def municipality_with_dispatches() -> str:
    dispatch = Dispatch.objects.filter(expert__in=Expert.objects.published()).order_by("pk").first()
    assert dispatch is not None, "no dispatch record in the sample data"
    return reverse("expertnet:municipality", kwargs={"code": dispatch.municipality_id})


@dataclass(frozen=True)
class PageType:
    name: str
    path: object  # a callable giving the path in the active language (reverse, get_absolute_url)
    status: int = 200
    cookies: frozenset = frozenset()  # the cookies this page may set for an anonymous visitor
    i18n: bool = True  # also under /en/
    host: str | None = None  # a Host header of its own (the 400 page)

    def path_in(self, lang: str) -> str:
        with translation.override(lang):
            return self.path()


FORM_COOKIES = frozenset({CSRF_COOKIE})
PAGE_TYPES = [
    PageType("home", lambda: reverse("portal:home")),
    PageType("program list", lambda: reverse("initiatives:list")),
    PageType("program detail", lambda: published(Initiative).get_absolute_url()),
    PageType("case list", lambda: reverse("casestudies:list")),
    PageType(
        "case list with filters",
        lambda: reverse("casestudies:list") + "?q=%E7%A7%BB%E4%BD%8F&region=chubu&theme=migration&sort=kana&page=1",
    ),
    PageType("case detail", lambda: published(CaseStudy).get_absolute_url()),
    PageType("case open data", lambda: reverse("casestudies:opendata")),
    PageType("case CSV (Excel)", lambda: reverse("casestudies:export_csv_excel") + "?region=chubu"),
    PageType("case CSV (UTF-8)", lambda: reverse("casestudies:export_csv")),
    PageType("case JSON", lambda: reverse("casestudies:export_json")),
    PageType("case Atom", lambda: reverse("casestudies:feed")),
    PageType("expert list", lambda: reverse("expertnet:list") + "?kana=ka&theme=tourism"),
    PageType("expert detail", lambda: published(Expert).get_absolute_url()),
    PageType("expert CSV", lambda: reverse("expertnet:export_csv") + "?theme=tourism"),
    PageType("expert JSON", lambda: reverse("expertnet:export_json")),
    PageType("expert Atom", lambda: reverse("expertnet:feed")),
    PageType("municipality", municipality_with_dispatches),
    PageType("municipality lookup JSON", lambda: reverse("expertnet:municipality_lookup") + "?q=%E4%B8%8A%E5%8B%9D"),
    PageType("seminar list", lambda: reverse("expertnet:seminars")),
    PageType("seminar detail", lambda: published(Seminar).get_absolute_url()),
    PageType("seminar .ics", lambda: reverse("expertnet:seminar_ics", kwargs={"slug": published(Seminar).slug})),
    PageType("seminar calendar .ics", lambda: reverse("expertnet:seminar_calendar")),
    PageType("seminar Atom", lambda: reverse("expertnet:seminar_feed")),
    PageType("consultation form", lambda: reverse("expertnet:request"), cookies=FORM_COOKIES),
    PageType("news list", lambda: reverse("portal:news_list")),
    PageType("news detail", lambda: published(NewsItem).get_absolute_url()),
    PageType("site page", lambda: published(Page).get_absolute_url()),
    PageType("search", lambda: reverse("portal:search") + "?q=%E5%9C%B0%E5%9F%9F"),
    PageType("site map", lambda: reverse("portal:site_map")),
    PageType("sitemap.xml", lambda: reverse("sitemap"), i18n=False),
    PageType("robots.txt", lambda: reverse("robots_txt"), i18n=False),
    PageType("404 (no such path)", lambda: reverse("portal:home") + "no-such-page/nothing-here/", status=404),
    PageType("404 (no such case)", lambda: reverse("casestudies:detail", kwargs={"slug": "no-such-case"}), status=404),
    PageType("400 (bad Host)", lambda: reverse("portal:home"), status=400, host="bad.example.invalid"),
    PageType("admin login", lambda: reverse("admin:login"), cookies=FORM_COOKIES, i18n=False),
]
CASES = [
    pytest.param(page, lang, id=f"{page.name} [{lang}]")
    for page in PAGE_TYPES
    for lang in (("ja", "en") if page.i18n else ("ja",))
]


def directives(policy: str) -> dict[str, list[str]]:
    """{directive: [sources]} of a Content-Security-Policy value."""
    out = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        out[name.lower()] = sources
    return out


def structured_dictionary(value: str) -> dict[str, str]:
    """{feature: allowlist} of a Permissions-Policy value: 'camera=(), a=(self)' -> {'camera': '()', 'a': '(self)'}."""
    out = {}
    for item in value.split(","):
        feature, _, allowlist = item.strip().partition("=")
        out[feature] = allowlist
    return out


def header_problems(response, *, secure: bool = True) -> list[str]:
    """What is missing or weak in the security headers of a response."""
    problems = []
    policy = response.get("Content-Security-Policy")
    if not policy:
        problems.append("no Content-Security-Policy")
    else:
        csp = directives(policy)
        for directive, sources in csp.items():
            weak = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "http:", "https:"} & set(sources)
            if weak:
                problems.append(f"CSP {directive} allows {sorted(weak)}")
        for directive, expected in {
            "default-src": ["'self'"],
            "frame-ancestors": ["'none'"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
        }.items():
            if csp.get(directive) != expected:
                problems.append(f"CSP {directive} is {csp.get(directive)}, expected {expected}")
    # frame-ancestors 'none' is what browsers obey; X-Frame-Options is for old ones, and missing on
    # the 400 page of a bad Host (CommonMiddleware refuses it before XFrameOptionsMiddleware runs).
    if response.get("X-Frame-Options", "DENY") != "DENY":
        problems.append(f"X-Frame-Options {response.get('X-Frame-Options')!r}")
    hsts = response.get("Strict-Transport-Security")
    if secure:
        if not hsts:
            problems.append("no Strict-Transport-Security")
        else:
            parts = [p.strip() for p in hsts.split(";")]
            max_age = next((int(p.split("=", 1)[1]) for p in parts if p.startswith("max-age=")), 0)
            if max_age < ONE_YEAR or "includeSubDomains" not in parts:
                problems.append(f"weak Strict-Transport-Security {hsts!r}")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"X-Content-Type-Options {response.get('X-Content-Type-Options')!r}")
    if response.get("Referrer-Policy") not in STRICT_REFERRER_POLICIES:
        problems.append(f"Referrer-Policy {response.get('Referrer-Policy')!r}")
    if response.get("Cross-Origin-Opener-Policy") != "same-origin":
        problems.append(f"Cross-Origin-Opener-Policy {response.get('Cross-Origin-Opener-Policy')!r}")
    permissions = response.get("Permissions-Policy")
    if not permissions:
        problems.append("no Permissions-Policy")
    else:
        features = structured_dictionary(permissions)
        allowed = {f: features.get(f) for f in FEATURES_OFF if features.get(f) != "()"}
        if allowed:
            problems.append(f"Permissions-Policy does not turn off {allowed}")
        if "interest-cohort" in features:
            problems.append("Permissions-Policy names the obsolete interest-cohort")
    return problems


def cookie_problems(response, allowed: frozenset) -> list[str]:
    problems = []
    for name, morsel in response.cookies.items():
        if name not in allowed:
            problems.append(f"sets the cookie {name} for an anonymous GET")
            continue
        if not morsel["secure"]:
            problems.append(f"cookie {name} is not Secure")
        if not morsel["httponly"]:
            problems.append(f"cookie {name} is not HttpOnly")
        if morsel["samesite"] not in {"Lax", "Strict"}:
            problems.append(f"cookie {name} has SameSite={morsel['samesite']!r}")
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize(("page", "lang"), CASES)
def test_every_page_type_sends_the_security_headers(page, lang, production):
    path = page.path_in(lang)
    assert path.startswith("/en/") == (lang == "en"), f"{path} is not a page in {lang}"
    headers = {"Host": page.host} if page.host else {}
    response = Client().get(path, secure=True, headers=headers)
    assert response.status_code == page.status, f"{path}: status {response.status_code}, expected {page.status}"
    problems = header_problems(response) + cookie_problems(response, page.cookies)
    if page.host is None and response.get("X-Frame-Options") != "DENY":
        problems.append(f"X-Frame-Options {response.get('X-Frame-Options')!r}")
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)


@pytest.mark.django_db
def test_the_consultation_form_sets_only_a_secure_httponly_csrf_cookie(production):
    """The one public page with a cookie: its form posts, so it needs the CSRF token (Secure, HttpOnly)."""
    response = Client().get(reverse("expertnet:request"), secure=True)
    assert set(response.cookies) == {CSRF_COOKIE}
    morsel = response.cookies[CSRF_COOKIE]
    assert morsel["secure"] and morsel["httponly"] and morsel["samesite"] == "Lax"
    assert "no-store" in response["Cache-Control"]  # never cached with someone's token in it


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_with_the_headers(production):
    response = Client().get("/casestudies/?region=chubu")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/casestudies/?region=chubu"
    assert "Strict-Transport-Security" not in response  # only ever sent over HTTPS
    # SecurityMiddleware answers before the middleware below it run: the redirect has no body to
    # protect and carries SecurityMiddleware's own headers, not CSP, X-Frame-Options or
    # Permissions-Policy (the HTTPS page it leads to has them all).
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] in STRICT_REFERRER_POLICIES
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert not response.content
    assert not response.cookies


@pytest.mark.django_db
def test_admin_login_flow_in_production_has_hsts_and_secure_cookies(production):
    get_user_model().objects.create_superuser("security-admin", "admin@example.go.jp", ADMIN_PASSWORD)
    client = Client(enforce_csrf_checks=True)
    login_url = reverse("admin:login")
    origin = {"Origin": "https://testserver"}

    page = client.get(login_url, {"next": reverse("admin:index")}, secure=True)
    assert page.status_code == 200
    assert not header_problems(page)
    csrf = page.cookies[CSRF_COOKIE]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"
    assert "sessionid" not in page.cookies

    form = {"username": "security-admin", "password": ADMIN_PASSWORD, "next": reverse("admin:index")}
    # Without the token the login is refused (and the refusal has the headers too).
    refused = Client(enforce_csrf_checks=True).post(login_url, form, secure=True, headers=origin)
    assert refused.status_code == 403
    assert not header_problems(refused)

    response = client.post(
        login_url, {**form, "csrfmiddlewaretoken": csrf.value}, secure=True, headers=origin, follow=False
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("admin:index")
    assert not header_problems(response)
    session = response.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    assert session.value
    rotated = response.cookies[CSRF_COOKIE]  # a new token at login
    assert rotated["secure"] and rotated["httponly"]

    index = client.get(reverse("admin:index"), secure=True)
    assert index.status_code == 200
    assert not header_problems(index)
    assert "sessionid" in index.cookies  # the idle limit moves on: still Secure and HttpOnly
    assert index.cookies["sessionid"]["secure"] and index.cookies["sessionid"]["httponly"]


# --- The middleware -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_permissions_policy_comes_from_the_middleware(settings):
    """Without PermissionsPolicyMiddleware no header is sent: the header tests above would fail."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "portal.security.PermissionsPolicyMiddleware"]
    response = Client().get(reverse("robots_txt"))
    assert response.status_code == 200
    assert "Permissions-Policy" not in response
    assert "no Permissions-Policy" in header_problems(response, secure=False)


def test_permissions_policy_is_placed_right_after_the_security_middleware(settings):
    middleware = list(settings.MIDDLEWARE)
    position = middleware.index("django.middleware.security.SecurityMiddleware")
    assert middleware[position + 1] == "portal.security.PermissionsPolicyMiddleware"


def test_permissions_policy_value_from_the_setting(settings):
    settings.PERMISSIONS_POLICY = {"camera": [], "fullscreen": ["self"], "payment": ["self", "https://pay.example"]}
    middleware = PermissionsPolicyMiddleware(lambda request: HttpResponse("ok"))
    response = middleware(RequestFactory().get("/"))
    assert response["Permissions-Policy"] == 'camera=(), fullscreen=(self), payment=(self "https://pay.example")'


def test_permissions_policy_keeps_a_header_the_view_set(settings):
    def view(request):
        response = HttpResponse("ok")
        response["Permissions-Policy"] = "fullscreen=(self)"
        return response

    assert PermissionsPolicyMiddleware(view)(RequestFactory().get("/"))["Permissions-Policy"] == "fullscreen=(self)"


def test_permissions_policy_not_sent_when_the_setting_is_empty(settings):
    settings.PERMISSIONS_POLICY = {}
    response = PermissionsPolicyMiddleware(lambda request: HttpResponse("ok"))(RequestFactory().get("/"))
    assert "Permissions-Policy" not in response


def test_the_setting_turns_off_every_unused_feature(settings):
    assert structured_dictionary(permissions_policy_header(settings.PERMISSIONS_POLICY)) == dict.fromkeys(
        FEATURES_OFF, "()"
    )
