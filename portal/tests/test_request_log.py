"""The request log (portal/request_log.py): one JSON line per request with its id, the id on the
response and on every other line of the request, no query string, no user name; and the same
under gunicorn with the production configuration."""

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponse, HttpResponseServerError, StreamingHttpResponse
from django.test import Client
from django.urls import path

from portal.request_log import JsonFormatter, RequestIdFilter

# A URLconf of its own (ROOT_URLCONF = this module), so that the views below do what the tests need.


def ok_view(request):
    return HttpResponse("hello, world")


def boom_view(request):
    raise RuntimeError("the test view failed on purpose")


def stream_view(request):
    return StreamingHttpResponse(chunk.encode() for chunk in ("one,", "two,", "three\n"))


def server_error(request):
    return HttpResponseServerError("server error")


urlpatterns = [path("ok/", ok_view), path("boom/", boom_view), path("stream/", stream_view)]
handler500 = server_error

HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(autouse=True)
def _these_views(settings):
    settings.ROOT_URLCONF = __name__


@pytest.fixture
def log_lines():
    """What the production handler (request-id filter + JSON formatter) writes, as parsed lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines():
        handler.flush()
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    lines.text = stream.getvalue
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def access_lines(lines):
    return [line for line in lines() if line["logger"] == "portal.request"]


def test_one_json_line_per_request_without_the_query_string(client, log_lines):
    response = client.get("/ok/", {"q": "田中花子の相談"})
    assert response.status_code == 200
    request_id = response["X-Request-ID"]
    assert HEX_ID.fullmatch(request_id)

    [line] = access_lines(log_lines)
    assert line["level"] == "INFO"
    assert line["request_id"] == request_id
    assert line["method"] == "GET"
    assert line["path"] == "/ok/"
    assert line["status"] == 200
    assert line["bytes"] == len(b"hello, world")
    assert line["user_id"] is None
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert round(line["duration_ms"], 1) == line["duration_ms"]
    assert line["time"].endswith("Z")
    assert abs((datetime.fromisoformat(line["time"]) - datetime.now(UTC)).total_seconds()) < 60
    # The search terms are nowhere in the log, in any form.
    text = log_lines.text()
    assert "田中" not in text and "%E7%94%B0" not in text and "q=" not in text


@pytest.mark.parametrize("incoming", ["lb-7f3a9c.0001", "A" * 64, "abc_DEF-123.x"])
def test_a_sane_incoming_request_id_is_kept(client, log_lines, incoming):
    response = client.get("/ok/", headers={"X-Request-ID": incoming})
    assert response["X-Request-ID"] == incoming
    assert [line["request_id"] for line in access_lines(log_lines)] == [incoming]


@pytest.mark.parametrize("incoming", ["A" * 65, "has space", "new\nline", 'quote"d', "日本語", "a/b", "{}"])
def test_an_insane_incoming_request_id_is_replaced(client, log_lines, incoming):
    response = client.get("/ok/", headers={"X-Request-ID": incoming})
    assert HEX_ID.fullmatch(response["X-Request-ID"])
    assert [line["request_id"] for line in access_lines(log_lines)] == [response["X-Request-ID"]]
    assert incoming not in log_lines.text()


def test_each_request_gets_a_new_id(client):
    ids = {client.get("/ok/")["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_a_server_error_is_logged_with_the_request_id_of_its_access_line(log_lines):
    client = Client(raise_request_exception=False)
    response = client.get("/boom/", {"token": "do-not-log-me"})
    assert response.status_code == 500
    request_id = response["X-Request-ID"]

    [error] = [line for line in log_lines() if line["logger"] == "django.request"]
    assert error["level"] == "ERROR"
    assert error["request_id"] == request_id
    assert error["status_code"] == 500
    assert "RuntimeError: the test view failed on purpose" in error["exc_info"]
    [access] = access_lines(log_lines)
    assert access["request_id"] == request_id and access["status"] == 500
    # django.request passes the request object along; its text form would carry the query string.
    assert "do-not-log-me" not in log_lines.text()


def test_a_streaming_response_is_logged_when_it_has_been_sent(client, log_lines):
    response = client.get("/stream/")
    assert response.streaming
    assert access_lines(log_lines) == []  # nothing sent yet
    body = b"".join(response.streaming_content)
    [line] = access_lines(log_lines)
    assert line["bytes"] == len(body) == len(b"one,two,three\n")
    assert line["request_id"] == response["X-Request-ID"]


@pytest.mark.django_db
def test_a_logged_in_user_is_named_by_id_only(client, log_lines):
    user = get_user_model().objects.create_user("yamada-editor", "yamada@example.go.jp", "a-long-password-1")
    client.force_login(user)
    client.get("/ok/")
    [line] = access_lines(log_lines)
    assert line["user_id"] == user.pk
    assert "yamada" not in log_lines.text()


def test_successful_health_probes_stay_below_info(client, log_lines):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert HEX_ID.fullmatch(response["X-Request-ID"])
    assert access_lines(log_lines) == []


def test_lines_outside_a_request_have_no_request_id(log_lines):
    logging.getLogger("portal.test").warning("outside %s", "any request", extra={"count": 3, "obj": object()})
    [line] = log_lines()
    assert line == {
        "time": line["time"],
        "level": "WARNING",
        "logger": "portal.test",
        "message": "outside any request",
        "count": 3,  # plain extras are kept, objects are left out
    }


# --- under gunicorn, as in production --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_with_the_production_config_writes_only_json_lines(tmp_path):
    """gunicorn with portal.gunicorn_conf and production settings: every line on standard error is
    JSON (gunicorn's own messages too), the request's line carries the id the proxy sent, and
    gunicorn's access log is off."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"PORTAL_TESTING", "LOG_FORMAT", "LOG_LEVEL", "DEBUG"}},
        "DEBUG": "0",
        "PORTAL_TESTING": "0",
        "PORTAL_ENV_FILE": "",
        "PORTAL_HTTPS": "0",
        "PAGE_CACHE": "0",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "CACHE_URL": "",
        "REDIS_URL": "",
        "MEDIA_STORAGE": "",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with tempfile.TemporaryFile("w+", encoding="utf-8") as stderr:
        command = [str(gunicorn), "portal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
        server = subprocess.Popen(
            [*command, "--no-control-socket", "--config", "python:portal.gunicorn_conf"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, "gunicorn stopped"
                try:
                    request = urllib.request.Request(
                        f"http://127.0.0.1:{port}/robots.txt?q=personal-search-term",
                        headers={"X-Request-ID": "proxy-e2e-0001"},
                    )
                    with urllib.request.urlopen(request, timeout=5) as response:
                        assert response.status == 200
                        assert response.headers["X-Request-ID"] == "proxy-e2e-0001"
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=30)
        stderr.seek(0)
        output = stderr.read()

    lines = [json.loads(line) for line in output.splitlines() if line.strip()]  # fails on any non-JSON line
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines), output
    [access] = [line for line in lines if line["logger"] == "portal.request"]
    assert access["request_id"] == "proxy-e2e-0001"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/robots.txt", 200)
    assert "personal-search-term" not in output
    assert "gunicorn.access" not in {line["logger"] for line in lines}
