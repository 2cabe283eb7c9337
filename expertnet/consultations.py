"""相談申込: a municipality asks the registry to introduce experts.

The request is saved (with its first history entry, 受付) in one transaction before any mail is
sent; each mail is sent on its own afterwards, and a mail that fails is logged and leaves its
``*_sent_at`` empty for staff to resend from the admin. The page after sending is reached by a
redirect with a signed token that names only the request's number, for an hour: nobody can
enumerate other requests through it, and no session is created for visitors.

Spam, without outside services:
- A honeypot field (``homepage``) people never see. When it is filled in the view answers exactly
  as for a real request (redirect to the confirmation page, without a number), but saves and
  sends nothing, so that a robot learns nothing from the answer. A person whose browser filled it
  in (unlikely: the field has autocomplete="off" and an unusual name) sees no number and gets no
  mail, and is told on that page to get in touch if no mail arrives.
- At most EXPERTNET_REQUESTS_PER_HOUR requests per sender address and hour, counted in the
  database (so across processes and servers) over ``client_hash``: an HMAC-SHA256 of the address
  keyed with SECRET_KEY. The address itself is never stored.
"""

import logging
import re
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, mailers
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from expertnet.forms import (
    REQUESTED_EXPERTS_MAX,
    ConsultationForm,
    display_name,
    municipalities,
    showable,
    spellings,
    split_prefecture,
    to_hiragana,
)
from expertnet.models import ConsultationRequest, RequestEvent

logger = logging.getLogger(__name__)

RECEIVED_SALT = "expertnet.consultations.received"
RECEIVED_MAX_AGE = 60 * 60  # seconds the confirmation page can be opened again
LOOKUP_LIMIT = 20
LOOKUP_MAX_QUERY = 40
EVENT_RECEIVED = "受付"


# --- The sender's address -----------------------------------------------------------------------


def client_address(request) -> str:
    """REMOTE_ADDR; behind a proxy that sets X-Forwarded-For, with EXPERTNET_TRUST_X_FORWARDED_FOR
    on, the header's last entry (the one the proxy added; a client can forge the ones before it)."""
    if settings.EXPERTNET_TRUST_X_FORWARDED_FOR:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded and forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "")


def client_hash(request) -> str:
    """A keyed hash of the sender's address (HMAC-SHA256 with SECRET_KEY): 64 hex digits."""
    return salted_hmac("expertnet.consultations.client", client_address(request), algorithm="sha256").hexdigest()


def over_rate_limit(hashed: str) -> bool:
    since = timezone.now() - timedelta(hours=1)
    recent = ConsultationRequest.objects.filter(client_hash=hashed, created_at__gte=since).count()
    return recent >= settings.EXPERTNET_REQUESTS_PER_HOUR


# --- Pages --------------------------------------------------------------------------------------


def breadcrumbs(*last):
    return [(_("地域人材ネット"), reverse("expertnet:list")), *last]


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def request_form(request):
    if request.method == "POST":
        if request.POST.get(ConsultationForm.HONEYPOT, "").strip():
            logger.info("相談申込: the honeypot was filled in; nothing saved or sent")
            return redirect_received(None, mail_sent=True)
        hashed = client_hash(request)
        if over_rate_limit(hashed):
            return rate_limited(request)
        form = ConsultationForm(request.POST)
        if form.is_valid():
            consultation = save_request(form.cleaned_data, hashed)
            logger.info("相談申込 %s received", consultation.reference)
            confirmed = send_confirmation(consultation, request)
            send_staff_notice(consultation, request)
            return redirect_received(consultation, mail_sent=confirmed)
    else:
        wanted = request.GET.getlist("expert")[:REQUESTED_EXPERTS_MAX]
        form = ConsultationForm(initial={"preferred_experts": wanted})
    form.fields["municipality"].widget.attrs.update(
        {"list": "municipality-options", "data-lookup": reverse("expertnet:municipality_lookup")}
    )
    experts = list(form["preferred_experts"])  # the checkboxes, drawn once
    context = {
        "form": form,
        "errors": form.summary() if form.is_bound else [],
        "experts": experts,
        "selected_experts": [cb.choice_label for cb in experts if cb.data["selected"]],
        "experts_are_samples": any(cb.data["value"].instance.is_sample for cb in experts),
        "privacy_url": reverse("portal:page", kwargs={"slug": "privacy"}),
        "breadcrumbs": breadcrumbs((_("専門家の紹介を申し込む"), None)),
    }
    return render(request, "expertnet/consultations/form.html", context)


def rate_limited(request):
    context = {
        "limit": settings.EXPERTNET_REQUESTS_PER_HOUR,
        "form_url": reverse("expertnet:request"),
        "contact_url": reverse("portal:page", kwargs={"slug": "contact"}),
        "message": showable(request.POST.get("message", ""))[:10_000],
        "noindex": True,
        "breadcrumbs": breadcrumbs(
            (_("専門家の紹介を申し込む"), reverse("expertnet:request")), (_("申込みの回数の上限"), None)
        ),
    }
    response = render(request, "expertnet/consultations/rate_limited.html", context, status=429)
    response["Retry-After"] = "3600"
    return response


def redirect_received(consultation, *, mail_sent: bool):
    token = signing.dumps({"r": consultation.pk if consultation else 0, "m": int(mail_sent)}, salt=RECEIVED_SALT)
    response = HttpResponseRedirect(f"{reverse('expertnet:request_received')}?t={token}")
    response.status_code = 303  # See Other: the browser asks for the confirmation page with GET
    return response


@never_cache
@require_safe
def request_received(request):
    token = request.GET.get("t")
    if not token:
        return HttpResponseRedirect(reverse("expertnet:request"))
    context = {
        "noindex": True,
        "breadcrumbs": breadcrumbs((_("専門家の紹介を申し込む"), reverse("expertnet:request")), (_("受付完了"), None)),
        "form_url": reverse("expertnet:request"),
        "contact_url": reverse("portal:page", kwargs={"slug": "contact"}),
    }
    try:
        data = signing.loads(token, salt=RECEIVED_SALT, max_age=RECEIVED_MAX_AGE)
        number, mail_sent = int(data["r"]), bool(data["m"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        context["breadcrumbs"] = breadcrumbs(
            (_("専門家の紹介を申し込む"), reverse("expertnet:request")), (_("受付の確認"), None)
        )
        return render(request, "expertnet/consultations/received_invalid.html", context, status=400)
    context.update(reference=f"R-{number:06d}" if number else "", mail_sent=mail_sent)
    return render(request, "expertnet/consultations/received.html", context)


# --- Saving and mail ----------------------------------------------------------------------------


def save_request(data: dict, hashed: str) -> ConsultationRequest:
    """The request, its themes and experts and the first history entry, in one transaction."""
    with transaction.atomic():
        consultation = ConsultationRequest.objects.create(
            municipality=data["municipality"],
            department=data["department"],
            contact_person=data["contact_person"],
            email=data["email"],
            phone=data["phone"],
            message=data["message"],
            client_hash=hashed,
        )
        consultation.themes.set(data["themes"])
        consultation.preferred_experts.set(data["preferred_experts"])
        RequestEvent.objects.create(request=consultation, description=EVENT_RECEIVED)
    return consultation


def admin_url(consultation: ConsultationRequest, request=None) -> str:
    """The admin change page of a request, absolute (SITE_URL, else the request's host)."""
    origin = settings.SITE_URL or (request.build_absolute_uri("/").rstrip("/") if request else "")
    return f"{origin}/{settings.ADMIN_PATH}expertnet/consultationrequest/{consultation.pk}/change/"


def mail_context(consultation: ConsultationRequest) -> dict:
    return {
        "consultation": consultation,
        "reference": consultation.reference,
        "municipality": display_name(consultation.municipality),
        "themes": [theme.name for theme in consultation.themes.all()],
        "experts": [expert.name for expert in consultation.preferred_experts.all()],
        "site_url": settings.SITE_URL,
    }


def render_mail(name: str, context: dict) -> tuple[str, str]:
    """(subject, body) of templates/expertnet/consultations/email/<name>_{subject,body}.txt, in Japanese."""
    with translation.override("ja"):
        subject = render_to_string(f"expertnet/consultations/email/{name}_subject.txt", context)
        body = render_to_string(f"expertnet/consultations/email/{name}_body.txt", context)
    return " ".join(subject.split()), body


def send(subject: str, body: str, to: list[str]) -> bool:
    return bool(mailers.default.send_messages([EmailMessage(subject, body, to=to)]))


def send_confirmation(consultation: ConsultationRequest, request=None) -> bool:
    """The confirmation to the requester. True when it went out; a failure is logged, not raised.
    (``request`` is not needed here; it is taken so that both mails are sent the same way.)"""
    if consultation.personal_data_erased_at or not consultation.email:
        return False
    try:
        subject, body = render_mail("confirmation", mail_context(consultation))
        sent = send(subject, body, [consultation.email])
    except Exception:
        logger.exception("相談申込 %s: the confirmation mail could not be sent", consultation.reference)
        return False
    if sent:
        consultation.confirmation_sent_at = timezone.now()
        ConsultationRequest.objects.filter(pk=consultation.pk).update(
            confirmation_sent_at=consultation.confirmation_sent_at
        )
    return sent


def send_staff_notice(consultation: ConsultationRequest, request=None) -> bool:
    """The notice to EXPERTNET_STAFF_EMAILS. True when it went out; a failure is logged, not raised."""
    staff = list(settings.EXPERTNET_STAFF_EMAILS)
    if not staff:
        logger.warning("相談申込 %s: EXPERTNET_STAFF_EMAILS is empty; no notice sent", consultation.reference)
        return False
    try:
        context = mail_context(consultation) | {"admin_url": admin_url(consultation, request)}
        subject, body = render_mail("staff_notice", context)
        sent = send(subject, body, staff)
    except Exception:
        logger.exception("相談申込 %s: the notice to staff could not be sent", consultation.reference)
        return False
    if sent:
        consultation.notice_sent_at = timezone.now()
        ConsultationRequest.objects.filter(pk=consultation.pk).update(notice_sent_at=consultation.notice_sent_at)
    return sent


# --- The suggestion list for the municipality field ---------------------------------------------


@require_safe
def municipality_lookup(request):
    """Up to 20 municipalities for ``?q=``: a code prefix, or the start of a name or reading, with
    or without the prefecture first. [{"code": "363022", "name": "徳島県上勝町"}, ...]

    Public reference data with no cookie read: cacheable by browsers and proxies for an hour."""
    query = request.GET.get("q", "")
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", showable(query)))[:LOOKUP_MAX_QUERY]
    results = []
    if key:
        digits = re.match(r"\d{1,6}", key)
        if digits:
            found = municipalities().filter(code__startswith=digits.group(0))
        else:
            prefecture, rest = split_prefecture(key)
            found = municipalities()
            if prefecture:
                found = found.filter(prefecture_id=prefecture)
            if rest:
                match = Q(name_kana__startswith=to_hiragana(rest))
                for name in spellings(rest):
                    match |= Q(name__startswith=name) | Q(full__startswith=name)
                found = found.filter(match)
        results = [{"code": m.code, "name": display_name(m)} for m in found[:LOOKUP_LIMIT]]
    response = JsonResponse(results, safe=False, json_dumps_params={"ensure_ascii": False})
    patch_cache_control(response, public=True, max_age=3600)
    return response
