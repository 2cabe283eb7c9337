"""One structured log line per request, a request id on every response and in every log line.

- ``RequestLogMiddleware`` (first in MIDDLEWARE, so the duration covers every other middleware):
  takes the request id from an incoming ``X-Request-ID`` when it is a sane token (1–64 characters
  of ``[A-Za-z0-9._-]``, as a load balancer or proxy sets it) or makes one (uuid4, hex), sends it
  back as ``X-Request-ID``, and logs one line to the logger ``portal.request`` at INFO when the
  response is complete: method, path, status, duration_ms, bytes and the user's id when logged in.
- ``RequestIdFilter``: puts the current request's id on every log record (``record.request_id``),
  so that an error logged by ``django.request`` carries the id of the access line of its request.
- ``JsonFormatter``: one JSON object per line (LOG_FORMAT=json, the default outside DEBUG).

What is left out on purpose (docs/operations.md, "Beyond one machine"):
- the query string: it carries what visitors typed into the search boxes and filters, which may
  be personal (a name, a municipality's request); the path alone says which page was served;
- the client's address and the user name: the audit log records the address and the user of
  every login and editorial action (portal.audit), the proxy's log records addresses; the access
  log names a logged-in user by id only.

Successful health probes (/healthz, /readyz answering 200) are logged at DEBUG, below the default
level: a load balancer probing every few seconds would otherwise fill the log. A failing probe is
logged at INFO like any request.
"""

import json
import logging
import re
import time
import traceback
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
PROBES = frozenset({"/healthz", "/readyz"})

logger = logging.getLogger("portal.request")

_request_id: ContextVar[str | None] = ContextVar("portal_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being handled in this thread (or task), None outside a request."""
    return _request_id.get()


def request_id_from(value: str | None) -> str:
    """The incoming id when it is a sane token, else a new one."""
    if value and SANE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` to the current request's id ("-" outside a request), unless the
    record has one already. Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = _request_id.get() or "-"
        return True


# The attributes every LogRecord has; anything else on a record came in through ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime", "taskName"}
_SCALARS = (str, int, float, bool, type(None))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line.

    Keys: ``time`` (ISO 8601, UTC, milliseconds), ``level``, ``logger``, ``message``,
    ``request_id`` (inside a request), the ``extra`` values that are plain scalars (strings,
    numbers, booleans, null: Django's ``status_code`` for instance), and ``exc_info`` /
    ``stack_info`` as text. Objects passed in ``extra`` are left out rather than turned into text:
    Django's ``django.request`` passes the request, whose text form includes the query string.
    Non-ASCII text is written as it is (UTF-8), so Japanese messages stay readable.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or _request_id.get()
        if request_id and request_id != "-":
            line["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in line and key != "request_id" and isinstance(value, _SCALARS):
                line[key] = value
        if record.exc_info:
            line["exc_info"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def _user_id(request):
    user = getattr(request, "user", None)
    try:
        return user.pk if user is not None and user.is_authenticated else None
    except Exception:  # a broken session or database must not lose the access line
        return None


class _CountingIterator:
    """Wraps a streaming response's content: counts the bytes sent and logs when the last one is
    sent or the response is closed (the WSGI server closes it, also after a client went away)."""

    def __init__(self, iterator, request_id, finish):
        self._iterator = iter(iterator)
        self._request_id = request_id
        self._finish = finish
        self.sent = 0

    def __iter__(self):
        return self

    def __next__(self):
        # The content is made while the server sends it, after the middleware returned: what is
        # logged meanwhile (an error in an export) still carries the request's id.
        token = _request_id.set(self._request_id)
        try:
            chunk = next(self._iterator)
        except StopIteration:
            self.close()
            raise
        finally:
            _request_id.reset(token)
        self.sent += len(chunk)
        return chunk

    def close(self):
        finish, self._finish = self._finish, None
        if finish is not None:
            finish(self.sent)


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        request_id = request_id_from(request.META.get(META_KEY))
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
            response[HEADER] = request_id

            def finish(sent):
                self.log(request, response, request_id, start, sent)

            length = response.get("Content-Length")
            if not response.streaming:
                finish(len(response.content))
            elif length is not None and length.isdigit():
                finish(int(length))  # files (whitenoise, FileResponse): the size is known
            elif getattr(response, "is_async", False):
                finish(None)
            else:
                response.streaming_content = _CountingIterator(response.streaming_content, request_id, finish)
            return response
        finally:
            _request_id.reset(token)

    def log(self, request, response, request_id, start, sent):
        duration_ms = round((time.perf_counter() - start) * 1000, 1)
        level = logging.DEBUG if request.path in PROBES and response.status_code == 200 else logging.INFO
        if not logger.isEnabledFor(level):
            return
        fields = {
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "bytes": sent,
            "user_id": _user_id(request),
        }
        logger.log(
            level,
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            duration_ms,
            extra=fields,
        )
