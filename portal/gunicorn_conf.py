"""gunicorn settings shared by `make run`, the Docker image and `make bench`.

    gunicorn portal.wsgi --config python:portal.gunicorn_conf

The application is loaded once in the master and the workers are forked from it, so that they
share its memory. The objects that live as long as the process (modules, URL patterns, compiled
templates, translations) are moved out of the garbage collector's sight before the fork
(gc.freeze): collections then look only at what a request made, and the shared pages stay
shared (docs/operations.md, "Speed").

Logs (docs/operations.md, "Beyond one machine"): gunicorn's own access log is off, since the
portal writes one line per request itself (portal/request_log.py: with the request id, the
duration and without the query string); a `--access-logfile` on the command line would turn it
back on. gunicorn's own messages (start, workers, timeouts) go to standard error in the portal's
format: JSON objects unless LOG_FORMAT=text or DEBUG is on, as in portal/settings.py.

Whose X-Forwarded-Proto gunicorn believes is FORWARDED_ALLOW_IPS (gunicorn reads it itself;
default 127.0.0.1 and ::1). It only sets gunicorn's idea of the scheme: the portal decides HTTPS
from X-Forwarded-Proto through Django's SECURE_PROXY_SSL_HEADER, which is why the app servers must
be reachable only through the proxy that sets that header.
"""

import gc
import os

preload_app = True
accesslog = None


def _log_format() -> str:
    debug = os.environ.get("DEBUG", "").lower() in {"1", "true", "yes", "on"}
    return (os.environ.get("LOG_FORMAT") or ("text" if debug else "json")).lower()


if _log_format() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": []},  # Django's LOGGING configures the root in the app
        "formatters": {"json": {"()": "portal.request_log.JsonFormatter"}},
        "handlers": {
            "error_console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
        },
        # No "level": gunicorn's --log-level still sets it.
        "loggers": {
            "gunicorn.error": {"handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"handlers": [], "propagate": False},
        },
    }


def when_ready(server):
    gc.collect()
    gc.freeze()


def post_fork(server, worker):
    # A request makes tens of thousands of short-lived objects; collect young objects less often.
    gc.set_threshold(10_000, 10, 10)
