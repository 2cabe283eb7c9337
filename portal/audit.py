"""The audit log (portal.models.AuditEvent): who did what, when, from where, to which object.

Code that publishes, schedules, withdraws, archives, restores, recovers or deletes calls
``record()`` inside its own transaction, so that the event is written together with the change or
not at all. Logins, logouts, failed logins and lockouts are recorded by the receivers below
(connected in PortalConfig.ready()). The password is never recorded.

This module imports the models only inside its functions: portal.publishing (imported by
portal.models) may import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.utils.translation import gettext as _

from portal.security import client_ip

if TYPE_CHECKING:
    from portal.models import AuditEvent


def record(action: str, *, request=None, user=None, obj=None, detail: str = "") -> AuditEvent:
    """Write one audit event and return it.

    ``action`` is one of AuditEvent.Action (``"publish"``, ``"delete"``…; ValueError otherwise).
    The user is ``user`` if given, else the request's logged-in user; the IP address comes from
    the request (portal.security.client_ip, as for the login lockout); the content type, id and
    text of the object from ``obj``. Errors are not caught: the caller's transaction fails with them.
    """
    if user is None and request is not None:
        user = getattr(request, "user", None)
    return _write(action, request=request, user=user, obj=obj, detail=detail)


def _write(action, *, request=None, user=None, username="", ip=None, obj=None, detail=""):
    from django.contrib.contenttypes.models import ContentType

    from portal.models import AuditEvent

    if action not in AuditEvent.Action.values:
        raise ValueError(f"unknown audit action {action!r}; one of {', '.join(AuditEvent.Action.values)}")
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None  # AnonymousUser
    event = AuditEvent(
        action=action,
        user=user,
        username=(user.get_username() if user is not None else username or "")[:150],
        ip=ip if ip is not None else (client_ip(request) if request is not None else None),
        detail=detail,
    )
    if obj is not None:
        event.content_type = ContentType.objects.get_for_model(obj)
        event.object_id = "" if obj.pk is None else str(obj.pk)
        event.object_repr = str(obj)[:200]
    event.save()
    return event


def _locked_out_by_axes(request) -> bool:
    """True when axes refused the attempt because the client was already locked out.

    The axes backend marks such a request before authentication fails; a failure that axes counted
    has ``axes_failures_since_start`` set, whichever receiver of user_login_failed runs first.
    """
    return (
        bool(getattr(request, "axes_locked_out", False)) and getattr(request, "axes_failures_since_start", None) is None
    )


def on_logged_in(sender, request, user, **kwargs):
    _write("login", request=request, user=user)


def on_logged_out(sender, request, user, **kwargs):
    if user is not None:
        _write("logout", request=request, user=user, detail=getattr(request, "audit_logout_detail", ""))


def on_login_failed(sender, credentials, request=None, **kwargs):
    if request is not None and _locked_out_by_axes(request):
        return  # recorded as locked_out by on_locked_out
    field = get_user_model().USERNAME_FIELD
    # Django has already masked the password in ``credentials``; only the user name is kept.
    username = str(credentials.get(field) or credentials.get("username") or "")
    _write("login_failed", request=request, username=username)


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    from axes.helpers import get_cool_off
    from django.conf import settings

    if request is not None and _locked_out_by_axes(request):
        detail = _("ロックアウト中のログインを拒否しました(パスワードは確かめていません)。")
    else:
        minutes = int(get_cool_off(request).total_seconds() // 60)
        detail = _("ログインに続けて %(count)s 回失敗したため、%(minutes)s 分間ロックしました。") % {
            "count": getattr(request, "axes_failures_since_start", None) or settings.AXES_FAILURE_LIMIT,
            "minutes": minutes,
        }
    _write("locked_out", request=request, username=username or "", ip=ip_address, detail=detail)


def connect() -> None:
    """Connect the receivers (PortalConfig.ready())."""
    from axes.signals import user_locked_out

    user_logged_in.connect(on_logged_in, dispatch_uid="portal.audit.logged_in")
    user_logged_out.connect(on_logged_out, dispatch_uid="portal.audit.logged_out")
    user_login_failed.connect(on_login_failed, dispatch_uid="portal.audit.login_failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="portal.audit.locked_out")
