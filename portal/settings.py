"""Settings of 地域力創造ポータル: one module, every production value from the environment.

Development (DEBUG=1) runs with safe local defaults. Production (DEBUG unset or 0) refuses to
start without SECRET_KEY and ALLOWED_HOSTS: nothing here fails open. The variables are listed in
README.md ("Settings").
"""

import importlib.util
import logging
import os
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from import_export.formats.base_formats import CSV, XLSX

BASE_DIR = Path(__file__).resolve().parent.parent


def load_env_file(path: Path) -> None:
    """Read KEY=value lines into os.environ, never overriding a variable that is already set.

    `make` writes .env on a developer's machine (a local secret key, local hosts, plain HTTP);
    it is not in git nor in the Docker image. PORTAL_ENV_FILE= (empty) turns it off.
    """
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            os.environ.setdefault(key.strip(), value.strip())


# The test suite (pytest, or PORTAL_TESTING=1) gets fast, local settings and ignores .env.
TESTING = os.environ.get("PORTAL_TESTING", "") in {"1", "true", "yes", "on"} or "pytest" in sys.modules
if not TESTING:
    load_env_file(Path(os.environ.get("PORTAL_ENV_FILE", BASE_DIR / ".env")))


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1/0, true/false, yes/no or on/off, not {value!r}")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = env(name, str(default))
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or TESTING:
        # Only for DEBUG and the test suite; never reachable in production.
        SECRET_KEY = "insecure-development-key-never-used-in-production"  # noqa: S105
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. `make setup` writes a local one to .env; in production set it in the environment."
        )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if DEBUG or TESTING:
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]", "testserver"]
elif not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is not set (a comma-separated list of host names).")
if "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS='*' is refused: list the portal's host names.")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "modeltranslation",  # before django.contrib.admin
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "import_export",
    "reversion",  # the history of every admin save (portal/history.py)
    "axes",  # login throttling and lockout ("Admin security" below)
    "portal",
    "initiatives",
    "casestudies",
    "expertnet",
]

MIDDLEWARE = [
    "portal.request_log.RequestLogMiddleware",  # first: request id and one log line covering everything below
    "portal.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.security.PermissionsPolicyMiddleware",  # Permissions-Policy (PERMISSIONS_POLICY below)
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",  # ETag and 304 for every page, cached or not
    "portal.pagecache.PageCacheMiddleware",  # anonymous pages, before sessions, locale and auth
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.security.SessionLimitMiddleware",  # after auth and messages: the absolute session limit
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its page
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
            ],
        },
    },
]


def database_from_url(url: str, **options) -> dict:
    """DATABASES["default"] from DATABASE_URL: PostgreSQL or SQLite, anything else refused.

    The errors never repeat the URL: it holds the database password.
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else None
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        given = f"the scheme {scheme!r}" if scheme else "no scheme"
        raise ImproperlyConfigured(
            "DATABASE_URL must be postgres://user:password@host:5432/name or sqlite:////absolute/path.sqlite3"
            f" (the portal runs on PostgreSQL or SQLite), not a URL with {given}."
        )
    try:
        config = dj_database_url.parse(url, **options)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a valid {scheme}:// URL ({type(exc).__name__}); quote special characters of the"
            " password with %XX."
        ) from None
    if not config.get("NAME"):
        raise ImproperlyConfigured("DATABASE_URL names no database: end it with /name (PostgreSQL) or a file (SQLite).")
    return config


# Database: DATABASE_URL picks it (postgres://user@host:port/name or sqlite:///path).
# Without it, an SQLite file under var/. Connections are kept DATABASE_CONN_MAX_AGE seconds and
# checked before reuse. Behind pgbouncer in transaction pooling mode, set
# DATABASE_DISABLE_SERVER_SIDE_CURSORS=1 (docs/operations.md, "Beyond one machine").
if not env("DATABASE_URL"):
    (BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES = {
    "default": database_from_url(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
        disable_server_side_cursors=env_bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Japanese text needs a UTF-8 character type (see docs/decisions/0003-postgresql.md).
    DATABASES["default"]["TEST"] = {
        "TEMPLATE": env("DATABASE_TEST_TEMPLATE", "template0"),
        "CHARSET": "UTF8",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers and the writer work at once; memory-mapped reads (shared by the workers,
        # in the OS's file cache) keep the search index's doclists in memory (docs/decisions/0006);
        # each connection's own page cache is 16 MB: at 64 MB it made every worker's memory grow by
        # that much under load (make loadtest).
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-16384; PRAGMA mmap_size=268435456;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if TESTING else DATABASES["default"]["CONN_MAX_AGE"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def cache_from_url(url: str) -> dict:
    """CACHES["default"] for CACHE_URL: redis://host:6379/0, or rediss:// for Redis over TLS.

    Anything else is refused, so that a typo cannot quietly leave every app server with a cache of
    its own. The errors never repeat the URL: it may hold a password.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"}:
        raise ImproperlyConfigured(
            "CACHE_URL must be redis://host:6379/0 (or rediss:// for TLS), not a URL with "
            f"{f'the scheme {parts.scheme!r}' if parts.scheme else 'no scheme'}."
        )
    try:
        parts.port  # noqa: B018 (urlsplit checks the port only when it is read)
    except ValueError:
        raise ImproperlyConfigured("CACHE_URL has an invalid port: redis://host:6379/0.") from None
    if not parts.hostname:
        raise ImproperlyConfigured("CACHE_URL names no host: redis://host:6379/0.")
    if parts.path.strip("/") and not parts.path.strip("/").isdigit():
        raise ImproperlyConfigured("CACHE_URL must end with a database number: redis://host:6379/0.")
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        # A Redis that is down or unreachable fails a request (and /readyz) within seconds rather
        # than holding a worker until the load balancer gives up.
        "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT},
    }


# Cache: CACHE_URL (or REDIS_URL) = redis://host:port/db selects Redis, shared by every worker and
# app server; otherwise each worker's local memory, which is enough on one machine.
REDIS_TIMEOUT = 2
CACHE_URL = env("CACHE_URL") or env("REDIS_URL")
if CACHE_URL:
    CACHES = {"default": cache_from_url(CACHE_URL)}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions stay in the database, with Redis too (docs/operations.md, "Beyond one machine"). Only
# logged-in editors have one (public pages set no cookie), and SESSION_SAVE_EVERY_REQUEST writes it
# to the database on each of their requests anyway: cached_db would save one indexed read per
# editor request, and in exchange tie logins to Redis and keep a session alive in Redis after its
# row was deleted (a restore empties the table; until the cached copy expired, every request of
# that editor would fail to save the session and answer 400).
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# The full-page cache for anonymous visitors (portal/pagecache.py, docs/decisions/0012-page-cache.md):
# on unless PAGE_CACHE=0; off in the test suite, whose tests change rows behind the ORM's back,
# except in the tests of the cache itself. Pages live in the cache PAGE_CACHE_ALIAS: Redis when
# CACHE_URL names one (shared by every worker), else each worker's memory, at most
# PAGE_CACHE_ENTRIES pages (about 40 KB each).
PAGE_CACHE = env_bool("PAGE_CACHE", not TESTING)
PAGE_CACHE_ALIAS = "pages"
PAGE_CACHE_MAX_BYTES = 1024 * 1024  # a larger response (a big export) is drawn each time, not kept
PAGE_CACHE_SKIP_PREFIXES = ("/healthz", "/readyz", "/static/", "/media/", "/_bench/")
CACHES["pages"] = (
    {**CACHES["default"], "KEY_PREFIX": "pages"}
    if CACHES["default"]["BACKEND"].endswith("RedisCache")
    else {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "pages",
        "OPTIONS": {"MAX_ENTRIES": int(env("PAGE_CACHE_ENTRIES", "500")), "CULL_FREQUENCY": 4},
    }
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Languages: Japanese is the source language of the UI and of content; English is the
# translation (docs/decisions/0002-languages.md).
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
MODELTRANSLATION_DEFAULT_LANGUAGE = "ja"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("ja",)
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# Static files and media.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / env("STATIC_ROOT", "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if TESTING or DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Uploaded files: on disk (MEDIA_ROOT) by default; MEDIA_STORAGE=s3 keeps them in an S3-compatible
# bucket (django-storages), so that app servers keep no state on local disk (docs/operations.md,
# "Beyond one machine"). Files are public documents and images: plain URLs without signatures
# (querystring_auth off), no ACL sent with each object (the bucket's policy or the CDN in front
# decides who reads it; buckets that refuse ACLs accept the upload), and an upload never replaces
# a file of the same name (file_overwrite off: the storage picks a new name, as on disk).
# Without MEDIA_S3_ACCESS_KEY_ID/SECRET, boto3 finds credentials itself (AWS_* variables, the
# instance's or task's role).
MEDIA_STORAGE = (env("MEDIA_STORAGE", "disk") or "disk").lower()
MEDIA_PUBLIC_ORIGINS: list[str] = []  # where browsers load media from when not this site (CSP img-src)
if MEDIA_STORAGE == "s3":
    missing = [name for name in ("storages", "boto3") if importlib.util.find_spec(name) is None]
    if missing:
        raise ImproperlyConfigured(f"MEDIA_STORAGE=s3 needs django-storages[s3] (requirements.txt): {missing} missing.")
    _bucket = env("MEDIA_S3_BUCKET")
    if not _bucket:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs MEDIA_S3_BUCKET, the bucket's name.")
    _endpoint = env("MEDIA_S3_ENDPOINT_URL")
    if _endpoint and (urlsplit(_endpoint).scheme not in {"http", "https"} or not urlsplit(_endpoint).hostname):
        raise ImproperlyConfigured("MEDIA_S3_ENDPOINT_URL must be a URL such as https://s3.example.jp.")
    _domain = env("MEDIA_S3_CUSTOM_DOMAIN")
    if _domain and "://" in _domain:
        raise ImproperlyConfigured("MEDIA_S3_CUSTOM_DOMAIN is a host name (media.example.go.jp), without https://.")
    _region = env("MEDIA_S3_REGION")
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _bucket,
            "endpoint_url": _endpoint,
            "region_name": _region,
            "access_key": env("MEDIA_S3_ACCESS_KEY_ID"),
            "secret_key": env("MEDIA_S3_SECRET_ACCESS_KEY"),
            "custom_domain": _domain,
            "querystring_auth": False,
            "default_acl": None,
            "file_overwrite": False,
        },
    }
    # The origin of the files' URLs, as django-storages writes them: the custom domain (a CDN), or
    # the endpoint (path-style URLs, boto3's choice for endpoints other than AWS), or AWS S3's
    # virtual-host names.
    if _domain:
        MEDIA_PUBLIC_ORIGINS = [f"https://{_domain.split('/')[0]}"]
    elif _endpoint:
        MEDIA_PUBLIC_ORIGINS = [f"{urlsplit(_endpoint).scheme}://{urlsplit(_endpoint).netloc}"]
    else:
        MEDIA_PUBLIC_ORIGINS = [f"https://{_bucket}.s3.amazonaws.com"]
        if _region:
            MEDIA_PUBLIC_ORIGINS.append(f"https://{_bucket}.s3.{_region}.amazonaws.com")
elif MEDIA_STORAGE != "disk":
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be disk or s3, not {MEDIA_STORAGE!r}")
# Media in production is served by the web server or object storage, not by Django;
# PORTAL_SERVE_MEDIA=1 lets `make run` serve uploaded files itself.
SERVE_MEDIA = DEBUG or env_bool("PORTAL_SERVE_MEDIA", False)
# Request limits (docs/operations.md, "Uploaded files"). A body over a limit is refused with the
# 400 page (RequestDataTooBig, TooManyFieldsSent), never a 500. DATA_UPLOAD_MAX_MEMORY_SIZE counts
# the fields without the files (a Japanese character is 9 bytes URL-encoded); files above
# FILE_UPLOAD_MAX_MEMORY_SIZE go to a temporary file, at most FILE_UPLOAD_MAX_BYTES of them per
# request (portal.uploads: a file that would pass it is emptied, and refused by its field's check).
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000  # Django's default, set here on purpose: the largest admin form has about 120
DATA_UPLOAD_MAX_NUMBER_FILES = 100
FILE_UPLOAD_MAX_BYTES = 200 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "portal.uploads.CappedTemporaryFileUploadHandler",
]

# Email (Django 6.1 MAILERS). Production sends through SMTP (EMAIL_HOST …); EMAIL_BACKEND=console
# writes mail to the console instead (DEBUG and `make run`).
EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
_email_backend = env("EMAIL_BACKEND", "locmem" if TESTING else ("console" if DEBUG else "smtp"))
if _email_backend not in EMAIL_BACKENDS:
    raise ImproperlyConfigured(f"EMAIL_BACKEND must be one of {', '.join(EMAIL_BACKENDS)}, not {_email_backend!r}")
MAILERS = {"default": {"BACKEND": EMAIL_BACKENDS[_email_backend]}}
if _email_backend == "smtp":
    MAILERS["default"]["OPTIONS"] = {
        "host": env("EMAIL_HOST", "localhost"),
        "port": int(env("EMAIL_PORT", "587")),
        "username": env("EMAIL_HOST_USER", ""),
        "password": env("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", True),
        "timeout": 10,
    }
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "no-reply@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ADMINS = [("Portal operations", a) for a in env_list("ADMINS")]

# HTTPS. On by default outside DEBUG; `make run` serves plain HTTP on 127.0.0.1 and turns it off.
HTTPS = env_bool("PORTAL_HTTPS", not (DEBUG or TESTING))
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# An admin session ends after SESSION_IDLE_MINUTES without a request (every request moves the
# expiry on; anonymous visitors have no session, so nothing is saved or sent for them) and at the
# latest SESSION_ABSOLUTE_HOURS after the login (portal.security.SessionLimitMiddleware). The
# cookie lasts until the browser closes; the expiry is kept on the server.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 8, minimum=1)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Content Security Policy: no inline script or style anywhere (Django's built-in CSP).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", *MEDIA_PUBLIC_ORIGINS],  # uploaded images come from the bucket with MEDIA_STORAGE=s3
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# Permissions-Policy (portal.security.PermissionsPolicyMiddleware; Django has no setting for it):
# every browser feature the portal never uses is off, for its pages and anything they embed. An
# empty list is "()" (nobody), ["self"] the portal's own pages. No page embeds video (a case's
# video is a link), so fullscreen is off too.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
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
    )
}

# `manage.py bench_pages` starts gunicorn with PORTAL_BENCH=1, which adds a fixed-response view at
# /_bench/fixed/: the limit any dynamic page is measured against. Never set in production.
BENCH_FIXED_VIEW = env_bool("PORTAL_BENCH", False)

# Import and export of case studies in the admin (django-import-export; docs/decisions/0008-case-import.md):
# CSV and Excel only, each import in one transaction that any error rolls back. Importing needs
# the add permission (CaseStudyAdmin also asks for change), exporting the view permission. Between
# the preview and the confirmation the uploaded file waits in the shared cache when there is one
# (Redis: any app server may take the confirmation), else in the temporary folder of this machine.
IMPORT_EXPORT_FORMATS = [CSV, XLSX]
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_TMP_STORAGE_CLASS = (
    "import_export.tmp_storages.CacheStorage"
    if CACHES["default"]["BACKEND"].endswith("RedisCache")
    else "import_export.tmp_storages.TempFolderStorage"
)

# The admin lives at a configurable path (ADMIN_PATH, default "admin/").
ADMIN_PATH = env("ADMIN_PATH", "admin/").strip("/") + "/"

# The canonical origin for sitemap, OGP and feeds (e.g. https://chiikiryoku.example.go.jp).
SITE_URL = (env("SITE_URL", "") or "").rstrip("/")

# Uploaded images (portal.images) and documents (portal.documents); docs/operations.md, "Uploaded files".
IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MAX_PIXELS = 40_000_000
IMAGE_MIN_WIDTH = 320
IMAGE_RENDITION_WIDTHS = (480, 960, 1440)
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024
DOCUMENT_MAX_UNCOMPRESSED_BYTES = 500 * 1024 * 1024  # .docx/.xlsx/.pptx: all members, as declared
DOCUMENT_MAX_COMPRESSION_RATIO = 100  # one member (over 100 KB) expanding more: Apache POI's limit
DOCUMENT_MAX_ZIP_MEMBERS = 10_000

# Logs go to standard error, one line per record. LOG_FORMAT=json (the default outside DEBUG and
# the tests) writes each as a JSON object for the log collector, text is for people. Every request
# gives one line of the logger portal.request (portal/request_log.py: request id, method, path
# without the query string, status, duration, bytes, user id), and every line written while a
# request is handled carries its request id: an error of django.request can be found with its
# access line (docs/operations.md, "Beyond one machine").
LOG_FORMAT = (env("LOG_FORMAT", "text" if DEBUG or TESTING else "json") or "").lower()
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
if LOG_FORMAT == "json":
    # Python's warnings (a missing static folder, a deprecation) go through logging (py.warnings)
    # too, so that every line on standard error is JSON.
    logging.captureWarnings(True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "portal.request_log.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "portal.request_log.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.security.DisallowedHost": {"level": "ERROR"}},
}
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"

# whitenoise: long-lived caching of hashed files; in DEBUG and tests files come from the finders.
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

# Expert registry requests (expertnet/consultations.py): 相談申込 from municipalities.
# EXPERTNET_STAFF_EMAILS receive the notice of each new request (comma-separated; none: no notice,
# the request still waits in the admin). At most EXPERTNET_REQUESTS_PER_HOUR requests per sender
# address and hour, counted in the database over a keyed hash of the address (never the address).
# Behind a proxy, the address is REMOTE_ADDR unless EXPERTNET_TRUST_X_FORWARDED_FOR is on: then
# the last entry of X-Forwarded-For, which the proxy must set (a client can forge the others).
# `manage.py purge_closed_requests` erases the personal data of requests closed (完了) more than
# EXPERTNET_RETENTION_DAYS days ago.
EXPERTNET_STAFF_EMAILS = env_list("EXPERTNET_STAFF_EMAILS")
EXPERTNET_REQUESTS_PER_HOUR = int(env("EXPERTNET_REQUESTS_PER_HOUR", "5"))
EXPERTNET_RETENTION_DAYS = int(env("EXPERTNET_RETENTION_DAYS", "365"))
EXPERTNET_TRUST_X_FORWARDED_FOR = env_bool("EXPERTNET_TRUST_X_FORWARDED_FOR", False)

# Admin security (docs/operations.md, "Admin security"): django-axes throttles logins.
# After AXES_FAILURE_LIMIT failed logins (each within AXES_COOLOFF_MINUTES of the one before), the
# same user name from the same address is refused for AXES_COOLOFF_MINUTES, the correct password
# included (a 429 page in the admin's look, portal.security.lockout_response). The lock is on the
# combination of user name and address, not on the address alone: the ministry's offices reach
# the portal through one shared LGWAN address, so a lock by address would shut a whole floor out
# because of one person's typing. Not on the user name alone either: anyone could then lock a
# known editor out from anywhere.
# A successful login clears the count; attempts refused during a lockout do not extend it, so the
# time the page shows is the time it ends. The audit log (portal.models.AuditEvent) records logins,
# so axes' own log of successful logins is off; its failed attempts expire with the cool-off.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_CALLABLE = "portal.security.lockout_response"
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # the audit log records what matters; no banner on every manage.py command
# The client's address: REMOTE_ADDR, unless TRUSTED_PROXY_COUNT proxies of our own stand in front
# of the portal and each appends to X-Forwarded-For; then the entry the outermost one added
# (portal.security.client_ip, used by axes and the audit log). 0 by default: a header the client
# could have written itself is never believed.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "portal.security.client_ip"
