"""/readyz answers 503 and names what failed when the database or the cache does not answer."""

import logging
from unittest import mock

import pytest
from django.core.cache import caches
from django.db import OperationalError

from portal import settings as portal_settings

pytestmark = pytest.mark.django_db

LOCAL_PAGES = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "test-health-pages"}


def test_readyz_is_503_and_names_the_cache_when_redis_is_unreachable(client, settings, caplog):
    # Nothing listens on port 1: the connection is refused at once.
    settings.CACHES = {"default": portal_settings.cache_from_url("redis://127.0.0.1:1/0"), "pages": LOCAL_PAGES}
    assert caches["default"].__class__.__name__ == "RedisCache"
    with caplog.at_level(logging.WARNING, logger="portal.health"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"database": True, "cache": False}
    [record] = [r for r in caplog.records if r.name == "portal.health"]
    assert "the cache does not answer: ConnectionError" in record.getMessage()
    # Liveness does not depend on the cache: the process answers.
    assert client.get("/healthz").status_code == 200


def test_readyz_is_503_and_names_the_database_when_it_fails(client, caplog):
    with (
        mock.patch("portal.health.connection.cursor", side_effect=OperationalError("server closed the connection")),
        caplog.at_level(logging.WARNING, logger="portal.health"),
    ):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"database": False, "cache": True}
    assert any("the database does not answer: OperationalError" in r.getMessage() for r in caplog.records)


def test_readyz_is_200_when_both_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"database": True, "cache": True}
