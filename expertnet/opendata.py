"""Open data of the expert list: CSV (UTF-8 with BOM for Excel, or plain UTF-8), JSON and Atom, from
the same URL filters as the list, with public fields only (business contact; nothing private).
Licence: 公共データ利用規約(第1.0版) (PDL1.0)."""

from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from expertnet import selectors
from portal import listing
from portal.opendata import ListExports, ListFeed

# (column, description) in the order of the CSV; documented on /expertnet/opendata/.
FIELDS = [
    ("id", gettext_lazy("専門家の識別子(URLの一部)")),
    ("url", gettext_lazy("専門家のページ")),
    ("name_ja", gettext_lazy("氏名・名称(日本語)")),
    ("name_en", gettext_lazy("氏名・名称(英語)")),
    ("name_kana", gettext_lazy("ふりがな")),
    ("kind", gettext_lazy("種別(private: 民間専門家、municipal: 先進市町村職員・組織)")),
    ("affiliation_ja", gettext_lazy("所属")),
    ("job_title_ja", gettext_lazy("役職")),
    ("base_prefecture_code", gettext_lazy("活動拠点の都道府県コード(JIS X 0401)")),
    ("recommending_prefecture_code", gettext_lazy("推薦した都道府県のコード")),
    ("municipality_code", gettext_lazy("所属する市区町村の全国地方公共団体コード(先進市町村職員・組織)")),
    ("themes", gettext_lazy("分野のキー(複数は | で区切る)")),
    ("registered_field_ja", gettext_lazy("登録分野")),
    ("registered_year", gettext_lazy("登録年度(西暦)")),
    ("last_active_year", gettext_lazy("最終活動年度(西暦)")),
    ("dispatch_count", gettext_lazy("派遣実績の件数")),
    ("contact_url", gettext_lazy("連絡先(ウェブサイト)")),
    ("is_sample", gettext_lazy("サンプルデータなら true")),
    ("updated_at", gettext_lazy("最終更新日時(ISO 8601)")),
]


def filtered_experts(request):
    themes = listing.themes()
    theme_ids = {t.key: t.pk for t in themes}
    filters = selectors.parse_filters(request.GET, theme_keys=set(theme_ids))
    ids = selectors.keyword_ids(filters, language=get_language())
    return (
        selectors.filtered(filters, theme_ids=theme_ids, ids=ids)
        .select_related("base_prefecture")
        .prefetch_related("themes", "dispatches")
        .order_by("name_kana", "id")
    )


def row(request, expert) -> dict:
    return {
        "id": expert.slug,
        "url": request.build_absolute_uri(expert.get_absolute_url()),
        "name_ja": expert.name_ja,
        "name_en": expert.name_en or "",
        "name_kana": expert.name_kana,
        "kind": expert.kind,
        "affiliation_ja": expert.affiliation_ja,
        "job_title_ja": expert.job_title_ja or "",
        "base_prefecture_code": expert.base_prefecture_id,
        "recommending_prefecture_code": expert.recommending_prefecture_id or "",
        "municipality_code": expert.municipality_id or "",
        "themes": "|".join(t.key for t in expert.themes.all()),
        "registered_field_ja": expert.registered_field_ja,
        "registered_year": expert.registered_year,
        "last_active_year": expert.last_active_year or "",
        "dispatch_count": len(expert.dispatches.all()),
        "contact_url": expert.contact_url,
        "is_sample": "true" if expert.is_sample else "false",
        "updated_at": expert.updated_at.isoformat(),
    }


EXPORTS = ListExports(filtered=filtered_experts, row=row, fields=FIELDS, name="experts", key="experts")
export_csv_excel, export_csv, export_json = EXPORTS.csv_excel, EXPORTS.csv, EXPORTS.json


class ExpertFeed(ListFeed):
    list_url_name = "expertnet:list"

    def filtered(self, request):
        return filtered_experts(request).order_by("-updated_at", "-id")

    def title(self, request):
        return _("地域人材ネット") + " | " + _("地域力創造ポータル")

    def subtitle(self, request):
        return _("市町村が招く外部専門家(民間専門家と先進市町村の職員)の名簿です。")

    def item_title(self, item):
        return f"{item.name}({item.affiliation})"

    def item_description(self, item):
        return item.registered_field


expert_feed = require_safe(ExpertFeed())
