from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.documents import DocumentFileMixin, validate_document
from portal.images import SafeImageField, make_renditions
from portal.publishing import PERMISSIONS, Publishable


class InitiativeStatus(models.TextChoices):
    ACTIVE = "active", _("実施中")
    PAST = "past", _("これまでの取組")


class Initiative(Publishable):
    """A program of 地域力創造グループ (地域力強化戦略本部, 緑の分権改革, 域学連携 …)."""

    slug = models.SlugField(_("スラッグ"), max_length=80, unique=True, help_text=_("URL の一部(半角英数字とハイフン)"))
    title = models.CharField(_("名称"), max_length=200)
    short_name = models.CharField(_("略称"), max_length=60, blank=True, help_text=_("一覧やパンくずで使う短い名前"))
    summary = models.TextField(_("概要"), help_text=_("一覧に表示する要約(200字程度)"))
    body = models.TextField(
        _("本文"), blank=True, help_text=_("Markdown で記述します。見出しは ## から始めてください。")
    )
    status = models.CharField(
        _("実施状況"), max_length=16, choices=InitiativeStatus.choices, default=InitiativeStatus.PAST, db_index=True
    )
    office = models.CharField(_("所管課室"), max_length=200, blank=True)
    contact = models.TextField(_("問い合わせ先"), blank=True, help_text=_("電話番号、メールアドレスなど(業務用のもの)"))
    image = SafeImageField(
        _("画像"),
        upload_to="initiatives/",
        blank=True,
        width_field="image_width",
        height_field="image_height",
    )
    image_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    image_alt = models.CharField(
        _("画像の代替テキスト"),
        max_length=200,
        blank=True,
        help_text=_("画像の内容を文章で説明します。画像があるときは必須です。"),
    )
    order = models.PositiveSmallIntegerField(_("表示順"), default=100, db_index=True)
    related = models.ManyToManyField("self", blank=True, verbose_name=_("関連する取組"))

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("取組")
        verbose_name_plural = _("取組")
        default_permissions = PERMISSIONS
        indexes = [models.Index(fields=["state", "status", "order"], name="initiative_list_idx")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("initiatives:detail", kwargs={"slug": self.slug})

    @property
    def display_name(self) -> str:
        return self.short_name or self.title

    def clean(self):
        super().clean()
        if self.image and not (self.image_alt_ja if hasattr(self, "image_alt_ja") else self.image_alt):
            raise ValidationError({"image_alt_ja": _("画像の代替テキストを入力してください。")})

    def save(self, *args, **kwargs):
        image_changed = self._image_changed()
        super().save(*args, **kwargs)
        if image_changed and self.image:
            make_renditions(self.image)

    def _image_changed(self) -> bool:
        if not self.image:
            return False
        if self.pk is None:
            return True
        old = type(self).objects.filter(pk=self.pk).values_list("image", flat=True).first()
        return old != self.image.name or not getattr(self.image, "_committed", True)


class InitiativeLink(models.Model):
    """A named link: the seed page's 「詳細はこちら」 and the like."""

    initiative = models.ForeignKey(Initiative, on_delete=models.CASCADE, related_name="links", verbose_name=_("取組"))
    label = models.CharField(_("リンクの名前"), max_length=200, help_text=_("リンク先の内容が分かる名前"))
    url = models.URLField(_("URL"), max_length=500)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("関連リンク")
        verbose_name_plural = _("関連リンク")

    def __str__(self):
        return self.label


class Meeting(models.Model):
    """A meeting of a program (有識者会議, 推進会議 …): 日時, 場所, 議事次第, 資料, 議事録."""

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="meetings", verbose_name=_("取組")
    )
    title = models.CharField(_("会議名"), max_length=200, help_text=_("例: 第1回 地域力創造に関する有識者会議"))
    held_at = models.DateTimeField(_("日時"))
    place = models.CharField(_("場所"), max_length=200, blank=True)
    agenda = models.TextField(_("議事次第"), blank=True, help_text=_("Markdown で記述します。"))
    minutes = models.TextField(_("議事録(議事要旨)"), blank=True, help_text=_("Markdown で記述します。"))

    class Meta:
        ordering = ["-held_at", "-id"]
        verbose_name = _("会議")
        verbose_name_plural = _("会議")

    def __str__(self):
        return self.title


class InitiativeDocument(DocumentFileMixin, models.Model):
    """A document (資料) of a program, or of one of its meetings."""

    initiative = models.ForeignKey(
        Initiative, on_delete=models.CASCADE, related_name="documents", verbose_name=_("取組")
    )
    meeting = models.ForeignKey(
        Meeting,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name=_("会議"),
        help_text=_("会議の資料の場合に選びます"),
    )
    title = models.CharField(_("資料名"), max_length=200)
    file = models.FileField(_("ファイル"), upload_to="documents/", validators=[validate_document])
    file_size = models.PositiveBigIntegerField(_("ファイルサイズ"), null=True, blank=True, editable=False)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("資料")
        verbose_name_plural = _("資料")

    def __str__(self):
        return self.title

    def clean(self):
        super().clean()
        if self.meeting_id and self.initiative_id and self.meeting.initiative_id != self.initiative_id:
            raise ValidationError({"meeting": _("この取組の会議を選んでください。")})
