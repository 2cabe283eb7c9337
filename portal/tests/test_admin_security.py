"""Admin security: login lockout (django-axes), the client's address behind proxies, session
limits, and the audit log with its read-only admin."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory

from portal import audit, security
from portal.models import AuditEvent, Theme
from portal.roles import ADMINISTRATORS, EDITORS, PUBLISHERS

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "Correct-horse-battery-42"
WRONG = "Tr0ub4dor-not-it"
OFFICE = "192.0.2.10"  # the one LGWAN address a ministry floor shares
T0 = dt.datetime(2026, 4, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture
def staff():
    return User.objects.create_user("tanaka", password=PASSWORD, is_staff=True)


def make_member(username, group):
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def administrator():
    return make_member("kanri", ADMINISTRATORS)


@pytest.fixture
def editor():
    return make_member("henshu", EDITORS)


def post_login(client, username, password, ip=OFFICE, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def logged_in_user_id(client):
    return client.session.get("_auth_user_id")


# --- Lockout ------------------------------------------------------------------------------------


def test_lockout_refuses_even_the_right_password_until_the_cool_off_has_passed(client, staff, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert dt.timedelta(minutes=30) == settings.AXES_COOLOFF_TIME
    with time_machine.travel(T0, tick=False) as traveller:
        for _ in range(4):
            assert post_login(client, "tanaka", WRONG).status_code == 200  # the form with its error
        response = post_login(client, "tanaka", WRONG)
        assert response.status_code == 429
        html = response.content.decode()
        assert "地域力創造ポータル 管理画面" in html  # the admin's look
        assert "ログインに続けて 5 回失敗したため" in html
        assert "30 分間止めています" in html
        assert '<time datetime="2026-04-01T09:30+09:00">2026年4月1日9:30</time>' in html
        assert "管理者" in html
        assert response["Retry-After"] == "1800"

        traveller.shift(dt.timedelta(minutes=10))
        response = post_login(client, "tanaka", PASSWORD)
        assert response.status_code == 429
        assert logged_in_user_id(client) is None
        # A refused attempt does not move the end of the lock: the page still says 9:30.
        assert "2026年4月1日9:30" in response.content.decode()
        assert "あと約 20 分" in response.content.decode()

        traveller.shift(dt.timedelta(minutes=20, seconds=1))
        response = post_login(client, "tanaka", PASSWORD)
        assert response.status_code == 302
        assert logged_in_user_id(client) == str(staff.pk)
    assert not AccessAttempt.objects.filter(username="tanaka").exists()  # AXES_RESET_ON_SUCCESS


def test_lock_is_on_the_user_name_and_address_together(client, staff):
    User.objects.create_user("suzuki", password=PASSWORD, is_staff=True)
    for _ in range(5):
        post_login(client, "tanaka", WRONG)
    assert post_login(client, "tanaka", PASSWORD).status_code == 429
    # A colleague behind the same office address still gets in ...
    assert post_login(client, "suzuki", PASSWORD).status_code == 302
    client.logout()
    # ... and so does the same user from another address.
    assert post_login(client, "tanaka", PASSWORD, ip="198.51.100.20").status_code == 302


def test_a_locked_out_unknown_user_name_gets_the_page_not_an_error(client):
    for _ in range(5):
        response = post_login(client, "nobody", WRONG)
    assert response.status_code == 429
    response = post_login(client, "nobody", WRONG, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 429
    assert "ログインに続けて 5 回失敗したため" in response.content.decode()


def test_a_successful_login_clears_the_failure_count(client, staff):
    for _ in range(4):
        post_login(client, "tanaka", WRONG)
    assert post_login(client, "tanaka", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert post_login(client, "tanaka", WRONG).status_code == 200
    assert post_login(client, "tanaka", PASSWORD).status_code == 302


# --- The client's address -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "203.0.113.5", "10.0.0.1"),  # no trusted proxy: the header is the client's own word
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "198.51.100.66, 203.0.113.5", "203.0.113.5"),  # the left entry was forged by the client
        (2, "198.51.100.66, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.1"),  # fewer entries than proxies: not through ours
        (1, "", "10.0.0.1"),
        (1, "not-an-address", "10.0.0.1"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_ip_believes_only_the_trusted_proxies(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/admin/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert security.client_ip(request) == expected


def test_behind_a_trusted_proxy_the_lock_and_the_log_use_the_forwarded_address(client, settings, staff):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for _ in range(5):
        post_login(client, "tanaka", WRONG, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert post_login(client, "tanaka", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    assert post_login(client, "tanaka", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 302
    assert set(AuditEvent.objects.filter(action="login_failed").values_list("ip", flat=True)) == {"203.0.113.5"}
    assert AuditEvent.objects.get(action="login").ip == "203.0.113.6"


# --- Sessions -------------------------------------------------------------------------------------


def test_a_session_idle_for_31_minutes_is_logged_out(client, staff):
    with time_machine.travel(T0, tick=False) as traveller:
        client.force_login(staff)
        assert client.get("/admin/").status_code == 200
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get("/admin/").status_code == 200  # each request moves the expiry on
        traveller.shift(dt.timedelta(minutes=31))
        response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_an_active_session_lasts_until_the_absolute_limit(client, staff, settings):
    assert settings.SESSION_ABSOLUTE_HOURS == 8
    with time_machine.travel(T0, tick=False) as traveller:
        client.force_login(staff)
        for _ in range(23):  # a request every 20 minutes, up to 7 h 40 min after the login
            traveller.shift(dt.timedelta(minutes=20))
            assert client.get("/admin/").status_code == 200
        traveller.shift(dt.timedelta(minutes=20))  # 8 hours after the login
        response = client.get("/admin/", REMOTE_ADDR=OFFICE)
        assert response.status_code == 302
        assert logged_in_user_id(client) is None
        page = client.get(response["Location"]).content.decode()
    assert "ログインから 8 時間を過ぎたため、ログアウトしました。" in page
    event = AuditEvent.objects.get(action="logout")
    assert (event.username, event.ip) == ("tanaka", OFFICE)
    assert "8 時間" in event.detail


def test_a_logged_in_session_without_a_login_time_counts_as_expired(client, staff):
    client.force_login(staff)
    session = client.session
    del session[security.LOGIN_AT]
    session.save()
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize("path", ["/", "/en/", "/news/", "/en/news/"])
def test_anonymous_pages_set_no_cookie(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert not response.cookies
    assert not response.has_header("Set-Cookie")


def test_the_session_limit_does_not_touch_an_anonymous_request():
    # No session, no user: reading either would raise AttributeError.
    request = RequestFactory().get("/")
    response = security.SessionLimitMiddleware(lambda r: "passed")(request)
    assert response == "passed"


def test_session_and_csrf_cookie_settings(settings):
    assert settings.SESSION_COOKIE_HTTPONLY and settings.CSRF_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"
    assert settings.SESSION_SAVE_EVERY_REQUEST
    assert settings.SESSION_COOKIE_AGE == 30 * 60


# --- Audit log ------------------------------------------------------------------------------------


def test_login_failure_login_and_logout_are_recorded_with_user_name_and_address(client, staff):
    post_login(client, "tanaka", WRONG, ip="192.0.2.11")
    post_login(client, "tanaka", PASSWORD, ip="192.0.2.12")
    client.post("/admin/logout/", REMOTE_ADDR="192.0.2.13")
    events = list(AuditEvent.objects.order_by("id").values_list("action", "username", "ip", "user"))
    assert events == [
        ("login_failed", "tanaka", "192.0.2.11", None),
        ("login", "tanaka", "192.0.2.12", staff.pk),
        ("logout", "tanaka", "192.0.2.13", staff.pk),
    ]
    for event in AuditEvent.objects.all():
        assert WRONG not in f"{event.username} {event.detail} {event.object_repr}"
        assert PASSWORD not in f"{event.username} {event.detail} {event.object_repr}"


def test_lockout_is_recorded_once_when_it_begins_and_for_each_refused_attempt(client, staff):
    for _ in range(5):
        post_login(client, "tanaka", WRONG)
    post_login(client, "tanaka", PASSWORD)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    # The fifth failure is both a failed login and the start of the lockout (in either order:
    # axes sends its signal while it handles the failure); the refused attempt is only a lockout.
    assert actions[:4] == ["login_failed"] * 4
    assert sorted(actions[4:6]) == ["locked_out", "login_failed"]
    assert actions[6:] == ["locked_out"]
    began, refused = AuditEvent.objects.filter(action="locked_out").order_by("id")
    assert "5 回失敗したため、30 分間ロックしました" in began.detail
    assert "拒否しました" in refused.detail
    assert {began.username, refused.username} == {"tanaka"}
    assert {began.ip, refused.ip} == {OFFICE}


def test_the_username_stays_when_the_user_is_deleted(client, staff):
    event = audit.record("publish", user=staff)
    staff.delete()
    event.refresh_from_db()
    assert (event.user, event.username) == (None, "tanaka")


def test_record_with_an_object_and_a_request(staff):
    theme = Theme.objects.create(key="audit-test", name="試験のテーマ")
    request = RequestFactory().post("/admin/portal/theme/", REMOTE_ADDR="192.0.2.20")
    request.user = staff
    event = audit.record("publish", request=request, obj=theme, detail="予定どおり公開")
    event.refresh_from_db()
    assert (event.action, event.user, event.username, event.ip) == ("publish", staff, "tanaka", "192.0.2.20")
    assert event.content_type == ContentType.objects.get_for_model(Theme)
    assert (event.object_id, event.object_repr, event.detail) == (str(theme.pk), "試験のテーマ", "予定どおり公開")
    assert event.get_action_display() == "公開"


def test_record_without_a_request_and_with_a_wrong_action(staff):
    event = audit.record("delete", user=staff)
    assert (event.ip, event.username, event.content_type) == (None, "tanaka", None)
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record("erase", user=staff)


# --- The audit log's admin ------------------------------------------------------------------------


def test_only_administrators_may_view_the_audit_log_and_nobody_may_change_it():
    view = Permission.objects.get(content_type__app_label="portal", codename="view_auditevent")
    assert view in Group.objects.get(name=ADMINISTRATORS).permissions.all()
    for group in (EDITORS, PUBLISHERS):
        assert view not in Group.objects.get(name=group).permissions.all()
    codenames = set(Permission.objects.filter(content_type__model="auditevent").values_list("codename", flat=True))
    assert codenames == {"view_auditevent"}


def test_administrators_see_the_audit_log_with_links_to_objects_that_still_exist(client, administrator, staff):
    kept = Theme.objects.create(key="kept", name="残っているテーマ")
    gone = Theme.objects.create(key="gone", name="削除したテーマ")
    gone_pk = gone.pk
    audit.record("publish", user=staff, obj=kept)
    audit.record("delete", user=staff, obj=gone)
    gone.delete()
    client.force_login(administrator)
    response = client.get("/admin/portal/auditevent/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<a href="/admin/portal/theme/{kept.pk}/change/">残っているテーマ</a>' in html
    assert "削除したテーマ" in html
    assert f"/admin/portal/theme/{gone_pk}/change/" not in html
    assert "公開" in html and "削除" in html and "tanaka" in html
    for query in ("?q=tanaka", "?action__exact=delete", "?at__year=2026"):
        assert client.get("/admin/portal/auditevent/" + query).status_code == 200
    assert "監査ログ" in client.get("/admin/").content.decode()


def test_editors_cannot_open_the_audit_log(client, editor):
    client.force_login(editor)
    assert client.get("/admin/portal/auditevent/").status_code == 403
    assert "監査ログ" not in client.get("/admin/").content.decode()


@pytest.mark.parametrize("who", ["administrator", "superuser"])
def test_audit_events_cannot_be_added_changed_or_deleted_in_the_admin(client, request, who):
    if who == "superuser":
        user = User.objects.create_superuser("root", password=PASSWORD)
    else:
        user = request.getfixturevalue("administrator")
    event = audit.record("publish", user=user, detail="元の記録")
    client.force_login(user)
    base = "/admin/portal/auditevent/"
    assert client.get(base + "add/").status_code == 403
    assert client.post(base + "add/", {"action": "login", "username": "x"}).status_code == 403
    page = client.get(f"{base}{event.pk}/change/")
    assert page.status_code == 200  # read-only view
    assert 'name="_save"' not in page.content.decode()
    assert client.post(f"{base}{event.pk}/change/", {"action": "login", "detail": "書き換え"}).status_code == 403
    assert client.get(f"{base}{event.pk}/delete/").status_code == 403
    assert client.post(f"{base}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(base, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"})
    event.refresh_from_db()
    assert (event.action, event.detail) == ("publish", "元の記録")
