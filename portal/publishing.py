"""The publishing base every content type shares: state, dates and the published() rule.

Views never filter by state by hand; they call ``Model.objects.published()``. Editors with the
change permission may open a draft's public URL to preview it (see ``visible_to``).

An item is in one of four states (docs/decisions/0010-editorial-workflow.md). Three are stored:
draft, published and archived. The fourth, scheduled, is a published item whose publish time is
still to come; it becomes public by itself when that time comes, and stops being public by itself
at its unpublish time. No job has to run for either: every public read compares the times with
the clock, and what is computed from public items (the search index, the case-study facet counts)
is valid only until the next such time.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Every content type has, besides Django's four, "publish_<model>": to publish, schedule, withdraw
# and archive. The editors group lacks it; the publishers group has it (portal/roles.py).
PERMISSIONS = ("add", "change", "delete", "view", "publish")


class PublishState(models.TextChoices):
    DRAFT = "draft", _("下書き")
    PUBLISHED = "published", _("公開")
    ARCHIVED = "archived", _("アーカイブ")


class Status(models.TextChoices):
    """What an item is now: the stored state read with the clock."""

    DRAFT = "draft", _("下書き")
    SCHEDULED = "scheduled", _("公開予約")
    PUBLISHED = "published", _("公開中")
    ENDED = "ended", _("掲載終了")
    ARCHIVED = "archived", _("アーカイブ")


def public_q(at) -> Q:
    return Q(state=PublishState.PUBLISHED, published_at__lte=at) & (
        Q(unpublish_at__isnull=True) | Q(unpublish_at__gt=at)
    )


def status_q(status: str, at) -> Q:
    """The items whose ``status`` is ``status`` at ``at`` (for the admin's filter)."""
    published = Q(state=PublishState.PUBLISHED)
    return {
        Status.DRAFT: Q(state=PublishState.DRAFT),
        Status.SCHEDULED: published & Q(published_at__gt=at),
        Status.PUBLISHED: public_q(at),
        Status.ENDED: published & Q(unpublish_at__lte=at),
        Status.ARCHIVED: Q(state=PublishState.ARCHIVED),
    }[status]


class PublishableQuerySet(models.QuerySet):
    def published(self, *, at=None):
        """Items the public may see: published, whose publish time has come and whose unpublish
        time has not."""
        return self.filter(public_q(at or timezone.now()))

    def visible_to(self, user):
        """What ``user`` may open: everything for an editor of this model, else published()."""
        meta = self.model._meta
        if user.is_authenticated and user.has_perm(f"{meta.app_label}.change_{meta.model_name}"):
            return self.all()
        return self.published()

    def next_change(self, *, after):
        """The first moment after ``after`` at which an item of this queryset appears or goes:
        when what is computed from the public items stops being true (None: never)."""
        published = self.filter(state=PublishState.PUBLISHED)
        times = (
            published.filter(published_at__gt=after).aggregate(t=models.Min("published_at"))["t"],
            published.filter(unpublish_at__gt=after).aggregate(t=models.Min("unpublish_at"))["t"],
        )
        return min(filter(None, times), default=None)


class Publishable(models.Model):
    state = models.CharField(
        _("公開状態"), max_length=16, choices=PublishState.choices, default=PublishState.DRAFT, db_index=True
    )
    published_at = models.DateTimeField(
        _("公開日時"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_(
            "公開にすると、空欄の場合は保存した日時が入ります。未来の日時にすると、その時に自動で公開されます(公開予約)。"
        ),
    )
    unpublish_at = models.DateTimeField(
        _("掲載終了日時"),
        null=True,
        blank=True,
        help_text=_("この日時になると自動で公開をやめます。空欄なら掲載を続けます。"),
    )
    is_sample = models.BooleanField(
        _("サンプルデータ"),
        default=False,
        help_text=_("動作確認用に作った架空のデータです。表示される所すべてに「サンプルデータ」と示されます。"),
    )
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    objects = PublishableQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.state == PublishState.PUBLISHED and self.published_at is None:
            self.published_at = timezone.now()
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.unpublish_at and self.published_at and self.unpublish_at <= self.published_at:
            raise ValidationError({"unpublish_at": _("掲載終了日時は公開日時より後にしてください。")})

    def status_at(self, at) -> Status:
        if self.state == PublishState.DRAFT:
            return Status.DRAFT
        if self.state == PublishState.ARCHIVED:
            return Status.ARCHIVED
        if self.published_at is not None and self.published_at > at:
            return Status.SCHEDULED
        if self.unpublish_at is not None and self.unpublish_at <= at:
            return Status.ENDED
        return Status.PUBLISHED

    @property
    def publication_status(self) -> Status:
        # Not "status": the programs have a field of that name (initiatives.InitiativeStatus).
        return self.status_at(timezone.now())

    @property
    def is_public(self) -> bool:
        return self.publication_status == Status.PUBLISHED
