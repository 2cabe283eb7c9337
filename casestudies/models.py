from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.documents import DocumentFileMixin, validate_document
from portal.images import SafeImageField, make_renditions
from portal.publishing import PERMISSIONS, Publishable


class PopulationBand(models.TextChoices):
    """Population bands of the list's filter (人口規模)."""

    UNDER_5K = "u5k", _("5千人未満")
    FROM_5K = "5k-10k", _("5千人以上1万人未満")
    FROM_10K = "10k-50k", _("1万人以上5万人未満")
    FROM_50K = "50k-200k", _("5万人以上20万人未満")
    OVER_200K = "200k", _("20万人以上")

    @classmethod
    def for_population(cls, population: int | None) -> str:
        if population is None:
            return ""
        for limit, band in (
            (5_000, cls.UNDER_5K),
            (10_000, cls.FROM_5K),
            (50_000, cls.FROM_10K),
            (200_000, cls.FROM_50K),
        ):
            if population < limit:
                return band
        return cls.OVER_200K


class Award(models.TextChoices):
    NONE = "", _("なし")
    MINISTER = "minister", _("総務大臣賞")
    EXCELLENCE = "excellence", _("優秀賞")


class Scheme(models.Model):
    """A scheme a case used (利用した制度): 地域おこし協力隊, 特別交付税 …"""

    key = models.SlugField(_("キー"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "key"]
        verbose_name = _("利用した制度")
        verbose_name_plural = _("利用した制度")

    def __str__(self):
        return self.name


LIST_ORDER_NEW = ["-edition", "-fiscal_year_start", "-id"]
LIST_FILTERS = [
    "region",
    "prefecture",
    "population_band",
    "theme_mask",
    "fiscal_year_end",
    "published_at",
    "unpublish_at",
]


def _but(column: str) -> list[str]:
    return [c for c in LIST_FILTERS if c != column]


class CaseStudy(Publishable):
    """A good practice of the 地域力創造優良事例集, after the デジタル庁 GIF 事例データモデル."""

    slug = models.SlugField(_("スラッグ"), max_length=80, unique=True)
    title = models.CharField(_("事例名"), max_length=200)
    subtitle = models.CharField(_("副題"), max_length=200, blank=True)
    fiscal_year_start = models.PositiveSmallIntegerField(_("取組開始年度"), help_text=_("西暦で入力します(例: 2019)"))
    fiscal_year_end = models.PositiveSmallIntegerField(
        _("取組終了年度"), null=True, blank=True, help_text=_("継続中の場合は空欄にします")
    )
    municipalities = models.ManyToManyField(
        "portal.Municipality", related_name="case_studies", verbose_name=_("市区町村")
    )
    prefecture = models.ForeignKey(
        "portal.Prefecture",
        on_delete=models.PROTECT,
        related_name="case_studies",
        verbose_name=_("都道府県"),
        help_text=_("主な市区町村の都道府県"),
    )
    region = models.CharField(_("地方"), max_length=16, editable=False, db_index=True)
    organisation = models.CharField(_("取組主体"), max_length=200)
    organisation_kana = models.CharField(_("取組主体のよみがな"), max_length=200, blank=True)
    themes = models.ManyToManyField("portal.Theme", related_name="case_studies", verbose_name=_("テーマ"))
    # The themes again as bits (1 << theme id), kept in step by casestudies/facets.py, so that the
    # list filters by theme on the case's own row, without a join.
    theme_mask = models.BigIntegerField(default=0, editable=False)
    keywords = models.CharField(_("キーワード"), max_length=300, blank=True, help_text=_("読点(、)で区切ります"))
    summary = models.TextField(_("概要"))
    purpose = models.TextField(_("目的"), blank=True)
    activities = models.TextField(_("取組内容"), blank=True, help_text=_("Markdown で記述します。"))
    results = models.TextField(_("成果"), blank=True)
    lessons = models.TextField(_("学んだこと"), blank=True)
    sustainability = models.TextField(_("持続させる仕組み"), blank=True)
    schemes = models.ManyToManyField(Scheme, blank=True, related_name="case_studies", verbose_name=_("利用した制度"))
    population = models.PositiveIntegerField(_("人口"), null=True, blank=True)
    population_date = models.DateField(_("人口の基準日"), null=True, blank=True)
    population_band = models.CharField(
        _("人口規模"), max_length=16, choices=PopulationBand.choices, blank=True, editable=False, db_index=True
    )
    edition = models.PositiveSmallIntegerField(_("掲載年度版"), db_index=True, help_text=_("優良事例集の年度(西暦)"))
    award = models.CharField(_("表彰区分"), max_length=16, choices=Award.choices, blank=True)
    video_url = models.URLField(_("動画のURL"), blank=True)
    contact_department = models.CharField(_("問い合わせ先(部署)"), max_length=200, blank=True)
    contact_phone = models.CharField(_("問い合わせ先(電話)"), max_length=40, blank=True)
    contact_email = models.EmailField(_("問い合わせ先(メール)"), blank=True)
    contact_url = models.URLField(_("問い合わせ先(URL)"), blank=True)
    related = models.ManyToManyField("self", blank=True, verbose_name=_("関連する事例"))
    initiatives = models.ManyToManyField(
        "initiatives.Initiative", blank=True, related_name="case_studies", verbose_name=_("関連する取組")
    )

    class Meta:
        ordering = ["-edition", "-published_at", "-id"]
        verbose_name = _("事例")
        verbose_name_plural = _("事例")
        default_permissions = PERMISSIONS
        indexes = [
            models.Index(fields=["state", "region", "prefecture"], name="case_place_idx"),
            models.Index(fields=["state", "fiscal_year_start", "fiscal_year_end"], name="case_year_idx"),
            # The list reads a page in its order from one of these, checking the filters on the
            # index entry itself (every filtered column is in it), so no case row is read until the
            # page's 20 are known (docs/decisions/0007-case-study-facets.md).
            models.Index(fields=["state", *LIST_ORDER_NEW, *LIST_FILTERS], name="case_newest_idx"),
            models.Index(fields=["state", "region", *LIST_ORDER_NEW, *_but("region")], name="case_region_new_idx"),
            models.Index(
                fields=["state", "prefecture", *LIST_ORDER_NEW, *_but("prefecture")], name="case_pref_new_idx"
            ),
            models.Index(fields=["state", "organisation_kana", "id", *LIST_FILTERS], name="case_kana_idx"),
            # The keyword list reads the filter values of up to 10,000 hits by id.
            models.Index(
                fields=["id", "state", "fiscal_year_start", "edition", "organisation_kana", *LIST_FILTERS],
                name="case_hit_idx",
            ),
            models.Index(
                fields=["state", "prefecture", "organisation_kana", "id", *_but("prefecture")],
                name="case_pref_kana_idx",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        self.region = self.prefecture.region if self.prefecture_id else ""
        self.population_band = PopulationBand.for_population(self.population)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("casestudies:detail", kwargs={"slug": self.slug})

    def clean(self):
        super().clean()
        if self.fiscal_year_end and self.fiscal_year_start and self.fiscal_year_end < self.fiscal_year_start:
            raise ValidationError({"fiscal_year_end": _("終了年度は開始年度以降にしてください。")})

    @property
    def keyword_list(self) -> list[str]:
        return [k.strip() for k in (self.keywords or "").replace(",", "、").split("、") if k.strip()]


class CaseFigure(models.Model):
    """A result in figures (成果の数値): 移住者数 48 人."""

    case = models.ForeignKey(CaseStudy, on_delete=models.CASCADE, related_name="figures", verbose_name=_("事例"))
    label = models.CharField(_("項目"), max_length=100)
    value = models.DecimalField(_("数値"), max_digits=14, decimal_places=2)
    unit = models.CharField(_("単位"), max_length=30, blank=True)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("成果の数値")
        verbose_name_plural = _("成果の数値")

    def __str__(self):
        return f"{self.label} {self.value}{self.unit}"

    @property
    def display_value(self) -> str:
        return f"{self.value.normalize():,f}" if self.value == self.value.to_integral() else f"{self.value:,}"


class CaseLink(models.Model):
    case = models.ForeignKey(CaseStudy, on_delete=models.CASCADE, related_name="links", verbose_name=_("事例"))
    label = models.CharField(_("リンクの名前"), max_length=200)
    url = models.URLField(_("URL"), max_length=500)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("関連リンク")
        verbose_name_plural = _("関連リンク")

    def __str__(self):
        return self.label


class CaseImage(models.Model):
    case = models.ForeignKey(CaseStudy, on_delete=models.CASCADE, related_name="images", verbose_name=_("事例"))
    image = SafeImageField(_("画像"), upload_to="casestudies/", width_field="width", height_field="height")
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)
    alt = models.CharField(_("代替テキスト"), max_length=200, help_text=_("画像の内容を文章で説明します。"))
    caption = models.CharField(_("キャプション"), max_length=200, blank=True)
    licence = models.CharField(_("利用条件・提供元"), max_length=200, help_text=_("例: 提供 ○○町(PDL1.0)"))
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("画像")
        verbose_name_plural = _("画像")

    def __str__(self):
        return self.alt

    def save(self, *args, **kwargs):
        new = self.pk is None or not getattr(self.image, "_committed", True)
        super().save(*args, **kwargs)
        if new and self.image:
            make_renditions(self.image)


class CaseAttachment(DocumentFileMixin, models.Model):
    case = models.ForeignKey(CaseStudy, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("事例"))
    title = models.CharField(_("資料名"), max_length=200)
    file = models.FileField(_("ファイル"), upload_to="casestudies/documents/", validators=[validate_document])
    file_size = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("添付資料")
        verbose_name_plural = _("添付資料")

    def __str__(self):
        return self.title


class FacetCell(models.Model):
    """How many public cases share a prefecture, population band, theme and fiscal year.

    The list's facet counts read a few dozen of these rows instead of counting 100,000 cases on
    every request. ``theme`` 0, ``year`` 0, prefecture "" and band "*" mean "any": each case counts
    once there, so that a facet without other filters reads one row per value. The rows are
    rebuilt from the cases after every change and whenever a scheduled case goes public or the
    fiscal year turns (casestudies/facets.py, docs/decisions/0007-case-study-facets.md).
    """

    prefecture = models.CharField(max_length=2)
    band = models.CharField(max_length=16, blank=True)
    theme = models.IntegerField()
    year = models.SmallIntegerField()
    n = models.IntegerField()

    class Meta:
        # One covering index per facet query of casestudies.facets._read: each reads a narrow slice.
        indexes = [
            models.Index(fields=["theme", "year", "band", "prefecture", "n"], name="case_facet_pref_idx"),
            models.Index(fields=["year", "prefecture", "band", "theme", "n"], name="case_facet_theme_idx"),
            models.Index(fields=["theme", "prefecture", "band", "year", "n"], name="case_facet_year_idx"),
            models.Index(fields=["theme", "year", "prefecture", "band", "n"], name="case_facet_band_idx"),
        ]

    def __str__(self):
        return f"{self.prefecture} {self.band or '-'} theme {self.theme} year {self.year}: {self.n}"


class FacetState(models.Model):
    """One row: when the facet counts were built and the moment (epoch seconds) until which they
    hold; 0 means "stale, rebuild before reading"."""

    built_at = models.DateTimeField()
    valid_until = models.BigIntegerField(default=0)
    version = models.BigIntegerField(default=0)  # changes with every rebuild: keys of cached list cards

    def __str__(self):
        return f"built {self.built_at:%Y-%m-%d %H:%M}, valid until {self.valid_until}"
