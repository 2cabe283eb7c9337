"""The full-page cache: anonymous pages stored, served with ETag and 304, and dropped exactly when
what they read changes (portal/pagecache.py; docs/decisions/0012-page-cache.md)."""

import datetime as dt
import os
import socket

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.cache import caches

from casestudies.models import CaseStudy
from expertnet.models import Expert, Seminar
from initiatives.models import Initiative
from portal.models import NewsItem, Page
from portal.publishing import PublishState

pytestmark = pytest.mark.django_db

JST = dt.timezone(dt.timedelta(hours=9))


@pytest.fixture(autouse=True)
def page_cache(settings):
    settings.PAGE_CACHE = True
    caches[settings.PAGE_CACHE_ALIAS].clear()
    yield
    caches[settings.PAGE_CACHE_ALIAS].clear()


def state(client, path, **extra) -> str:
    response = client.get(path, **extra)
    assert response.status_code == 200, (path, response.status_code)
    return response.get("X-Page-Cache", "none")


def warm(client, *paths) -> None:
    for path in paths:
        client.get(path)
        assert state(client, path) == "hit", path


def test_second_visit_is_served_from_the_cache_with_an_etag(client):
    first = client.get("/initiatives/")
    second = client.get("/initiatives/")
    assert first["X-Page-Cache"] == "miss" and second["X-Page-Cache"] == "hit"
    assert first.content == second.content
    assert first["ETag"] == second["ETag"]
    assert second["Cache-Control"] == "public, max-age=0, must-revalidate"
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Content-Type", "X-Frame-Options"):
        assert second.has_header(name), name
    not_modified = client.get("/initiatives/", headers={"if-none-match": second["ETag"]})
    assert not_modified.status_code == 304 and not not_modified.content
    assert client.head("/initiatives/")["X-Page-Cache"] == "hit"


def test_the_english_page_is_stored_apart(client):
    warm(client, "/initiatives/", "/en/initiatives/")
    assert 'lang="en"' in client.get("/en/initiatives/").content.decode()
    assert 'lang="ja"' in client.get("/initiatives/").content.decode()


def test_an_unrelated_cookie_still_hits_and_no_cookie_is_set(client):
    warm(client, "/")
    client.cookies["_ga"] = "GA1.2.3"
    client.cookies["csrftoken"] = "x" * 32
    response = client.get("/")
    assert response["X-Page-Cache"] == "hit"
    assert not response.cookies


@pytest.mark.parametrize("path", ["/", "/initiatives/", "/casestudies/", "/expertnet/", "/news/", "/search/?q=観光"])
def test_anonymous_pages_set_no_cookie(client, path):
    for _ in range(2):
        response = client.get(path)
        assert response.status_code == 200 and not response.cookies, path


def test_editors_and_forms_are_never_served_from_the_cache(client):
    editor = User.objects.create_superuser("chief", password="a-long-password-123")
    warm(client, "/initiatives/")
    client.force_login(editor)
    assert state(client, "/initiatives/") == "none"
    client.logout()
    client.cookies.clear()
    assert state(client, "/expertnet/consultation/") == "none"  # a form: a CSRF cookie, never stored
    assert client.get("/no-such-page/").get("X-Page-Cache") is None
    assert client.get("/no-such-page/").status_code == 404


def change(django_capture_on_commit_callbacks, obj, **values):
    with django_capture_on_commit_callbacks(execute=True):
        for name, value in values.items():
            setattr(obj, name, value)
        obj.save()


CASES = [
    # (model, field to change, the pages that read it, a page that does not)
    (NewsItem, "title_ja", ["news_detail", "/news/", "/"], "/casestudies/"),
    (Initiative, "summary_ja", ["detail", "/initiatives/", "/"], "/expertnet/"),
    (Page, "title_ja", ["detail"], "/casestudies/"),
    (CaseStudy, "title_ja", ["detail", "/casestudies/"], "/news/"),
    (Expert, "affiliation_ja", ["detail", "/expertnet/"], "/initiatives/"),
    (Seminar, "title_ja", ["detail", "/expertnet/seminars/"], "/casestudies/"),
]


@pytest.mark.parametrize(("model", "field", "readers", "other"), CASES, ids=[c[0].__name__ for c in CASES])
def test_a_change_drops_exactly_the_pages_that_read_it(
    client, django_capture_on_commit_callbacks, model, field, readers, other
):
    obj = model.objects.published().order_by("id").first()
    paths = [obj.get_absolute_url() if p in ("detail", "news_detail") else p for p in readers]
    warm(client, *paths, other)
    change(django_capture_on_commit_callbacks, obj, **{field: "変更後の文言"})
    for path in paths:
        assert state(client, path) == "miss", path
    assert "変更後の文言" in client.get(paths[0]).content.decode()
    assert state(client, other) == "hit"  # a page that did not read the changed table stays


def test_a_publish_in_the_admin_shows_at_once(client, django_capture_on_commit_callbacks):
    item = NewsItem.objects.create(slug="draft-news", title_ja="まだ下書きの新着情報", body_ja="本文。")
    warm(client, "/news/", "/")
    publisher = User.objects.create_superuser("publisher", password="a-long-password-123")
    from django.test import Client

    admin = Client()
    admin.force_login(publisher)
    with django_capture_on_commit_callbacks(execute=True):
        admin.post("/admin/portal/newsitem/", {"action": "publish_now", "_selected_action": [item.pk]})
    assert "まだ下書きの新着情報" in client.get("/news/").content.decode()
    assert "まだ下書きの新着情報" in client.get("/").content.decode()


def test_a_scheduled_item_appears_on_a_stored_page_at_its_time(client, django_capture_on_commit_callbacks):
    at = dt.datetime(2027, 4, 1, 9, 0, tzinfo=JST)
    with time_machine.travel(at - dt.timedelta(hours=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            NewsItem.objects.create(
                slug="scheduled",
                title_ja="予約していた新着情報",
                body_ja="本文。",
                state=PublishState.PUBLISHED,
                published_at=at,
            )
        warm(client, "/news/")
        assert "予約していた新着情報" not in client.get("/news/").content.decode()
    with time_machine.travel(at + dt.timedelta(seconds=1), tick=False):
        assert "予約していた新着情報" in client.get("/news/").content.decode()


def test_a_seminar_moves_to_the_past_when_it_ends(client):
    seminar = Seminar.objects.published().order_by("-ends_at").first()
    with time_machine.travel(seminar.ends_at - dt.timedelta(hours=1), tick=False):
        warm(client, "/expertnet/seminars/")
    with time_machine.travel(seminar.ends_at + dt.timedelta(seconds=1), tick=False):
        assert state(client, "/expertnet/seminars/") == "miss"


def test_rows_written_without_signals_are_covered_by_a_full_bump(client):
    from portal import pagecache

    warm(client, "/initiatives/")
    pagecache.bump_all()
    assert state(client, "/initiatives/") == "miss"


def redis_listens() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_pages_in_redis(client, settings):
    if not redis_listens():
        if os.environ.get("CI_REQUIRE_REDIS"):
            pytest.fail("CI_REQUIRE_REDIS is set and nothing listens at 127.0.0.1:6379")
        pytest.skip("no Redis at 127.0.0.1:6379")
    import uuid

    from django.core.cache import caches as handler

    # A prefix of its own: CI runs the SQLite and PostgreSQL suites at once, on one Redis.
    prefix = f"test-pages-{uuid.uuid4().hex}"
    settings.CACHES = {
        **settings.CACHES,
        "pages": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/14",
            "KEY_PREFIX": prefix,
        },
    }
    redis = handler["pages"]._cache.get_client(write=True)
    try:
        assert state(client, "/initiatives/") == "miss"
        assert state(client, "/initiatives/") == "hit"
        assert list(redis.scan_iter(match=f"{prefix}:*"))  # the page is in Redis
    finally:
        for key in redis.scan_iter(match=f"{prefix}:*"):
            redis.delete(key)
