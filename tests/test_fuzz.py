"""Fuzzing every public URL pattern: no input a visitor can send gives a 5xx.

The URL patterns are read from the resolver (both languages: Japanese unprefixed, English under
/en/), not listed by hand, so a new view is fuzzed as soon as it has a URL; the admin, static and
media files are left out. For each pattern hypothesis draws:

- a value for each converter: one that matches the converter (so the view runs) or anything else
  (any Unicode text but surrogates, NUL included, percent-encoded; raw percent sequences that are
  not UTF-8 such as %FF, %C3 and %ED%A0%80; %00; very long strings; huge and negative numbers);
- a query string of the parameters the views read (q, page, pref, region, theme, year, pop, sort,
  kind, kana, place, expert, t, …) and random ones, with plausible and random values, repeated
  keys, stray separators and broken percent sequences;
- GET or HEAD;

and asserts a status below 500. The test client raises a view's exception, so a 500 fails with its
traceback. The consultation form also gets POSTs of random (and nearly valid) form fields, as
multipart and as raw urlencoded bodies, with and without the CSRF check.

PostgreSQL refuses NUL characters that SQLite stores: run this file on both databases (README,
"PostgreSQL").
"""

import os
import re
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import LocalePrefixPattern, RoutePattern
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

# Examples per URL pattern (~70 patterns) and for the form: the file runs in well under a minute.
# FUZZ_EXAMPLES=500 fuzzes deeper (the form gets ten times as many).
EXAMPLES_PER_PATTERN = int(os.environ.get("FUZZ_EXAMPLES", "15"))
EXAMPLES_FOR_THE_FORM = 10 * EXAMPLES_PER_PATTERN
FUZZ = hypothesis_settings(
    max_examples=EXAMPLES_PER_PATTERN,
    deadline=None,
    database=None,  # no .hypothesis/ folder in the working tree; a failure prints its example
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# --- The URL patterns ---------------------------------------------------------------------------

PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    template: str  # "en/casestudies/<slug:slug>/"
    converters: tuple  # ((name, converter), ...) in the order of the template

    @property
    def id(self) -> str:
        return "/" + self.template


def language_prefixes() -> list[str]:
    """The prefixes of i18n_patterns(prefix_default_language=False): "" and "en/"."""
    return [("" if code == settings.LANGUAGE_CODE else f"{code}/") for code, _ in settings.LANGUAGES]


def public_routes(patterns=None, prefix: str = "", converters: tuple = ()) -> list[Route]:
    """Every URL pattern of the public site, in every language, from the resolver."""
    routes = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        pattern = entry.pattern
        if isinstance(entry, URLResolver) and entry.app_name == "admin":
            continue  # the admin is not public
        if isinstance(pattern, LocalePrefixPattern):
            parts = [(p, {}) for p in language_prefixes()]
        elif isinstance(pattern, RoutePattern):
            parts = [(str(pattern), pattern.converters)]
        else:  # a regex pattern: only the media files of PORTAL_SERVE_MEDIA, which are not views
            continue
        for part, part_converters in parts:
            if (prefix + part).startswith((settings.STATIC_URL.lstrip("/"), settings.MEDIA_URL.lstrip("/"))):
                continue
            found = converters + tuple(
                (m["name"], part_converters[m["name"]]) for m in PARAMETER.finditer(part) if m["name"]
            )
            if isinstance(entry, URLResolver):
                routes += public_routes(entry.url_patterns, prefix + part, found)
            elif isinstance(entry, URLPattern):
                routes.append(Route(prefix + part, found))
    return routes


ROUTES = public_routes()


def test_the_routes_cover_the_site_in_both_languages():
    templates = {route.template for route in ROUTES}
    for expected in (
        "",
        "en/",
        "casestudies/<slug:slug>/",
        "en/expertnet/municipalities/<str:code>/",
        "expertnet/seminars/<slug:slug>/event.ics",
        "expertnet/consultation/",
        "sitemap.xml",
        "robots.txt",
        "<slug:slug>/",
    ):
        assert expected in templates, f"{expected!r} is not among the fuzzed routes"
    assert not [t for t in templates if t.startswith(settings.ADMIN_PATH)], "the admin is fuzzed"
    japanese = [t for t in templates if not t.startswith("en/")]
    # sitemap.xml and its section files, robots.txt, favicon.ico: one language only
    assert len(templates) - len(japanese) == len(japanese) - 4


# --- Values -------------------------------------------------------------------------------------

# Any character but surrogates (they cannot be encoded in UTF-8, so no URL carries them as text;
# their bytes come in RAW_PIECES instead). NUL and other controls included.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
RAW_PIECES = [
    "%FF",
    "%00",
    "%",
    "%G1",
    "%C3",
    "%E3%81",
    "%ED%A0%80",
    "%C0%AF",
    "%2F",
    "%2E%2E",
    "%25",
    "%0A",
    "%20",
    "+",
    "..",
    "a",
    "%E5%9C%B0",
]
RAW = st.lists(st.sampled_from(RAW_PIECES), min_size=1, max_size=8).map("".join)
LONG = st.integers(min_value=300, max_value=20_000).map(lambda n: "a" * n)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.integers(min_value=-3, max_value=100).map(str),
    st.sampled_from([str(2**31), str(2**63), str(2**64), str(-(2**63) - 1), "9" * 5000]),  # past int()'s limit
)
# Numbers that are not what they seem: digits str.isdigit() accepts and int() refuses (²), digits
# int() accepts but the database does not hold (full-width, Arabic-Indic), NUL, exponents, hex.
TRICKY = st.sampled_from(
    ["²", "²³", "¹²³⁴⁵⁶", "１", "３６", "٣٦", "３６３０２２", "1e3", " 1", "1\x00", "0x10", "-0", "∞"]
)


def encode(value: str) -> str:
    return quote(value, safe="")


def junk() -> st.SearchStrategy[str]:
    """Anything, ready for a URL: encoded text, raw percent sequences, long strings, numbers."""
    return st.one_of(TEXT.map(encode), RAW, LONG, NUMBERS, TRICKY.map(encode))


def segment(converter) -> st.SearchStrategy[str]:
    """A path segment for a converter: a value that matches it (the view runs) or junk."""
    matching = st.from_regex(rf"\A(?:{converter.regex})\Z").filter(lambda s: "\n" not in s).map(encode)
    return st.one_of(matching, junk())


# The parameters the views read (grep request.GET, parse_filters) and values that mean something.
PARAMETERS = [
    "q",
    "page",
    "pref",
    "region",
    "theme",
    "year",
    "pop",
    "sort",
    "kind",
    "kana",
    "place",
    "expert",
    "t",
    "format",
]
PLAUSIBLE = st.sampled_from(
    [
        "",
        "1",
        "2",
        "999",
        "13",
        "36",
        "47",
        "48",
        "chubu",
        "kyushu_okinawa",
        "tourism",
        "migration",
        "2020",
        "2024",
        "u5k",
        "kana",
        "new",
        "relevance",
        "ka",
        "dispatch",
        "base",
        "municipal",
        "initiative",
        "case",
        "expert",
        "sample-expert-001",
        "sample-case-01",
        "csv",
        "json",
        encode("地域"),
        encode('"地域 観光" -移住'),
        encode("-"),
        encode('"'),
        encode("*"),
        encode("NEAR("),
        encode("' OR 1=1 --"),
    ]
)
VALUE = st.one_of(PLAUSIBLE, TRICKY.map(encode), junk())
# Random keys, keys without "=", stray separators.
STRAY = st.one_of(
    st.tuples(junk(), VALUE).map("=".join),
    junk(),
    st.sampled_from(["", "=", "&", ";", "==", "=x", "%=", "q=a=b", "page", "q"]),
)


@st.composite
def queries(draw) -> str:
    """A query string: each parameter the views read, or not, sometimes twice; then stray pairs."""
    if draw(st.integers(0, 9)) == 0:
        return ""
    pairs = []
    for name in PARAMETERS:
        # A bad page number is a 404 before most views search or count: mostly a good one.
        value = st.one_of(st.sampled_from(["1", "2"]), VALUE) if name == "page" else VALUE
        for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
            pairs.append(f"{name}={draw(value)}")
    pairs += draw(st.lists(STRAY, max_size=4))
    return "&".join(draw(st.permutations(pairs)))


@st.composite
def requests(draw, route: Route) -> tuple[str, str, str]:
    """(method, path, query string) for a route."""
    path = route.template
    for name, converter in route.converters:
        value = draw(segment(converter))
        path = re.sub(rf"<(?:[^>:]+:)?{re.escape(name)}>", lambda _m, v=value: v, path, count=1)
    return draw(st.sampled_from(["GET", "HEAD"])), "/" + path, draw(queries())


def fetch(client: Client, method: str, path: str, query: str):
    """(response, body) of one request in a savepoint: a database error rolls back only this request.

    A streamed body (the CSV exports) is read here, inside the request's savepoint: an error while
    it is produced is an error of the request."""
    with transaction.atomic():
        response = getattr(client, method.lower())(path, QUERY_STRING=query)
        # (The test client closes the response itself; closing it here would send request_finished,
        # whose close_old_connections closes the test's database connection on PostgreSQL.)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


# --- The tests ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.id)
def test_no_request_to_a_public_url_gives_a_server_error(route):
    client = Client()  # raises the view's exception: a 500 shows its traceback

    @FUZZ
    @given(request=requests(route))
    def fuzz(request):
        method, path, query = request
        response, body = fetch(client, method, path, query)
        assert response.status_code < 500, f"{method} {path}?{query}: {response.status_code}"
        if method == "HEAD":
            assert not body

    fuzz()


# The consultation form: its real fields, with values nearly valid or random.
FORM_FIELDS = {
    "municipality": ["363022", "上勝町", "徳島県上勝町", "000000", "13101", "東京都"],
    "department": ["企画課"],
    "contact_person": ["山田 花子"],
    "email": ["hanako@example.lg.jp", "not-an-address", "a@b"],
    "phone": ["03-5253-5111", "０３-５２５３-５１１１", "x"],
    "themes": ["tourism", "migration", "no-such-theme", "1"],
    "message": ["観光の専門家を招きたい。"],
    "preferred_experts": ["sample-expert-001", "sample-expert-002", "no-such-expert"],
    "consent": ["on", "1", "false", ""],
    "homepage": [""],
}
FIELD_VALUE = st.one_of(TEXT, LONG, NUMBERS, TRICKY, st.just(""), st.just("\x00"))


@st.composite
def form_data(draw) -> dict[str, list[str]]:
    data = {}
    for name, values in FORM_FIELDS.items():
        if draw(st.integers(0, 9)) == 0:
            continue  # a field left out
        count = draw(st.integers(1, 3)) if name in {"themes", "preferred_experts"} else 1
        data[name] = [
            draw(st.one_of(st.sampled_from(values), st.sampled_from(values), FIELD_VALUE)) for _ in range(count)
        ]
    for _ in range(draw(st.integers(0, 3))):
        data[draw(st.one_of(TEXT, st.sampled_from(list(FORM_FIELDS))))] = [draw(FIELD_VALUE)]
    return data


def urlencoded(data: dict[str, list[str]], extra: str) -> str:
    pairs = [f"{encode(k)}={encode(v)}" for k, values in data.items() for v in values]
    return "&".join([*pairs, extra] if extra else pairs)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/expertnet/consultation/", "/en/expertnet/consultation/"])
def test_no_post_to_the_consultation_form_gives_a_server_error(path):
    expected = {200, 303, 400, 403, 429}

    @hypothesis_settings(FUZZ, max_examples=EXAMPLES_FOR_THE_FORM)
    @given(
        data=form_data(),
        raw=st.booleans(),
        extra=st.one_of(st.just(""), RAW, st.lists(STRAY, max_size=3).map("&".join)),
        csrf=st.booleans(),
    )
    def fuzz(data, raw, extra, csrf):
        client = Client(enforce_csrf_checks=csrf)
        with transaction.atomic():
            if raw:  # a urlencoded body as a browser (or a robot) sends it, broken sequences included
                body = urlencoded(data, extra)
                response = client.post(path, body, content_type="application/x-www-form-urlencoded")
            else:
                response = client.post(path, data)
        assert response.status_code in expected, f"POST {path} {data!r}: {response.status_code}"
        if csrf:
            assert response.status_code == 403  # no token, no request

    fuzz()
