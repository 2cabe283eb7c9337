"""The publishing base every content type shares: state, dates and the published() rule.

Views never filter by state by hand; they call ``Model.objects.published()``. Editors with the
change permission may open a draft's public URL to preview it (see ``visible_to``).
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PublishState(models.TextChoices):
    DRAFT = "draft", _("下書き")
    PUBLISHED = "published", _("公開")


class PublishableQuerySet(models.QuerySet):
    def published(self, *, at=None):
        """Items the public may see: published, and whose publish time has come."""
        at = at or timezone.now()
        return self.filter(state=PublishState.PUBLISHED, published_at__lte=at)

    def visible_to(self, user):
        """What ``user`` may open: everything for an editor of this model, else published()."""
        meta = self.model._meta
        if user.is_authenticated and user.has_perm(f"{meta.app_label}.change_{meta.model_name}"):
            return self.all()
        return self.published()


class Publishable(models.Model):
    state = models.CharField(
        _("公開状態"), max_length=16, choices=PublishState.choices, default=PublishState.DRAFT, db_index=True
    )
    published_at = models.DateTimeField(
        _("公開日時"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("公開にすると、空欄の場合は保存した日時が入ります。未来の日時にすると、その時まで公開されません。"),
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

    @property
    def is_public(self) -> bool:
        return (
            self.state == PublishState.PUBLISHED
            and self.published_at is not None
            and (self.published_at <= timezone.now())
        )
