"""Liveness and readiness for load balancers and containers: /healthz and /readyz.

Answered at the top of the middleware chain (only the request log is above it), before host
validation and the HTTPS redirect, so a probe from inside the container (Host: 127.0.0.1, plain
HTTP) gets an answer. They reveal nothing but "ok" or which dependency failed; the reason of a
failure goes to the log (logger portal.health, with the request id of the probe).
"""

import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger("portal.health")


def _ready() -> dict[str, bool]:
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            checks["database"] = cursor.fetchone() == (1,)
    except Exception as exc:
        logger.warning("readyz: the database does not answer: %s: %s", type(exc).__name__, exc)
        checks["database"] = False
    try:
        cache.set("readyz", "1", 5)
        checks["cache"] = cache.get("readyz") == "1"
    except Exception as exc:
        logger.warning("readyz: the cache does not answer: %s: %s", type(exc).__name__, exc)
        checks["cache"] = False
    return checks


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/healthz":
            return HttpResponse("ok", content_type="text/plain")
        if request.path == "/readyz":
            checks = _ready()
            return JsonResponse(checks, status=200 if all(checks.values()) else 503)
        return self.get_response(request)
