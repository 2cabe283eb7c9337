"""The full-page cache for anonymous visitors, with exact invalidation (docs/decisions/0012-page-cache.md).

A page is stored with the tables it read while it was drawn (every SQL statement run for it,
ORM or raw, is seen by a connection wrapper that notes the table names in it). A save, delete or
relation change in a table bumps that table's version after the transaction commits; a bump writes
a version greater than every version committed before it (``CacheTag``, in the database, so every
worker and app server sees it at once). A page keeps the highest version committed before it
started drawing, and is served only while none of its tables has a higher version: one indexed
query per hit. A change invalidates the pages that read the changed table, and only those; there
is no fixed expiry to wait out. Publish and unpublish times are the other source of change: a page
is kept only until the next such time of the publishable models whose tables it read, or an earlier
time a view names with ``expires_at`` (a seminar starts or ends, the fiscal year turns).

Only anonymous GET and HEAD requests (no session cookie; other cookies do not matter) for 200
responses that set no cookie and are not private are stored. Responses carry an ETag, so a
browser's conditional GET gets 304 (ConditionalGetMiddleware, above this one).
"""

import contextvars
import datetime as dt
import functools
import hashlib
import re
import time

from django.apps import apps
from django.conf import settings
from django.core.cache import caches
from django.db import connection, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date

from portal.publishing import Publishable

# The apps whose tables pages read; writes to other apps' tables (sessions, the admin's log,
# history, login attempts) never change a public page.
CONTENT_APPS = ("portal", "initiatives", "casestudies", "expertnet")
KEPT_HEADERS = ("Content-Type", "Content-Language", "Vary", "X-Robots-Tag", "X-Frame-Options", "Link")
CACHE_CONTROL = "public, max-age=0, must-revalidate"
ALL = "all"
IDENTIFIER = re.compile(r'"?([A-Za-z_][A-Za-z0-9_]*)"?')

_drawing: contextvars.ContextVar = contextvars.ContextVar("pagecache_drawing", default=None)


class Drawing:
    """What one page being drawn depends on: the tables it read, and when it changes by itself."""

    def __init__(self):
        self.tables: set[str] = set()
        self.expires: dt.datetime | None = None

    def __call__(self, execute, sql, params, many, context):
        self.tables.update(name for name in IDENTIFIER.findall(sql) if name in content_tables())
        return execute(sql, params, many, context)


def expires_at(request, when) -> None:
    """The page changes by itself at ``when`` (a seminar starts or ends): keep it until then only.
    ``when`` may be a function, called only when the page is being stored (it may query)."""
    drawing = _drawing.get()
    if drawing is None:
        return
    when = when() if callable(when) else when
    if when is not None:
        drawing.expires = when if drawing.expires is None else min(drawing.expires, when)


@functools.cache
def content_tables() -> frozenset[str]:
    tables = set()
    for app_label in CONTENT_APPS:
        for model in apps.get_app_config(app_label).get_models(include_auto_created=True):
            tables.add(model._meta.db_table)
    from portal.models import CacheTag

    tables.discard(CacheTag._meta.db_table)
    return frozenset(tables)


@functools.cache
def publishable_by_table() -> dict[str, type]:
    return {
        model._meta.db_table: model
        for app_label in CONTENT_APPS
        for model in apps.get_app_config(app_label).get_models()
        if issubclass(model, Publishable)
    }


# --- Versions of tables -------------------------------------------------------------------------


def _table() -> str:
    from portal.models import CacheTag

    return connection.ops.quote_name(CacheTag._meta.db_table)


def current_stamp() -> int:
    """The highest version committed so far: a page drawn after this has seen every change up to it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(version), 0) FROM {_table()}")
        return cursor.fetchone()[0]


def newest_version(tags) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(MAX(version), 0) FROM {_table()} WHERE tag IN ({', '.join(['%s'] * len(tags))})",
            list(tags),
        )
        return cursor.fetchone()[0]


def bump(tags) -> None:
    """Give ``tags`` a version above every version committed so far."""
    tags = sorted(set(tags))
    if not tags:
        return
    table = _table()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(version), 0) FROM {table}")
        version = max(cursor.fetchone()[0] + 1, time.time_ns() // 1000)
        rows = ", ".join(["(%s, %s)"] * len(tags))
        cursor.execute(
            f"INSERT INTO {table} (tag, version) VALUES {rows}"
            " ON CONFLICT (tag) DO UPDATE SET version = excluded.version",
            [value for tag in tags for value in (tag, version)],
        )


def bump_all() -> None:
    """Every stored page is old (after a restore, or rows written without model signals)."""
    bump([ALL])


def bump_tables(*models_) -> None:
    """Rows of these models were written with SQL of its own (no model signals)."""
    transaction.on_commit(lambda: bump(m._meta.db_table for m in models_))


def _changed(sender, **kwargs):
    table = sender._meta.db_table
    # Not the historical models of migrations (their apps registry is another), whose writes
    # happen before the version table exists.
    if sender._meta.apps is apps and table in content_tables():
        transaction.on_commit(lambda: bump([table]))


def _relation_changed(sender, action, **kwargs):
    if action.startswith("post_"):
        _changed(sender)


def connect() -> None:
    post_save.connect(_changed, dispatch_uid="pagecache.save")
    post_delete.connect(_changed, dispatch_uid="pagecache.delete")
    m2m_changed.connect(_relation_changed, dispatch_uid="pagecache.relation")


def next_publishing_change(tables: set[str], now) -> dt.datetime | None:
    """The first publish or unpublish time after ``now`` of the publishable models among ``tables``,
    in one query."""
    parts, params = [], []
    for table in sorted(tables):
        model = publishable_by_table().get(table)
        if model is None:
            continue
        name = connection.ops.quote_name(table)
        for column in ("published_at", "unpublish_at"):
            parts.append(f"SELECT MIN({column}) AS t FROM {name} WHERE state = %s AND {column} > %s")
            params += ["published", connection.ops.adapt_datetimefield_value(now)]
    if not parts:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(t) FROM ({' UNION ALL '.join(parts)}) AS times", params)
        value = cursor.fetchone()[0]
    if isinstance(value, str):  # SQLite hands back text
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value


# --- The middleware -----------------------------------------------------------------------------


def _key(request) -> str:
    raw = f"{request.get_host()}|{request.path}|{request.META.get('QUERY_STRING', '')}"
    return "page:" + hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def _eligible(request) -> bool:
    return (
        settings.PAGE_CACHE
        and request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and not request.path.startswith(settings.PAGE_CACHE_SKIP_PREFIXES)
        and not request.path.startswith(f"/{settings.ADMIN_PATH}")
    )


def _storable(response) -> bool:
    control = response.get("Cache-Control", "")
    return (
        response.status_code == 200
        and not response.streaming
        and len(response.content) <= settings.PAGE_CACHE_MAX_BYTES
        and not response.cookies
        and not any(word in control for word in ("private", "no-store", "no-cache"))
    )


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _eligible(request):
            return self.get_response(request)
        key = _key(request)
        entry = caches[settings.PAGE_CACHE_ALIAS].get(key)
        if entry is not None:
            hit = self.serve(request, entry)
            if hit is not None:
                return hit
        return self.draw(request, key)

    def serve(self, request, entry):
        stamp, tags, valid_until, status, headers, content, etag, modified = entry
        if valid_until is not None and time.time() >= valid_until:
            return None
        if newest_version(tags) > stamp:
            return None
        response = HttpResponse(b"" if request.method == "HEAD" else content, status=status)
        for name, value in headers:
            response[name] = value
        response["Content-Length"] = str(len(content))
        response["ETag"] = etag
        response["Last-Modified"] = modified
        response["Cache-Control"] = CACHE_CONTROL
        response["X-Page-Cache"] = "hit"
        return response

    def draw(self, request, key):
        stamp = current_stamp()
        drawing = Drawing()
        token = _drawing.set(drawing)
        try:
            with connection.execute_wrapper(drawing):
                response = self.get_response(request)
        finally:
            _drawing.reset(token)
        if not _storable(response):
            return response
        tags = tuple(sorted({ALL, *drawing.tables}))
        until = [t for t in (next_publishing_change(drawing.tables, timezone.now()), drawing.expires) if t]
        valid_until = min(until).timestamp() if until else None
        content = response.content
        etag = '"' + hashlib.blake2b(content, digest_size=12).hexdigest() + '"'
        modified = http_date()
        headers = [(name, response[name]) for name in KEPT_HEADERS if response.has_header(name)]
        timeout = None if valid_until is None else max(1, int(valid_until - time.time()))
        caches[settings.PAGE_CACHE_ALIAS].set(
            key, (stamp, tags, valid_until, response.status_code, headers, content, etag, modified), timeout
        )
        response["ETag"] = etag
        response["Last-Modified"] = modified
        response["Cache-Control"] = CACHE_CONTROL
        response["X-Page-Cache"] = "miss"
        return response
