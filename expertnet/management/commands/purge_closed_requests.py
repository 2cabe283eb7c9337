"""Erase the personal data of 相談申込 closed (完了) more than EXPERTNET_RETENTION_DAYS days ago.

    manage.py purge_closed_requests [--dry-run]

The request itself stays (municipality, themes, experts, dates, status, history), for the
registry's statistics; the department, contact person, e-mail address, phone number and message
are replaced, the keyed hash of the sender's address is cleared, and the history records the
erasure. Requests already erased are left alone, so the command can run every day (cron).
"""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from expertnet.models import ConsultationRequest, RequestEvent, RequestStatus

ERASED = "(保存期間を過ぎたため削除しました)"
EVENT_ERASED = "保存期間を過ぎたため、個人情報を削除"


def expired_requests(now=None):
    """Closed requests past the retention period whose personal data is still there."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EXPERTNET_RETENTION_DAYS)
    return ConsultationRequest.objects.filter(
        status=RequestStatus.CLOSED,
        closed_at__isnull=False,
        closed_at__lt=cutoff,
        personal_data_erased_at__isnull=True,
    ).order_by("pk")


def erase(ids: list[int], now) -> int:
    with transaction.atomic():
        pending = ConsultationRequest.objects.filter(pk__in=ids, personal_data_erased_at__isnull=True)
        ids = list(pending.values_list("pk", flat=True))
        count = ConsultationRequest.objects.filter(pk__in=ids).update(
            department=ERASED,
            contact_person=ERASED,
            email="",
            phone="",
            message=ERASED,
            client_hash="",
            personal_data_erased_at=now,
        )
        RequestEvent.objects.bulk_create([RequestEvent(request_id=pk, description=EVENT_ERASED) for pk in ids])
    return count


class Command(BaseCommand):
    help = "Erase the personal data of requests closed more than EXPERTNET_RETENTION_DAYS days ago."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be erased, change nothing")

    def handle(self, *args, dry_run=False, **options):
        now = timezone.now()
        days = settings.EXPERTNET_RETENTION_DAYS
        requests = list(expired_requests(now).only("pk", "closed_at"))
        for consultation in requests:
            verb = "would erase" if dry_run else "erasing"
            self.stdout.write(
                f"{verb} {consultation.reference} (closed {timezone.localtime(consultation.closed_at):%Y-%m-%d})"
            )
        if dry_run:
            self.stdout.write(
                f"{len(requests)} request(s) closed more than {days} days ago; nothing changed (--dry-run)"
            )
            return
        count = erase([c.pk for c in requests], now) if requests else 0
        self.stdout.write(f"erased the personal data of {count} request(s) closed more than {days} days ago")
