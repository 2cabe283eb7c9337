"""The environment picks the backends: database, cache, sessions, media storage, log format.

portal/settings.py reads the environment once, at import, so each case runs in a process of its
own with production values (PROD, as in test_settings.py) and prints what it chose. Bad values
stop the process with a message that says what to write, and never repeats a password.

The last tests talk to the Redis at 127.0.0.1:6379; they skip when nothing listens there, and fail
instead when CI_REQUIRE_REDIS is set (CI starts Redis).
"""

import json
import os
import socket
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core.cache import caches

from portal import settings as portal_settings
from portal.tests.test_settings import PROD

# Every variable these switches read, unset (settings read "" as unset), so that the environment
# the suite runs in (CI's DATABASE_URL, a developer's CACHE_URL) does not leak into a case.
UNSET = dict.fromkeys(
    (
        "DATABASE_URL",
        "DATABASE_CONN_MAX_AGE",
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS",
        "CACHE_URL",
        "REDIS_URL",
        "MEDIA_STORAGE",
        "MEDIA_S3_BUCKET",
        "MEDIA_S3_ENDPOINT_URL",
        "MEDIA_S3_REGION",
        "MEDIA_S3_ACCESS_KEY_ID",
        "MEDIA_S3_SECRET_ACCESS_KEY",
        "MEDIA_S3_CUSTOM_DOMAIN",
        "LOG_FORMAT",
        "LOG_LEVEL",
    ),
    "",
)

PROBE = """
import json, logging, django
django.setup()
from django.conf import settings as s
from django.core.files.storage import storages
handler = logging.getLogger().handlers[0]
out = {
    "database": s.DATABASES["default"],
    "caches": s.CACHES,
    "session_engine": s.SESSION_ENGINE,
    "import_tmp_storage": s.IMPORT_EXPORT_TMP_STORAGE_CLASS,
    "storage": s.STORAGES["default"],
    "img_src": s.SECURE_CSP["img-src"],
    "log_formatter": type(handler.formatter).__module__ + "." + type(handler.formatter).__qualname__,
    "log_format_string": getattr(handler.formatter, "_fmt", None),
    "log_filters": [type(f).__qualname__ for f in handler.filters],
}
if s.STORAGES["default"]["BACKEND"].endswith("S3Storage"):
    media = storages["default"]
    out["s3"] = {
        "bucket_name": media.bucket_name,
        "querystring_auth": media.querystring_auth,
        "default_acl": media.default_acl,
        "file_overwrite": media.file_overwrite,
        "url": media.url("casestudies/2026/画像.jpg"),
    }
print(json.dumps(out, default=str))
"""


def run_settings(env: dict, code: str = PROBE) -> subprocess.CompletedProcess:
    environ = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "PORTAL_TESTING"}
    }
    environ.update({**PROD, **UNSET, **env})
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def chosen(**env) -> dict:
    result = run_settings(env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def refused(**env) -> str:
    result = run_settings(env)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    return result.stderr


# --- database ---------------------------------------------------------------------------------------


def test_without_database_url_sqlite_under_var():
    database = chosen()["database"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == str(settings.BASE_DIR / "var" / "db.sqlite3")
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_database_url_postgres_with_kept_and_checked_connections():
    database = chosen(DATABASE_URL="postgres://portal:pw@db.internal:6432/portal?sslmode=require")["database"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"], database["USER"]) == (
        "db.internal",
        6432,
        "portal",
        "portal",
    )
    assert database["OPTIONS"] == {"sslmode": "require"}
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is False
    assert database["TEST"]["CHARSET"] == "UTF8"


def test_database_connection_age_and_pgbouncer_switch():
    database = chosen(
        DATABASE_URL="postgres://portal@pgbouncer:6432/portal",
        DATABASE_CONN_MAX_AGE="0",
        DATABASE_DISABLE_SERVER_SIDE_CURSORS="1",
    )["database"]
    assert database["CONN_MAX_AGE"] == 0
    assert database["DISABLE_SERVER_SIDE_CURSORS"] is True


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://portal:s3cr3t-pw@db/portal", "DATABASE_URL must be postgres://"),
        ("db.internal:5432/portal", "not a URL with no scheme"),
        ("postgres://portal:s3cr3t-pw@db:port/portal", "DATABASE_URL is not a valid postgres:// URL"),
        ("postgres://portal:s3cr3t-pw@db:5432", "DATABASE_URL names no database"),
    ],
)
def test_a_malformed_database_url_is_refused_without_showing_the_password(url, message):
    stderr = refused(DATABASE_URL=url)
    assert message in stderr
    assert "s3cr3t-pw" not in stderr


def test_a_connection_age_that_is_not_a_number_is_refused():
    assert "DATABASE_CONN_MAX_AGE must be a whole number" in refused(DATABASE_CONN_MAX_AGE="1m")


# --- cache and sessions -----------------------------------------------------------------------------


def test_without_cache_url_local_memory_and_sessions_in_the_database():
    result = chosen()
    assert result["caches"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert result["session_engine"] == "django.contrib.sessions.backends.db"
    assert result["import_tmp_storage"] == "import_export.tmp_storages.TempFolderStorage"


@pytest.mark.parametrize("variable", ["CACHE_URL", "REDIS_URL"])
def test_a_redis_url_gives_the_shared_cache_and_sessions_stay_in_the_database(variable):
    result = chosen(**{variable: "redis://:pw@redis:6379/0"})
    default = result["caches"]["default"]
    assert default["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert default["LOCATION"] == "redis://:pw@redis:6379/0"
    assert default["OPTIONS"] == {"socket_connect_timeout": 2, "socket_timeout": 2}
    assert result["caches"]["pages"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    # Sessions stay in the database (settings.py says why); the import preview's file goes to
    # Redis, so that any app server can take the confirmation.
    assert result["session_engine"] == "django.contrib.sessions.backends.db"
    assert result["import_tmp_storage"] == "import_export.tmp_storages.CacheStorage"


def test_redis_over_tls():
    assert chosen(CACHE_URL="rediss://cache.internal:6380/2")["caches"]["default"]["LOCATION"].startswith("rediss://")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memcached://:s3cr3t-pw@cache:11211", "CACHE_URL must be redis://host:6379/0"),
        ("cache.internal:6379", "CACHE_URL must be redis://host:6379/0"),
        ("redis://:s3cr3t-pw@cache:port/0", "CACHE_URL has an invalid port"),
        ("redis:///0", "CACHE_URL names no host"),
        ("redis://:s3cr3t-pw@cache:6379/sessions", "CACHE_URL must end with a database number"),
    ],
)
def test_a_malformed_cache_url_is_refused_without_showing_the_password(url, message):
    stderr = refused(CACHE_URL=url)
    assert message in stderr
    assert "s3cr3t-pw" not in stderr


# --- media ------------------------------------------------------------------------------------------


def test_media_on_disk_by_default():
    result = chosen()
    assert result["storage"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    assert result["img_src"] == ["'self'", "data:"]


S3 = {
    "MEDIA_STORAGE": "s3",
    "MEDIA_S3_BUCKET": "portal-media",
    "MEDIA_S3_REGION": "ap-northeast-1",
    "MEDIA_S3_ACCESS_KEY_ID": "AKIAEXAMPLE",
    "MEDIA_S3_SECRET_ACCESS_KEY": "secret-example",
}


@pytest.mark.parametrize(
    ("extra", "origin"),
    [
        ({"MEDIA_S3_CUSTOM_DOMAIN": "media.example.go.jp"}, "https://media.example.go.jp"),
        ({"MEDIA_S3_ENDPOINT_URL": "https://s3.example.jp:9000"}, "https://s3.example.jp:9000"),
        ({}, "https://portal-media.s3.amazonaws.com"),
    ],
)
def test_media_storage_s3_with_its_options(extra, origin):
    result = chosen(**S3, **extra)
    storage = result["storage"]
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert options["bucket_name"] == "portal-media"
    assert options["region_name"] == "ap-northeast-1"
    assert options["access_key"] == "AKIAEXAMPLE" and options["secret_key"] == "secret-example"
    assert options["endpoint_url"] == extra.get("MEDIA_S3_ENDPOINT_URL")
    assert options["custom_domain"] == extra.get("MEDIA_S3_CUSTOM_DOMAIN")
    # The storage django-storages builds from them: public URLs without signatures, no ACL,
    # no overwriting.
    s3 = result["s3"]
    assert s3["bucket_name"] == "portal-media"
    assert s3["querystring_auth"] is False
    assert s3["default_acl"] is None
    assert s3["file_overwrite"] is False
    assert "?" not in s3["url"]
    assert s3["url"].startswith(origin + "/")
    assert s3["url"].endswith("/casestudies/2026/%E7%94%BB%E5%83%8F.jpg")
    # Pages may show images from there (Content-Security-Policy img-src).
    assert origin in result["img_src"]


def test_media_storage_s3_needs_a_bucket():
    assert "MEDIA_STORAGE=s3 needs MEDIA_S3_BUCKET" in refused(MEDIA_STORAGE="s3")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MEDIA_STORAGE": "ftp"}, "MEDIA_STORAGE must be disk or s3"),
        ({**S3, "MEDIA_S3_CUSTOM_DOMAIN": "https://media.example.go.jp"}, "MEDIA_S3_CUSTOM_DOMAIN is a host name"),
        ({**S3, "MEDIA_S3_ENDPOINT_URL": "s3.example.jp"}, "MEDIA_S3_ENDPOINT_URL must be a URL"),
    ],
)
def test_bad_media_settings_are_refused(env, message):
    assert message in refused(**env)


# --- logs -------------------------------------------------------------------------------------------


def test_production_logs_json_by_default_with_the_request_id_filter():
    result = chosen()
    assert result["log_formatter"] == "portal.request_log.JsonFormatter"
    assert result["log_filters"] == ["RequestIdFilter"]


def test_log_format_switches():
    assert chosen(LOG_FORMAT="json")["log_formatter"] == "portal.request_log.JsonFormatter"
    text = chosen(LOG_FORMAT="text")
    assert text["log_formatter"] == "logging.Formatter"
    assert "%(request_id)s" in text["log_format_string"]
    # Development (DEBUG) writes text unless told otherwise.
    assert chosen(DEBUG="1")["log_formatter"] == "logging.Formatter"
    assert chosen(DEBUG="1", LOG_FORMAT="json")["log_formatter"] == "portal.request_log.JsonFormatter"


def test_an_unknown_log_format_is_refused():
    assert "LOG_FORMAT must be json or text" in refused(LOG_FORMAT="xml")


# --- production refuses to start without its secrets --------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is not set"),
        ({"SECRET_KEY": "", "ALLOWED_HOSTS": "", "CACHE_URL": "redis://redis:6379/0"}, "SECRET_KEY is not set"),
    ],
)
def test_production_refuses_to_start_without_secret_key_or_hosts(env, message):
    assert message in refused(**env)


# --- the Redis of this machine ------------------------------------------------------------------------

REDIS = ("127.0.0.1", 6379)


def require_redis():
    try:
        with socket.create_connection(REDIS, timeout=1):
            return
    except OSError as exc:
        reason = f"no Redis listens at {REDIS[0]}:{REDIS[1]} ({exc})"
    if os.environ.get("CI_REQUIRE_REDIS"):
        pytest.fail(f"{reason}, and CI_REQUIRE_REDIS is set", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def live_redis(settings):
    require_redis()
    settings.CACHES = {
        "default": portal_settings.cache_from_url("redis://127.0.0.1:6379/15"),
        "pages": {**portal_settings.cache_from_url("redis://127.0.0.1:6379/15"), "KEY_PREFIX": "pages"},
    }
    return caches["default"]


@pytest.mark.django_db
def test_live_redis_set_get_delete_and_readyz(live_redis, client):
    assert live_redis.__class__.__name__ == "RedisCache"
    key = f"test-env-switches-{uuid.uuid4().hex}"
    live_redis.set(key, {"日本語": [1, 2, 3]}, 30)
    assert live_redis.get(key) == {"日本語": [1, 2, 3]}
    assert live_redis.delete(key) is True
    assert live_redis.get(key) is None

    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"database": True, "cache": True}


def test_live_redis_keeps_the_import_preview_file_for_another_app_server(live_redis):
    """import-export's CacheStorage (chosen with Redis): what one app server saved between the
    preview and the confirmation, another reads, bytes and all (an .xlsx file)."""
    from import_export.tmp_storages import CacheStorage

    data = b"PK\x03\x04" + bytes(range(256)) * 64
    first = CacheStorage(read_mode="rb")
    first.save(data)
    second = CacheStorage(name=first.name, read_mode="rb")
    assert second.read() == data
    second.remove()
    assert CacheStorage(name=first.name).read() is None
