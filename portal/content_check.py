"""The editors' content check (``manage.py check_content``): broken internal links, missing
files and missing alt text in everything editors write, in Japanese and English.

Each link is judged by what a visitor gets: a path on this site is requested in-process with
Django's test client, as an anonymous visitor over HTTPS on one of ``ALLOWED_HOSTS``, and any
status of 400 or more counts as broken. Links into ``MEDIA_URL`` are checked in the media
storage, links into ``STATIC_URL`` with the static file finders. Each URL is checked once per
run. Links to other sites are counted but never requested: the check needs no network.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import SuspiciousOperation
from django.core.files.storage import default_storage
from django.http.request import split_domain_port, validate_host
from django.test import Client
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils import translation

from casestudies.models import CaseStudy
from expertnet.models import Expert, Seminar
from initiatives.models import Initiative
from portal import text
from portal.models import NewsItem, Page
from portal.publishing import PublishState

LANGUAGES = ("ja", "en")
LANGUAGE_LABELS = {"ja": "日本語", "en": "英語"}

BROKEN_LINK = "broken_link"
MISSING_FILE = "missing_file"
MISSING_ALT = "missing_alt"
HIDDEN_IMAGE = "hidden_image"
KIND_LABELS = {
    BROKEN_LINK: "リンク切れ",
    MISSING_FILE: "ファイルが見つからない",
    MISSING_ALT: "代替テキストがない",
    HIDDEN_IMAGE: "表示されない画像",
}

MSG_NOT_FOUND = "リンク先が見つかりません({status})"
MSG_NOT_PUBLIC = "リンク先が公開されていません({status})"
MSG_ERROR = "リンク先を開けません({status})"
MSG_REDIRECT_LOOP = "リンク先が転送を繰り返しています"
MSG_MISSING_FILE = "ファイルが見つかりません"
MSG_MISSING_ALT = "画像に代替テキストがありません"
MSG_HIDDEN_IMAGE = "本文中の画像は公開ページに表示されません(本文の画像は取り除かれます)"

REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5

# Detail views whose 404 may mean "exists but not public": the view name and the model behind it.
DETAIL_VIEWS = {
    "initiatives:detail": Initiative,
    "casestudies:detail": CaseStudy,
    "expertnet:expert": Expert,
    "expertnet:seminar": Seminar,
    "portal:news_detail": NewsItem,
    "portal:page": Page,
}


@dataclass(frozen=True)
class Problem:
    kind: str
    field: str  # the field as editors see it, with its language: 本文(英語)
    language: str | None  # None: a field both languages share (a URL, a file)
    message: str
    target: str  # the offending URL or image


@dataclass
class ItemReport:
    verbose_name: str
    model: str
    pk: int
    title: str
    status: str  # "" when public, else 下書き or 公開予定
    admin_url: str
    problems: list[Problem] = field(default_factory=list)


class _Tags(HTMLParser):
    """The href of every <a> and the src and alt of every <img> in a fragment of HTML."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.images: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(values["href"])
        elif tag == "img":
            self.images.append((values.get("src") or "", values.get("alt")))

    handle_startendtag = handle_starttag


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser


def markdown_links(source: str) -> list[str]:
    """The links a visitor gets: read from the rendered, sanitised HTML."""
    return list(dict.fromkeys(_tags(text.render_markdown(source)).hrefs))


def markdown_images(source: str) -> list[tuple[str, str | None]]:
    """Every image the editor wrote, in Markdown (![alt](src)) or as raw <img>: read from the
    Markdown output before sanitising, since the sanitiser may remove them."""
    return _tags(text._converter().reset().convert(source)).images


def images_are_shown() -> bool:
    """Whether the Markdown renderer keeps images (portal.text.ALLOWED_TAGS); today it does not."""
    return "img" in text.ALLOWED_TAGS and "src" in text.ALLOWED_ATTRIBUTES.get("img", ())


class LinkChecker:
    """Judges links from a page of this site, each URL once per run."""

    def __init__(self):
        self.results: dict[str, tuple[str, str] | None] = {}
        self.external: set[str] = set()
        self.files: dict[str, bool] = {}
        self.allowed_hosts = [h for h in settings.ALLOWED_HOSTS if h]
        site = urlsplit(settings.SITE_URL) if settings.SITE_URL else None
        self.site_host = site.hostname if site else None
        self.host = self._request_host()
        extra = {"HTTP_HOST": self.host}
        if settings.SECURE_PROXY_SSL_HEADER:
            header, value = settings.SECURE_PROXY_SSL_HEADER
            extra[header] = value
        self.client = Client(raise_request_exception=False, **extra)

    def _request_host(self) -> str:
        if self.site_host and validate_host(self.site_host, self.allowed_hosts):
            return self.site_host
        for host in self.allowed_hosts:
            name = host.lstrip(".")
            if name and "*" not in name and validate_host(name, self.allowed_hosts):
                return name
        return "testserver"

    def is_own_host(self, host: str | None) -> bool:
        if not host:
            return True
        return host == self.site_host or validate_host(host, self.allowed_hosts)

    def file_exists(self, name: str) -> bool:
        if name not in self.files:
            try:
                self.files[name] = bool(name) and default_storage.exists(name)
            except (SuspiciousOperation, OSError, ValueError):
                self.files[name] = False
        return self.files[name]

    @property
    def internal_checked(self) -> int:
        return len(self.results)

    def check(self, href: str, base: str) -> tuple[str, str] | None:
        """(kind, message) when ``href``, written on the page at ``base``, is broken; None when it
        works, is an external link, a fragment, or mailto:/tel:."""
        href = href.strip()
        if not href or href.startswith("#"):
            return None
        url = urljoin(base, href)
        parts = urlsplit(url)
        if parts.scheme not in ("", "http", "https"):
            return None
        host = split_domain_port(parts.netloc)[0] if parts.netloc else None
        if parts.netloc and not self.is_own_host(host):
            self.external.add(url)
            return None
        key = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if key not in self.results:
            self.results[key] = self._check_path(parts.path or "/", parts.query, hops=0)
        return self.results[key]

    def _check_path(self, path: str, query: str, hops: int) -> tuple[str, str] | None:
        media_url = settings.MEDIA_URL
        if media_url.startswith("/") and path.startswith(media_url):
            name = unquote(path[len(media_url) :])
            return None if self.file_exists(name) else (MISSING_FILE, MSG_MISSING_FILE)
        static_url = settings.STATIC_URL
        if static_url and static_url.startswith("/") and path.startswith(static_url):
            name = unquote(path[len(static_url) :])
            return None if name and self._static_exists(name) else (MISSING_FILE, MSG_MISSING_FILE)

        match = self._resolve(path)
        if match is None:
            return (BROKEN_LINK, MSG_NOT_FOUND.format(status=404))
        with translation.override(translation.get_language()):
            # The client closes the response itself, without closing the database connection as
            # a real request's end would.
            response = self.client.get(path + (f"?{query}" if query else ""), secure=True)
        status = response.status_code
        if status in REDIRECTS:
            if hops >= MAX_REDIRECTS:
                return (BROKEN_LINK, MSG_REDIRECT_LOOP)
            target = urlsplit(urljoin(f"https://{self.host}{path}", response.get("Location", "")))
            host = split_domain_port(target.netloc)[0] if target.netloc else None
            if target.scheme not in ("", "http", "https") or not self.is_own_host(host):
                return None
            return self._check_path(target.path or "/", target.query, hops + 1)
        if status < 400:
            return None
        if status in (404, 410):
            if self._exists_unpublished(match):
                return (BROKEN_LINK, MSG_NOT_PUBLIC.format(status=status))
            return (BROKEN_LINK, MSG_NOT_FOUND.format(status=status))
        return (BROKEN_LINK, MSG_ERROR.format(status=status))

    def _resolve(self, path: str):
        """The URL pattern ``path`` matches in its language; with APPEND_SLASH, a path that
        matches once a slash is added counts (CommonMiddleware redirects there)."""
        language = translation.get_language_from_path(path) or settings.LANGUAGE_CODE
        candidates = [path]
        if settings.APPEND_SLASH and not path.endswith("/"):
            candidates.append(path + "/")
        with translation.override(language):
            for candidate in candidates:
                try:
                    return resolve(unquote(candidate))
                except Resolver404:
                    continue
        return None

    @staticmethod
    def _exists_unpublished(match) -> bool:
        model = DETAIL_VIEWS.get(match.view_name)
        slug = match.kwargs.get("slug")
        if model is None or not slug:
            return False
        objects = model._default_manager
        return objects.filter(slug=slug).exists() and not objects.published().filter(slug=slug).exists()

    @staticmethod
    def _static_exists(name: str) -> bool:
        if finders.find(name):
            return True
        try:  # a hashed name that collectstatic wrote
            return staticfiles_storage.exists(name)
        except (SuspiciousOperation, OSError, ValueError):
            return False


def _label(obj, name: str) -> str:
    return str(obj._meta.get_field(name).verbose_name)


def _in(lang: str | None, label: str) -> str:
    return f"{label}({LANGUAGE_LABELS[lang]})" if lang else label


def _file_url(fieldfile) -> str:
    try:
        return fieldfile.url
    except (ValueError, SuspiciousOperation, NotImplementedError):
        return fieldfile.name


class ItemChecker:
    """The checks of one item's fields; the page's URL in each language resolves relative links."""

    def __init__(self, links: LinkChecker, languages: tuple[str, ...], bases: dict[str, str], has_english: bool):
        self.links = links
        self.languages = languages
        self.bases = bases
        self.has_english = has_english

    def markdown(self, obj, name: str, prefix: str = "") -> Iterator[Problem]:
        """Links and images of a Markdown field in each language. An empty English field shows the
        Japanese text on the English page: only the Japanese is checked then."""
        label = prefix + _label(obj, name)
        for lang in self.languages:
            source = getattr(obj, f"{name}_{lang}", None) or ""
            if not source.strip():
                continue
            where = _in(lang, label)
            for href in markdown_links(source):
                result = self.links.check(href, self.bases[lang])
                if result:
                    yield Problem(result[0], where, lang, result[1], href)
            shown = images_are_shown()
            for src, alt in markdown_images(source):
                if not shown:
                    yield Problem(HIDDEN_IMAGE, where, lang, MSG_HIDDEN_IMAGE, src)
                    continue
                if not (alt or "").strip():
                    yield Problem(MISSING_ALT, where, lang, MSG_MISSING_ALT, src)
                result = self.links.check(src, self.bases[lang]) if src else None
                if result:
                    yield Problem(result[0], where, lang, result[1], src)

    def url(self, label: str, value: str) -> Iterator[Problem]:
        if value:
            result = self.links.check(value, self.bases[self.languages[0]])
            if result:
                yield Problem(result[0], label, None, result[1], value)

    def file(self, label: str, fieldfile) -> Iterator[Problem]:
        if fieldfile and not self.links.file_exists(fieldfile.name):
            yield Problem(MISSING_FILE, label, None, MSG_MISSING_FILE, _file_url(fieldfile))

    def image(self, obj, file_name: str, alt_name: str, name: str = "") -> Iterator[Problem]:
        """An image field: the file exists, and its alt text is there in Japanese, and in English
        when the item has English text (without it the English page is the Japanese text).
        ``name`` tells one image row from another: 画像「photo.jpg」."""
        fieldfile = getattr(obj, file_name)
        if not fieldfile:
            return
        yield from self.file(name or _label(obj, file_name), fieldfile)
        alt_label = f"{name}の{_label(obj, alt_name)}" if name else _label(obj, alt_name)
        for lang in self.languages:
            if lang == "en" and not self.has_english:
                continue
            if not (getattr(obj, f"{alt_name}_{lang}", None) or "").strip():
                yield Problem(MISSING_ALT, _in(lang, alt_label), lang, MSG_MISSING_ALT, _file_url(fieldfile))


def _initiative(c: ItemChecker, obj: Initiative) -> Iterator[Problem]:
    yield from c.markdown(obj, "body")
    yield from c.image(obj, "image", "image_alt")
    for link in obj.links.all():
        yield from c.url(f"関連リンク「{link.label_ja}」", link.url)
    for doc in obj.documents.all():
        yield from c.file(f"資料「{doc.title_ja}」", doc.file)
    for meeting in obj.meetings.all():
        prefix = f"会議「{meeting.title_ja}」の"
        yield from c.markdown(meeting, "agenda", prefix)
        yield from c.markdown(meeting, "minutes", prefix)


def _page(c: ItemChecker, obj: Page) -> Iterator[Problem]:
    yield from c.markdown(obj, "body")


def _news(c: ItemChecker, obj: NewsItem) -> Iterator[Problem]:
    yield from c.markdown(obj, "body")


def _case(c: ItemChecker, obj: CaseStudy) -> Iterator[Problem]:
    yield from c.markdown(obj, "activities")
    yield from c.url(_label(obj, "video_url"), obj.video_url)
    yield from c.url(_label(obj, "contact_url"), obj.contact_url)
    for link in obj.links.all():
        yield from c.url(f"関連リンク「{link.label_ja}」", link.url)
    for image in obj.images.all():
        yield from c.image(image, "image", "alt", f"画像「{PurePosixPath(image.image.name).name}」")
    for attachment in obj.attachments.all():
        yield from c.file(f"添付資料「{attachment.title_ja}」", attachment.file)


def _expert(c: ItemChecker, obj: Expert) -> Iterator[Problem]:
    yield from c.markdown(obj, "profile")
    yield from c.image(obj, "photo", "photo_alt")
    yield from c.file(_label(obj, "profile_pdf"), obj.profile_pdf)
    yield from c.url(_label(obj, "contact_url"), obj.contact_url)


def _seminar(c: ItemChecker, obj: Seminar) -> Iterator[Problem]:
    for doc in obj.documents.all():
        yield from c.file(f"資料「{doc.title_ja}」", doc.file)


@dataclass(frozen=True)
class Source:
    model: type
    prefetch: tuple[str, ...]
    title: str
    english: tuple[str, ...]  # the item has an English page when one of these has English text
    fields: Callable[[ItemChecker, object], Iterable[Problem]]


SOURCES = (
    Source(Initiative, ("links", "documents", "meetings"), "title", ("title", "summary", "body"), _initiative),
    Source(Page, (), "title", ("title", "body"), _page),
    Source(NewsItem, (), "title", ("title", "body"), _news),
    Source(CaseStudy, ("links", "images", "attachments"), "title", ("title", "summary", "activities"), _case),
    Source(Expert, (), "name", ("name", "profile", "affiliation"), _expert),
    Source(Seminar, ("documents",), "title", ("title", "summary"), _seminar),
)


def _status(obj) -> str:
    """下書き for drafts, "" for what the public sees, else the item's publication status (公開予約 …)."""
    if obj.state == PublishState.DRAFT:
        return "下書き"
    if obj.is_public:
        return ""
    status = getattr(obj, "publication_status", None)
    return str(status.label) if status is not None else "公開予定"


def _admin_url(obj) -> str:
    meta = obj._meta
    try:
        path = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return ""
    return settings.SITE_URL + path


def _page_url(obj, lang: str) -> str:
    """The item's public URL in ``lang``: relative links in its text start from there."""
    with translation.override(lang):
        try:
            return obj.get_absolute_url()
        except NoReverseMatch:  # a slug the URL patterns refuse: read links from the site's root
            return "/en/" if lang == "en" else "/"


@contextmanager
def _quiet_request_log():
    """The checked 404s are the report, not errors of the site: keep them out of the log and
    out of the administrators' mail."""
    logger = logging.getLogger("django.request")
    was = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = was


@dataclass
class Result:
    items: list[ItemReport]
    items_checked: int
    internal_urls_checked: int
    external_urls_not_checked: int

    @property
    def problems(self) -> list[Problem]:
        return [p for item in self.items for p in item.problems]


def check_content(languages: tuple[str, ...] = LANGUAGES, chunk_size: int = 200) -> Result:
    """Every item editors write, in content-type order; only the items with problems are listed."""
    links = LinkChecker()
    reports = []
    checked = 0
    with translation.override(settings.LANGUAGE_CODE), _quiet_request_log():
        for source in SOURCES:
            queryset = source.model._default_manager.prefetch_related(*source.prefetch).order_by("pk")
            for obj in queryset.iterator(chunk_size=chunk_size):
                checked += 1
                bases = {lang: _page_url(obj, lang) for lang in LANGUAGES}
                has_english = any(getattr(obj, f"{name}_en", None) for name in source.english)
                checker = ItemChecker(links, languages, bases, has_english)
                problems = list(dict.fromkeys(source.fields(checker, obj)))
                if problems:
                    meta = source.model._meta
                    reports.append(
                        ItemReport(
                            verbose_name=str(meta.verbose_name),
                            model=meta.label_lower,
                            pk=obj.pk,
                            title=getattr(obj, f"{source.title}_ja", None) or str(obj),
                            status=_status(obj),
                            admin_url=_admin_url(obj),
                            problems=problems,
                        )
                    )
    return Result(reports, checked, links.internal_checked, len(links.external))
