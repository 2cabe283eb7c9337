"""Admin security: the client's address, the lockout page and the absolute limit of a session.

- ``client_ip``: the address of the client, for the login lockout (django-axes reads it through
  AXES_CLIENT_IP_CALLABLE) and for the audit log. ``REMOTE_ADDR`` unless TRUSTED_PROXY_COUNT says
  how many proxies of our own stand in front of the portal; then the entry of X-Forwarded-For that
  the outermost of them added. Anything else a client could have written itself.
- ``lockout_response``: the page a locked-out login gets (AXES_LOCKOUT_CALLABLE), status 429.
- ``SessionLimitMiddleware``: logs a user out SESSION_ABSOLUTE_HOURS after the login, however
  active the session has been (the idle limit is Django's own: SESSION_COOKIE_AGE with
  SESSION_SAVE_EVERY_REQUEST).
- ``PermissionsPolicyMiddleware``: the Permissions-Policy header (PERMISSIONS_POLICY), which Django
  has no setting for, on every response.

docs/operations.md, "Admin security".
"""

import ipaddress
import math
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.db.models import Max
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

# The session key holding the login time (seconds since the epoch).
LOGIN_AT = "portal_login_at"


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's IP address, or None when there is no valid one.

    With TRUSTED_PROXY_COUNT = 0 (the default), ``REMOTE_ADDR``: X-Forwarded-For is ignored, since
    without a proxy of ours in front any client can send it. With N > 0, each of our N proxies
    appends the address it received the request from, so the client is the N-th entry from the
    right; entries further left were written by the client. A header with fewer than N entries
    (or an invalid entry) means the request did not come through our proxies as configured: then
    ``REMOTE_ADDR`` again, never a value the client chose.
    """
    remote = _valid_ip(request.META.get("REMOTE_ADDR"))
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    entries = [e.strip() for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
    if len(entries) < count:
        return remote
    return _valid_ip(entries[-count]) or remote


def lockout_response(request, original_response=None, credentials=None):
    """The page of a login refused by the lockout: when to try again and whom to ask (429)."""
    from axes.helpers import get_client_username, get_cool_off, get_failure_limit
    from axes.models import AccessAttempt
    from django.contrib import admin

    cool_off = get_cool_off(request) or timedelta(0)
    now = timezone.now()
    # Locked by the combination of user name and address (AXES_LOCKOUT_PARAMETERS) until the
    # cool-off has passed since the last counted failure; refused attempts do not move it on
    # (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False).
    last = AccessAttempt.objects.filter(
        username=get_client_username(request, credentials), ip_address=getattr(request, "axes_ip_address", None)
    ).aggregate(last=Max("attempt_time"))["last"]
    until = max((last or now) + cool_off, now)
    remaining = max(1, math.ceil((until - now).total_seconds() / 60))
    context = {
        **admin.site.each_context(request),
        "title": _("ログインを一時的に止めています"),
        "failure_limit": get_failure_limit(request, credentials),
        "cooloff_minutes": math.ceil(cool_off.total_seconds() / 60),
        "until": until,
        "until_iso": timezone.localtime(until).isoformat(timespec="minutes"),
        "until_label": date_format(timezone.localtime(until), "DATETIME_FORMAT"),
        "remaining_minutes": remaining,
    }
    response = render(request, "admin/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
    response["Retry-After"] = str(max(1, math.ceil((until - now).total_seconds())))
    response["Cache-Control"] = "no-store"
    return response


def remember_login_time(sender, request, user, **kwargs):
    """user_logged_in receiver: the session remembers when its login happened."""
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT] = timezone.now().timestamp()


class SessionLimitMiddleware:
    """Log the user out when their login is older than SESSION_ABSOLUTE_HOURS.

    Only a request that brings a session cookie is looked at: an anonymous visitor without one is
    passed on untouched (no session is read or created, so no cookie and no ``Vary: Cookie``). A
    logged-in session without a login time (made before this middleware existed) counts as expired.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SESSION_COOKIE_NAME in request.COOKIES and request.user.is_authenticated:
            login_at = request.session.get(LOGIN_AT)
            limit = timedelta(hours=settings.SESSION_ABSOLUTE_HOURS)
            if login_at is None or timezone.now().timestamp() - login_at >= limit.total_seconds():
                hours = {"hours": settings.SESSION_ABSOLUTE_HOURS}
                request.audit_logout_detail = (
                    _("ログインから %(hours)s 時間を過ぎたため、自動的にログアウトしました。") % hours
                )
                logout(request)
                messages.info(
                    request,
                    _("ログインから %(hours)s 時間を過ぎたため、ログアウトしました。もう一度ログインしてください。")
                    % hours,
                )
        return self.get_response(request)


def permissions_policy_header(policy: dict[str, list[str] | tuple[str, ...]]) -> str:
    """The Permissions-Policy value of ``{feature: allowlist}``: ``camera=(), fullscreen=(self)``.

    An empty allowlist turns the feature off everywhere; ``"self"`` and ``"*"`` are written as
    they are and any other entry is an origin, quoted (the header is a structured-field dictionary).
    """
    items = []
    for feature, allowlist in policy.items():
        members = [m if m in {"self", "*"} else f'"{m}"' for m in allowlist]
        items.append(f"{feature}=({' '.join(members)})")
    return ", ".join(items)


class PermissionsPolicyMiddleware:
    """Send PERMISSIONS_POLICY as the Permissions-Policy header on every response that has none.

    Django has no setting for this header. The policy turns off the browser features the portal
    never uses (camera, microphone, geolocation, payment, …): neither a page, nor anything it
    embeds, nor a script that should not be there can use them. An empty or missing setting sends
    nothing; a view that sets the header itself keeps its own.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._policy = None
        self._value = ""

    def header_value(self) -> str:
        policy = getattr(settings, "PERMISSIONS_POLICY", None) or {}
        if policy is not self._policy:  # computed once per setting (tests may override it)
            self._policy, self._value = policy, permissions_policy_header(policy)
        return self._value

    def __call__(self, request):
        response = self.get_response(request)
        value = self.header_value()
        if value and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = value
        return response
