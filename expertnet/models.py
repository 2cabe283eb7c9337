"""The 地域人材ネット registry: outside experts, their dispatches to municipalities, the
地域力創造セミナー, and municipalities' requests to be introduced to experts (相談申込)."""

import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.documents import DocumentFileMixin, validate_document
from portal.images import SafeImageField, make_renditions
from portal.publishing import PERMISSIONS, Publishable

# The rows of the 五十音 index, each with the first kana of its readings.
KANA_ROWS = [
    ("a", "あ", "あいうえおぁぃぅぇぉゔ"),
    ("ka", "か", "かきくけこがぎぐげご"),
    ("sa", "さ", "さしすせそざじずぜぞ"),
    ("ta", "た", "たちつてとだぢづでどっ"),
    ("na", "な", "なにぬねの"),
    ("ha", "は", "はひふへほばびぶべぼぱぴぷぺぽ"),
    ("ma", "ま", "まみむめも"),
    ("ya", "や", "やゆよゃゅょ"),
    ("ra", "ら", "らりるれろ"),
    ("wa", "わ", "わゐゑをん"),
]


def kana_row(reading: str) -> str:
    """The 五十音 row of a reading ("みほん さくら" -> "ma"); "" when it does not start with kana."""
    text = unicodedata.normalize("NFKC", reading or "").strip()
    if not text:
        return ""
    first = text[0]
    if "ァ" <= first <= "ヶ":  # katakana -> hiragana
        first = chr(ord(first) - 0x60)
    return next((key for key, _, letters in KANA_ROWS if first in letters), "")


class ExpertKind(models.TextChoices):
    PRIVATE = "private", _("民間専門家")
    MUNICIPAL = "municipal", _("先進市町村職員・組織")


class Expert(Publishable):
    """An outside expert of the registry. Business contact only: nothing private is stored."""

    slug = models.SlugField(_("スラッグ"), max_length=80, unique=True)
    name = models.CharField(_("氏名・名称"), max_length=100)
    name_kana = models.CharField(_("ふりがな"), max_length=100, help_text=_("ひらがなで、姓と名の間に空白を入れます"))
    kana_row = models.CharField(_("五十音の行"), max_length=2, editable=False, db_index=True)
    kind = models.CharField(_("種別"), max_length=16, choices=ExpertKind.choices, db_index=True)
    affiliation = models.CharField(_("所属"), max_length=200)
    job_title = models.CharField(_("役職"), max_length=100, blank=True)
    municipality = models.ForeignKey(
        "portal.Municipality",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff_experts",
        verbose_name=_("所属する市区町村"),
        help_text=_("先進市町村職員・組織の場合"),
    )
    base_prefecture = models.ForeignKey(
        "portal.Prefecture",
        on_delete=models.PROTECT,
        related_name="based_experts",
        verbose_name=_("活動拠点の都道府県"),
    )
    base_region = models.CharField(_("活動拠点の地方"), max_length=16, editable=False, db_index=True)
    recommending_prefecture = models.ForeignKey(
        "portal.Prefecture",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recommended_experts",
        verbose_name=_("推薦した都道府県"),
    )
    themes = models.ManyToManyField("portal.Theme", related_name="experts", verbose_name=_("分野"))
    # The fields again as bits (portal.models.theme_bit), kept in step by expertnet/signals.py, so
    # that the list filters and counts by field on the expert's own row.
    theme_mask = models.BigIntegerField(default=0, editable=False)
    registered_field = models.CharField(_("登録分野"), max_length=300, help_text=_("名簿に載せる分野を文章で"))
    profile = models.TextField(_("プロフィール"))
    photo = SafeImageField(
        _("写真"), upload_to="experts/", blank=True, width_field="photo_width", height_field="photo_height"
    )
    photo_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    photo_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    photo_alt = models.CharField(
        _("写真の代替テキスト"), max_length=200, blank=True, help_text=_("写真がある場合は必ず入力します")
    )
    profile_pdf = models.FileField(
        _("プロフィール(PDF)"), upload_to="experts/profiles/", blank=True, validators=[validate_document]
    )
    registered_year = models.PositiveSmallIntegerField(_("登録年度"), help_text=_("西暦で入力します"))
    last_active_year = models.PositiveSmallIntegerField(_("最終活動年度"), null=True, blank=True)
    contact_url = models.URLField(_("連絡先(ウェブサイト)"), blank=True, help_text=_("仕事用の連絡先だけを載せます"))
    case_studies = models.ManyToManyField(
        "casestudies.CaseStudy", blank=True, related_name="experts", verbose_name=_("関連する事例")
    )

    class Meta:
        ordering = ["name_kana", "id"]
        verbose_name = _("専門家")
        verbose_name_plural = _("専門家")
        default_permissions = PERMISSIONS
        indexes = [
            models.Index(fields=["state", "name_kana", "id"], name="expert_kana_idx"),
            models.Index(fields=["state", "kana_row", "name_kana"], name="expert_row_idx"),
            models.Index(
                fields=["state", "kind", "kana_row", "base_prefecture", "theme_mask", "published_at", "unpublish_at"],
                name="expert_facet_idx",
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.kana_row = kana_row(self.name_kana)
        self.base_region = self.base_prefecture.region if self.base_prefecture_id else ""
        new_photo = bool(self.photo) and not getattr(self.photo, "_committed", True)
        super().save(*args, **kwargs)
        if new_photo:
            make_renditions(self.photo)

    def clean(self):
        super().clean()
        errors = {}
        if self.photo and not self.photo_alt:
            errors["photo_alt"] = _("写真の内容を説明する代替テキストを入力してください。")
        if self.kind == ExpertKind.MUNICIPAL and not self.municipality_id:
            errors["municipality"] = _("先進市町村職員・組織の場合は、所属する市区町村を選んでください。")
        if self.last_active_year and self.registered_year and self.last_active_year < self.registered_year:
            errors["last_active_year"] = _("最終活動年度は登録年度以降にしてください。")
        if self.name_kana and not kana_row(self.name_kana):
            errors["name_kana"] = _("ふりがなは、ひらがなで入力してください。")
        if errors:
            raise ValidationError(errors)

    def get_absolute_url(self):
        return reverse("expertnet:expert", kwargs={"slug": self.slug})


class Dispatch(models.Model):
    """A dispatch (派遣実績): the expert's work with a municipality."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="dispatches", verbose_name=_("専門家"))
    municipality = models.ForeignKey(
        "portal.Municipality", on_delete=models.PROTECT, related_name="dispatches", verbose_name=_("派遣先の市区町村")
    )
    prefecture = models.ForeignKey(
        "portal.Prefecture", on_delete=models.PROTECT, related_name="dispatches", editable=False
    )
    year_start = models.PositiveSmallIntegerField(_("開始年度"))
    year_end = models.PositiveSmallIntegerField(_("終了年度"), null=True, blank=True, help_text=_("継続中は空欄"))
    days = models.PositiveSmallIntegerField(_("日数"), null=True, blank=True)
    visits = models.PositiveSmallIntegerField(_("訪問回数"), null=True, blank=True)
    summary = models.TextField(_("内容"))
    case = models.ForeignKey(
        "casestudies.CaseStudy",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dispatches",
        verbose_name=_("関連する事例"),
    )

    class Meta:
        ordering = ["-year_start", "id"]
        verbose_name = _("派遣実績")
        verbose_name_plural = _("派遣実績")

    def __str__(self):
        return f"{self.municipality} {self.year_start}"

    def save(self, *args, **kwargs):
        self.prefecture_id = self.municipality.prefecture_id
        super().save(*args, **kwargs)

    def clean(self):
        super().clean()
        if self.year_end and self.year_start and self.year_end < self.year_start:
            raise ValidationError({"year_end": _("終了年度は開始年度以降にしてください。")})


class Seminar(Publishable):
    """地域力創造セミナー: an event with a programme."""

    slug = models.SlugField(_("スラッグ"), max_length=80, unique=True)
    title = models.CharField(_("名称"), max_length=200)
    starts_at = models.DateTimeField(_("開始日時"), db_index=True)
    ends_at = models.DateTimeField(_("終了日時"))
    municipality = models.ForeignKey(
        "portal.Municipality", on_delete=models.PROTECT, related_name="seminars", verbose_name=_("開催地")
    )
    venue = models.CharField(_("会場"), max_length=200)
    theme = models.ForeignKey(
        "portal.Theme",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="seminars",
        verbose_name=_("テーマ"),
    )
    summary = models.TextField(_("概要"))
    capacity = models.PositiveIntegerField(_("定員"), null=True, blank=True)
    application = models.TextField(_("参加申込み"), blank=True, help_text=_("参加費・申込方法・締切など"))

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("セミナー")
        verbose_name_plural = _("セミナー")
        default_permissions = PERMISSIONS

    def __str__(self):
        return self.title

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at < self.starts_at:
            raise ValidationError({"ends_at": _("終了日時は開始日時より後にしてください。")})

    def get_absolute_url(self):
        return reverse("expertnet:seminar", kwargs={"slug": self.slug})


class SessionKind(models.TextChoices):
    LECTURE = "lecture", _("講演")
    PANEL = "panel", _("パネルディスカッション")
    SESSION = "session", _("分科会")
    EXCURSION = "excursion", _("現地視察")


class SeminarSession(models.Model):
    """One item of a seminar's programme."""

    seminar = models.ForeignKey(Seminar, on_delete=models.CASCADE, related_name="sessions", verbose_name=_("セミナー"))
    starts_at = models.DateTimeField(_("開始日時"))
    ends_at = models.DateTimeField(_("終了日時"), null=True, blank=True)
    kind = models.CharField(_("種類"), max_length=16, choices=SessionKind.choices)
    title = models.CharField(_("題目"), max_length=200)
    speakers = models.ManyToManyField(Expert, blank=True, related_name="sessions", verbose_name=_("登壇する専門家"))
    other_speakers = models.CharField(_("その他の登壇者"), max_length=300, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        verbose_name = _("プログラム")
        verbose_name_plural = _("プログラム")

    def __str__(self):
        return self.title


class SeminarDocument(DocumentFileMixin, models.Model):
    seminar = models.ForeignKey(Seminar, on_delete=models.CASCADE, related_name="documents", verbose_name=_("セミナー"))
    title = models.CharField(_("資料名"), max_length=200)
    file = models.FileField(_("ファイル"), upload_to="seminars/documents/", validators=[validate_document])
    file_size = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("資料")
        verbose_name_plural = _("資料")

    def __str__(self):
        return self.title


class RequestStatus(models.TextChoices):
    NEW = "new", _("新規")
    IN_PROGRESS = "in_progress", _("対応中")
    INTRODUCED = "introduced", _("紹介済")
    CLOSED = "closed", _("完了")


class ConsultationRequest(models.Model):
    """相談申込: a municipality asks to be introduced to experts. Saved before any mail is sent."""

    municipality = models.ForeignKey(
        "portal.Municipality",
        on_delete=models.PROTECT,
        related_name="consultation_requests",
        verbose_name=_("市区町村"),
    )
    department = models.CharField(_("担当部署"), max_length=200)
    contact_person = models.CharField(_("担当者名"), max_length=100)
    email = models.EmailField(_("メールアドレス"))
    phone = models.CharField(_("電話番号"), max_length=40)
    themes = models.ManyToManyField(
        "portal.Theme", blank=True, related_name="consultation_requests", verbose_name=_("相談したい分野")
    )
    message = models.TextField(_("相談内容"))
    preferred_experts = models.ManyToManyField(
        Expert, blank=True, related_name="consultation_requests", verbose_name=_("希望する専門家")
    )
    status = models.CharField(
        _("対応状況"), max_length=16, choices=RequestStatus.choices, default=RequestStatus.NEW, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_requests",
        verbose_name=_("担当者"),
    )
    staff_note = models.TextField(
        _("対応メモ"),
        blank=True,
        help_text=_(
            "紹介した専門家や対応の経過を書きます。個人情報(氏名、電話番号など)は書かないでください。保存期間を過ぎても残ります。"
        ),
    )
    client_hash = models.CharField(max_length=64, editable=False, db_index=True)  # keyed hash of the sender's address
    created_at = models.DateTimeField(_("受付日時"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)
    closed_at = models.DateTimeField(_("完了日時"), null=True, blank=True, editable=False)
    personal_data_erased_at = models.DateTimeField(_("個人情報の削除日時"), null=True, blank=True, editable=False)
    confirmation_sent_at = models.DateTimeField(_("受付メールの送信日時"), null=True, blank=True, editable=False)
    notice_sent_at = models.DateTimeField(_("職員への通知の送信日時"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("相談申込")
        verbose_name_plural = _("相談申込")

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d} {self.municipality}"

    @property
    def reference(self) -> str:
        """The number the requester quotes: R-000123."""
        return f"R-{self.pk:06d}"


class RequestEvent(models.Model):
    """The history of a request: every change of status or assignee, by whom and when."""

    request = models.ForeignKey(ConsultationRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("日時"), auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("職員")
    )
    description = models.CharField(_("内容"), max_length=300)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("対応履歴")
        verbose_name_plural = _("対応履歴")

    def __str__(self):
        return self.description
