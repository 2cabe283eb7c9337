"""Open data of the case-study list: CSV (UTF-8 with BOM for Excel, or plain UTF-8), JSON and Atom,
from the same URL filters as the list. Licence: 公共データ利用規約(第1.0版) (PDL1.0)."""

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from casestudies import selectors
from portal.models import Theme
from portal.opendata import ListExports, ListFeed

# (column, description) in the order of the CSV; docs on /casestudies/opendata/.
FIELDS = [
    ("id", gettext_lazy("事例の識別子(URLの一部)")),
    ("url", gettext_lazy("事例のページ")),
    ("title_ja", gettext_lazy("事例名(日本語)")),
    ("title_en", gettext_lazy("事例名(英語)")),
    ("subtitle_ja", gettext_lazy("副題")),
    ("prefecture_code", gettext_lazy("都道府県コード(JIS X 0401)")),
    ("prefecture", gettext_lazy("都道府県名")),
    ("municipality_codes", gettext_lazy("全国地方公共団体コード(複数は | で区切る)")),
    ("municipalities", gettext_lazy("市区町村名(複数は | で区切る)")),
    ("organisation_ja", gettext_lazy("取組主体")),
    ("themes", gettext_lazy("テーマのキー(複数は | で区切る)")),
    ("fiscal_year_start", gettext_lazy("取組開始年度(西暦)")),
    ("fiscal_year_end", gettext_lazy("取組終了年度(西暦、継続中は空欄)")),
    ("edition", gettext_lazy("掲載年度版(西暦)")),
    ("award", gettext_lazy("表彰区分")),
    ("population", gettext_lazy("人口")),
    ("population_date", gettext_lazy("人口の基準日(ISO 8601)")),
    ("summary_ja", gettext_lazy("概要(日本語)")),
    ("summary_en", gettext_lazy("概要(英語)")),
    ("is_sample", gettext_lazy("サンプルデータなら true")),
    ("published_at", gettext_lazy("掲載日時(ISO 8601)")),
    ("updated_at", gettext_lazy("最終更新日時(ISO 8601)")),
]


def filtered_cases(request):
    theme_ids = dict(Theme.objects.values_list("key", "pk"))
    filters = selectors.parse_filters(request.GET, theme_keys=set(theme_ids))
    ids = selectors.keyword_ids(filters, language=get_language())
    cases = selectors.filtered(filters, theme_ids=theme_ids)
    if ids is not None:
        cases = cases.filter(pk__in=ids)
    return (
        cases.select_related("prefecture")
        .prefetch_related("themes", "municipalities__parent")
        .order_by("-edition", "-fiscal_year_start", "-id")
    )


def row(request, case) -> dict:
    municipalities = list(case.municipalities.all())
    return {
        "id": case.slug,
        "url": request.build_absolute_uri(case.get_absolute_url()),
        "title_ja": case.title_ja,
        "title_en": case.title_en or "",
        "subtitle_ja": case.subtitle_ja or "",
        "prefecture_code": case.prefecture_id,
        "prefecture": case.prefecture.name,
        "municipality_codes": "|".join(m.code for m in municipalities),
        "municipalities": "|".join(m.full_name for m in municipalities),
        "organisation_ja": case.organisation_ja,
        "themes": "|".join(t.key for t in case.themes.all()),
        "fiscal_year_start": case.fiscal_year_start,
        "fiscal_year_end": case.fiscal_year_end or "",
        "edition": case.edition,
        "award": case.get_award_display() if case.award else "",
        "population": case.population or "",
        "population_date": case.population_date.isoformat() if case.population_date else "",
        "summary_ja": case.summary_ja,
        "summary_en": case.summary_en or "",
        "is_sample": "true" if case.is_sample else "false",
        "published_at": case.published_at.isoformat() if case.published_at else "",
        "updated_at": case.updated_at.isoformat(),
    }


EXPORTS = ListExports(filtered=filtered_cases, row=row, fields=FIELDS, name="casestudies", key="cases")
export_csv_excel, export_csv, export_json = EXPORTS.csv_excel, EXPORTS.csv, EXPORTS.json


class CaseFeed(ListFeed):
    list_url_name = "casestudies:list"

    def filtered(self, request):
        return filtered_cases(request)

    def title(self, request):
        return _("地域力創造優良事例集") + " | " + _("地域力創造ポータル")

    def subtitle(self, request):
        return _("全国の地域づくりの優良事例を、キーワード、地域、テーマ、年度、人口規模で探せます。")

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.summary


case_feed = require_safe(CaseFeed())
