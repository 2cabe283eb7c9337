import json

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.publishing import PERMISSIONS, Publishable


class Region(models.TextChoices):
    """The eight regions (地方区分) the portal groups prefectures by."""

    HOKKAIDO = "hokkaido", _("北海道")
    TOHOKU = "tohoku", _("東北")
    KANTO = "kanto", _("関東")
    CHUBU = "chubu", _("中部")
    KINKI = "kinki", _("近畿")
    CHUGOKU = "chugoku", _("中国")
    SHIKOKU = "shikoku", _("四国")
    KYUSHU_OKINAWA = "kyushu_okinawa", _("九州・沖縄")

    @classmethod
    def for_prefecture(cls, number: int) -> "Region":
        """The region of the prefecture with JIS X 0401 number 1-47."""
        bounds = [
            (1, cls.HOKKAIDO),
            (7, cls.TOHOKU),
            (14, cls.KANTO),
            (23, cls.CHUBU),
            (30, cls.KINKI),
            (35, cls.CHUGOKU),
            (39, cls.SHIKOKU),
            (47, cls.KYUSHU_OKINAWA),
        ]
        if not 1 <= number <= 47:
            raise ValueError(f"no prefecture number {number}")
        return next(region for last, region in bounds if number <= last)


class Prefecture(models.Model):
    """One of the 47 prefectures, keyed by its two-digit JIS X 0401 number ("01"-"47")."""

    code = models.CharField(_("都道府県コード"), max_length=2, primary_key=True)
    lgcode = models.CharField(_("全国地方公共団体コード"), max_length=6, unique=True)
    name = models.CharField(_("名称"), max_length=8)
    name_kana = models.CharField(_("よみがな"), max_length=16)
    short_name = models.CharField(_("略称"), max_length=4)
    name_en = models.CharField(_("英語名"), max_length=16)
    region = models.CharField(_("地方"), max_length=16, choices=Region.choices, db_index=True)
    url = models.URLField(_("ウェブサイト"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("都道府県")
        verbose_name_plural = _("都道府県")

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        from django.utils.translation import get_language

        return self.name_en if get_language() == "en" else self.name


class MunicipalityKind(models.TextChoices):
    CITY = "city", _("市")
    SPECIAL_WARD = "special_ward", _("特別区")
    TOWN = "town", _("町")
    VILLAGE = "village", _("村")
    WARD = "ward", _("政令指定都市の区")


class Municipality(models.Model):
    """A municipality (市区町村) or a ward of a designated city, keyed by 全国地方公共団体コード."""

    code = models.CharField(_("全国地方公共団体コード"), max_length=6, primary_key=True)
    prefecture = models.ForeignKey(
        Prefecture, on_delete=models.PROTECT, related_name="municipalities", verbose_name=_("都道府県")
    )
    name = models.CharField(_("名称"), max_length=32)
    name_kana = models.CharField(_("よみがな"), max_length=64)
    kind = models.CharField(_("種別"), max_length=16, choices=MunicipalityKind.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="wards",
        verbose_name=_("所属する市"),
        help_text=_("政令指定都市の区の場合、その市"),
    )
    url = models.URLField(_("ウェブサイト"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("市区町村")
        verbose_name_plural = _("市区町村")

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        """The name as written in addresses: 札幌市中央区, not 中央区."""
        return f"{self.parent.name}{self.name}" if self.kind == MunicipalityKind.WARD and self.parent_id else self.name


def theme_bit(theme_id: int) -> int:
    """A theme as one bit of a BigIntegerField (CaseStudy.theme_mask, Expert.theme_mask), so that lists
    filter and count by theme on their own rows, without a join."""
    if not 0 < theme_id < 63:
        raise ValueError(f"theme id {theme_id} does not fit the 63 bits of a theme mask")
    return 1 << theme_id


class Theme(models.Model):
    """A field of regional policy (the 13 fields of 地域力創造アドバイザー): one taxonomy shared by
    case studies and experts, so that they cross-link."""

    key = models.SlugField(_("キー"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "key"]
        verbose_name = _("テーマ")
        verbose_name_plural = _("テーマ")

    def __str__(self):
        return self.name


class Page(Publishable):
    """A site page editors keep in admin: about, accessibility, privacy, terms, contact."""

    slug = models.SlugField(_("スラッグ"), max_length=64, unique=True, help_text=_("URL の一部(半角英数字)"))
    title = models.CharField(_("タイトル"), max_length=200)
    lead = models.TextField(_("リード文"), blank=True)
    body = models.TextField(_("本文"), help_text=_("Markdown で記述します。HTML は安全なものだけが表示されます。"))
    order = models.PositiveSmallIntegerField(_("表示順"), default=100)

    class Meta:
        ordering = ["order", "slug"]
        verbose_name = _("サイトページ")
        verbose_name_plural = _("サイトページ")
        default_permissions = PERMISSIONS

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("portal:page", kwargs={"slug": self.slug})


class NewsItem(Publishable):
    """新着情報: an announcement editors publish."""

    slug = models.SlugField(_("スラッグ"), max_length=80, unique=True, help_text=_("URL の一部(半角英数字)"))
    title = models.CharField(_("タイトル"), max_length=200)
    summary = models.TextField(_("概要"), blank=True, help_text=_("一覧に表示する短い説明"))
    body = models.TextField(_("本文"), help_text=_("Markdown で記述します。"))
    initiative = models.ForeignKey(
        "initiatives.Initiative",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="news",
        verbose_name=_("関連する取組"),
    )

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("新着情報")
        verbose_name_plural = _("新着情報")
        default_permissions = PERMISSIONS
        indexes = [models.Index(fields=["state", "-published_at"], name="news_public_idx")]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("portal:news_detail", kwargs={"slug": self.slug})


class SearchEntry(models.Model):
    """One object in one language, as the search engine reads it (portal.search).

    The token index lives beside it: an FTS5 table per language on SQLite (rowid = rank_key), and
    on PostgreSQL the narrow table portal_searchtokens (entry, language, kind, tokens[],
    title_tokens[]) with GIN indexes. Rows are written only by portal.search.engine, on save,
    publish, unpublish and delete.
    """

    kind = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    language = models.CharField(max_length=8)
    rank_key = models.BigIntegerField(help_text="kind, then date to the minute, then object id: see engine.rank_key")
    url = models.CharField(max_length=400)
    title = models.CharField(max_length=500)
    body = models.TextField()
    title_norm = models.TextField()
    body_norm = models.TextField()
    date = models.DateTimeField()
    published_at = models.DateTimeField()
    unpublish_at = models.DateTimeField(null=True, blank=True)
    is_sample = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("検索索引")
        verbose_name_plural = _("検索索引")
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id", "language"], name="search_entry_object"),
            models.UniqueConstraint(fields=["language", "rank_key"], name="search_entry_rank"),
        ]
        indexes = [
            models.Index(fields=["language", "kind", "-date", "-rank_key"], name="search_entry_recent"),
            models.Index(fields=["published_at"], name="search_entry_published"),
            models.Index(fields=["unpublish_at"], name="search_entry_unpublish"),
        ]

    def __str__(self):
        return f"{self.kind}:{self.object_id}:{self.language}"


class TokenArrayField(models.Field):
    """A text[] column on PostgreSQL; on SQLite the column exists but stays empty (FTS5 holds the
    tokens there)."""

    def db_type(self, connection):
        return "text[]" if connection.vendor == "postgresql" else "text"

    # Serialised (dumpdata, the test runner's saved database state) as a JSON list.
    def value_to_string(self, obj):
        return json.dumps(self.value_from_object(obj), ensure_ascii=False)

    def to_python(self, value):
        return json.loads(value) if isinstance(value, str) else value

    def get_prep_value(self, value):
        return self.to_python(value)


class SearchTokens(models.Model):
    """PostgreSQL's token index: one narrow row per SearchEntry, with GIN indexes over the arrays
    (created in migration 0009). Narrow on purpose: counting matches visits each matching row, and
    a few hundred pages of these rows answer where the wide entry table needed tens of thousands."""

    entry = models.OneToOneField(SearchEntry, on_delete=models.CASCADE, primary_key=True, related_name="+")
    language = models.CharField(max_length=8)
    kind = models.CharField(max_length=32)
    tokens = TokenArrayField()
    title_tokens = TokenArrayField()

    class Meta:
        verbose_name = _("検索語の索引")
        verbose_name_plural = _("検索語の索引")

    def __str__(self):
        return str(self.entry_id)


class AuditEvent(models.Model):
    """One line of the audit log: who did what, when, from which address, to which object.

    Written by portal.audit.record() and by its receivers of the login signals; never changed or
    deleted afterwards (the model has only the view permission, and its admin is read-only).
    """

    class Action(models.TextChoices):
        LOGIN = "login", _("ログイン")
        LOGOUT = "logout", _("ログアウト")
        LOGIN_FAILED = "login_failed", _("ログイン失敗")
        LOCKED_OUT = "locked_out", _("ロックアウト")
        PUBLISH = "publish", _("公開")
        SCHEDULE = "schedule", _("公開予約")
        WITHDRAW = "withdraw", _("公開取り下げ")
        ARCHIVE = "archive", _("アーカイブ")
        RESTORE = "restore", _("版の復元")
        RECOVER = "recover", _("削除した項目の復元")
        DELETE = "delete", _("削除")

    at = models.DateTimeField(_("日時"), default=timezone.now, db_index=True)
    action = models.CharField(_("操作"), max_length=20, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ユーザー"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    # Kept when the user is deleted; for a failed login, the name that was typed.
    username = models.CharField(_("ユーザー名"), max_length=150, blank=True)
    ip = models.GenericIPAddressField(_("IP アドレス"), null=True, blank=True)
    content_type = models.ForeignKey(
        ContentType, verbose_name=_("対象の種類"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    object_id = models.CharField(_("対象の ID"), max_length=64, blank=True)
    object_repr = models.CharField(_("対象"), max_length=200, blank=True)
    detail = models.TextField(_("詳細"), blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")
        # Nobody adds, changes or deletes audit events, in the admin or elsewhere: view only.
        default_permissions = ("view",)
        indexes = [models.Index(fields=["content_type", "object_id"], name="audit_event_object")]

    def __str__(self):
        return f"{self.get_action_display()} {self.username} {self.object_repr}".strip()


class CacheTag(models.Model):
    """The version of a table as the page cache sees it (portal/pagecache.py): bumped after each
    committed change to the table; a stored page is served only while no table it read is newer."""

    tag = models.CharField(max_length=100, unique=True)
    version = models.BigIntegerField(db_index=True)

    class Meta:
        verbose_name = _("ページキャッシュの版")
        verbose_name_plural = _("ページキャッシュの版")
        default_permissions = ()

    def __str__(self):
        return f"{self.tag} {self.version}"
