"""Case studies in and out of CSV and Excel files: round trips, checks, all-or-nothing, the admin."""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.contrib.auth.models import Permission, User
from django.utils import timezone

from casestudies.models import CaseStudy, PopulationBand
from casestudies.resources import CSV, XLSX, CaseStudyResource, ImportFileError, problems
from portal.models import SearchEntry, Theme
from portal.search.engine import matching_object_ids
from portal.search.query import parse

pytestmark = pytest.mark.django_db

IMPORT_URL = "/admin/casestudies/casestudy/import/"
CONFIRM_URL = "/admin/casestudies/casestudy/process_import/"
EXPORT_URL = "/admin/casestudies/casestudy/export/"
CHANGELIST_URL = "/admin/casestudies/casestudy/"
CSV_FORMAT, XLSX_FORMAT = "0", "1"  # their places in CaseStudyAdmin.formats


def good_row(**changes) -> dict:
    """A new case as an editor writes it: required columns, a few others, Japanese years."""
    row = {
        "スラッグ": "import-test-1",
        "事例名": "雪室貯蔵で冬の農産物をブランド化",
        "事例名(英語)": "Branding winter produce stored in snow rooms",
        "取組開始年度": "令和3年度",
        "取組終了年度": "",
        "市区町村コード": "012025;011002",
        "都道府県コード": "",
        "取組主体": "函館市 農林水産部",
        "テーマ": "tourism;移住・定住促進",
        "概要": "雪室に貯蔵した野菜を「ゆきむろ熟成」の名で売り出した。",
        "利用した制度": "kyoryokutai",
        "人口": "12,345",
        "人口の基準日": "2024/4/1",
        "掲載年度版": "2025",
        "表彰区分": "優秀賞",
        "公開状態": "公開",
        "公開日時": "2026-04-01 09:00",
        "サンプルデータ": "いいえ",
    }
    row.update(changes)
    return row


def csv_bytes(rows: list[dict], encoding="utf-8", headings=None) -> bytes:
    headings = headings or list(rows[0])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headings)
    for row in rows:
        writer.writerow([row.get(h, "") for h in headings])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(data: bytes, fmt=CSV, dry_run=False):
    return CaseStudyResource().import_data(fmt().create_dataset(data), dry_run=dry_run)


def export(fmt, queryset=None) -> bytes:
    data = fmt().export_data(CaseStudyResource().export(queryset or CaseStudy.objects.all()))
    return data.encode() if isinstance(data, str) else data


def snapshot():
    return sorted(CaseStudy.objects.values_list("slug", "updated_at", "title_ja", "prefecture_id"))


# Round trips -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [CSV, XLSX])
def test_an_exported_file_imports_back_with_no_change(fmt):
    before = snapshot()
    result = run(export(fmt), fmt)
    assert not problems(result)
    assert result.totals["skip"] == CaseStudy.objects.count() >= 60
    assert result.totals["new"] == result.totals["update"] == 0
    assert snapshot() == before


@pytest.mark.parametrize("fmt", [CSV, XLSX])
def test_an_edited_cell_changes_that_case_and_that_column_only(fmt):
    dataset = fmt().create_dataset(export(fmt))
    row = list(dataset[0])
    row[dataset.headers.index("事例名(英語)")] = "A new English title"
    dataset[0] = row
    slug = row[dataset.headers.index("スラッグ")]
    result = CaseStudyResource().import_data(dataset)
    assert not problems(result)
    assert result.totals["update"] == 1 and result.totals["skip"] == len(dataset) - 1
    assert [r.preview.changed for r in result.rows if r.import_type == "update"] == [["事例名(英語)"]]
    assert CaseStudy.objects.get(slug=slug).title_en == "A new English title"


def test_csv_export_opens_in_excel_and_keeps_codes():
    data = export(CSV)
    assert data.startswith("\ufeff".encode())  # Excel reads UTF-8 only with a BOM
    header = data.decode("utf-8-sig").splitlines()[0]
    assert header.startswith("スラッグ,事例名,事例名(英語),")
    case = CaseStudy.objects.filter(prefecture_id="01").first()
    line = next(r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig"))) if r["スラッグ"] == case.slug)
    assert line["都道府県コード"] == "01" and line["市区町村コード"].startswith("01")
    assert line["公開状態"] == "公開" and line["サンプルデータ"] == "はい"


# A good import -----------------------------------------------------------------------------------


def test_a_good_file_creates_cases_with_their_places_and_themes():
    second = good_row(**{"スラッグ": "import-test-2", "市区町村コード": "131016", "テーマ": "economy", "人口": ""})
    result = run(csv_bytes([good_row(), second]))
    assert not problems(result)
    assert result.totals["new"] == 2
    case = CaseStudy.objects.get(slug="import-test-1")
    assert case.fiscal_year_start == 2021  # 令和3年度
    assert sorted(case.municipalities.values_list("code", flat=True)) == ["011002", "012025"]
    assert case.prefecture_id == "01" and case.region == "hokkaido"  # from the first municipality
    assert sorted(case.themes.values_list("key", flat=True)) == ["migration", "tourism"]
    assert list(case.schemes.values_list("key", flat=True)) == ["kyoryokutai"]
    assert case.population == 12345 and case.population_band == PopulationBand.FROM_10K
    assert case.population_date == dt.date(2024, 4, 1)
    assert case.award == "excellence" and case.state == "published" and not case.is_sample
    assert case.published_at == dt.datetime(2026, 4, 1, 9, 0, tzinfo=timezone.get_current_timezone())
    assert case.title_en == "Branding winter produce stored in snow rooms"
    tokyo = CaseStudy.objects.get(slug="import-test-2")
    assert tokyo.prefecture_id == "13" and tokyo.region == "kanto" and tokyo.population is None


def test_an_existing_slug_updates_that_case():
    case = CaseStudy.objects.first()
    dataset = CSV().create_dataset(export(CSV, CaseStudy.objects.filter(pk=case.pk)))
    row = list(dataset[0])
    row[dataset.headers.index("事例名")] = "更新した事例名"
    dataset[0] = row
    count = CaseStudy.objects.count()
    result = CaseStudyResource().import_data(dataset)
    assert result.totals["update"] == 1 and CaseStudy.objects.count() == count
    case.refresh_from_db()
    assert case.title_ja == "更新した事例名"


def test_a_dry_run_saves_nothing():
    result = run(csv_bytes([good_row()]), dry_run=True)
    assert result.totals["new"] == 1 and not problems(result)
    assert not CaseStudy.objects.filter(slug="import-test-1").exists()


def test_a_shift_jis_file_from_excel_is_read():
    data = csv_bytes([good_row(**{"事例名": "髙橋さんの①番目の事例"})], encoding="cp932")
    result = run(data)
    assert not problems(result)
    assert CaseStudy.objects.get(slug="import-test-1").title_ja == "髙橋さんの①番目の事例"


def test_excel_cells_read_as_numbers_and_dates():
    """Excel turns 011002 into the number 11002, years into numbers and dates into dates."""
    row = good_row(**{"市区町村コード": 11002, "取組開始年度": 2021, "掲載年度版": 2025.0, "人口": 12345})
    row["人口の基準日"] = dt.datetime(2024, 4, 1)
    row["公開日時"] = dt.datetime(2026, 4, 1, 9, 0)
    result = run(xlsx_bytes([list(row), list(row.values())]), XLSX)
    assert not problems(result)
    case = CaseStudy.objects.get(slug="import-test-1")
    assert list(case.municipalities.values_list("code", flat=True)) == ["011002"]
    assert case.fiscal_year_start == 2021 and case.edition == 2025 and case.population == 12345
    assert case.population_date == dt.date(2024, 4, 1)


def test_headings_may_differ_in_width_and_spaces_and_blank_rows_are_skipped():
    rows = [good_row(), {}, good_row(**{"スラッグ": "import-test-2"})]
    headings = [h.replace("(英語)", " (英語)") for h in good_row()]
    data = csv_bytes([{h.replace("(英語)", " (英語)"): v for h, v in r.items()} for r in rows], headings=headings)
    result = run(data)
    assert not problems(result)
    assert [r.preview.line for r in result.rows] == [2, 4]


def test_an_imported_case_is_found_by_the_site_search(client):
    row = good_row(**{"概要": "ゆきむろ熟成の野菜を全国に届けた。"})
    assert not problems(run(csv_bytes([row])))
    case = CaseStudy.objects.get(slug="import-test-1")
    assert case.pk in matching_object_ids(parse("ゆきむろ熟成"), kind="casestudy", language="ja")
    # The places, set after the case was saved, are in its document too.
    body = SearchEntry.objects.get(kind="casestudy", object_id=case.pk, language="ja").body
    assert "函館市" in body and "札幌市" in body
    html = client.get("/casestudies/", {"q": "ゆきむろ熟成"}).content.decode()
    assert "雪室貯蔵で冬の農産物をブランド化" in html


# Bad input: a clear message for the row and the column, and nothing imported -------------------


def test_a_file_in_neither_encoding_is_refused_with_a_message():
    for data in ("スラッグ,事例名\n".encode("utf-16"), b"\x81\x00\x82\xff\xfe"):
        with pytest.raises(
            ImportFileError, match="文字コードを判別できません。UTF-8 または Shift_JIS で保存してください。"
        ):
            CSV().create_dataset(data)


def test_missing_columns_are_listed_before_any_row_is_read():
    count = CaseStudy.objects.count()
    rows = [{k: v for k, v in good_row().items() if k not in ("事例名", "概要")}]
    result = run(csv_bytes(rows))
    assert problems(result) == ["必要な列がありません: 「事例名」「概要」。1行目の見出しを確かめてください。"]
    assert result.rows == [] and CaseStudy.objects.count() == count


def test_unknown_headings_are_refused():
    result = run(csv_bytes([good_row(**{"事例名(英文)": "x"})]))
    assert problems(result) == [
        "知らない見出しの列があります: 「事例名(英文)」。見出しの書き間違いがないか確かめてください。"
    ]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"市区町村コード": "999999"}, "市区町村コード: 市区町村コード 999999 が見つかりません。"),
        ({"市区町村コード": ""}, "市区町村コード: 市区町村コードを1つ以上書いてください。"),
        ({"テーマ": "tourism;nonexistent"}, "テーマ: テーマ nonexistent が見つかりません。"),
        ({"テーマ": ""}, "テーマ: テーマを1つ以上書いてください。"),
        ({"利用した制度": "no-such-scheme"}, "利用した制度: 利用した制度 no-such-scheme が見つかりません。"),
        ({"都道府県コード": "48"}, "都道府県コード: 都道府県コード 48 が見つかりません。"),
        ({"取組開始年度": "abc"}, "取組開始年度: 「abc」を年度として読めません。"),
        ({"取組開始年度": "令和"}, "取組開始年度: 「令和」を年度として読めません。"),
        ({"取組開始年度": "21"}, "取組開始年度: 「21」を年度として読めません。"),
        ({"取組開始年度": "2200"}, "取組開始年度: 2200 年度は範囲の外です。"),
        ({"取組終了年度": "2019"}, "取組終了年度: 終了年度は開始年度以降にしてください。"),
        ({"人口": "たくさん"}, "人口: 「たくさん」を数として読めません。"),
        ({"人口の基準日": "2024-13-01"}, "人口の基準日: 「2024-13-01」を日付として読めません。"),
        ({"公開日時": "きのう"}, "公開日時: 「きのう」を日時として読めません。"),
        ({"表彰区分": "金賞"}, "表彰区分: 「金賞」は選べません。なし、総務大臣賞、優秀賞 のどれかを書いてください。"),
        ({"サンプルデータ": "たぶん"}, "サンプルデータ: 「たぶん」は「はい」か「いいえ」で書いてください。"),
        ({"事例名": ""}, "事例名: 空欄にはできません。"),
        ({"スラッグ": "日本語のスラッグ"}, "スラッグ: "),
        ({"問い合わせ先(メール)": "not-an-email"}, "問い合わせ先(メール): "),
    ],
)
def test_a_bad_cell_names_its_row_and_column_and_nothing_is_imported(changes, expected):
    count = CaseStudy.objects.count()
    bad = good_row(**{"スラッグ": "import-test-2", **changes})
    result = run(csv_bytes([good_row(), bad], headings=list(bad)))
    lines = problems(result)
    assert len(lines) == 1 and lines[0].startswith("3 行目・" + expected), lines
    assert [r.preview.label for r in result.rows] == ["新規", "エラー"]
    assert CaseStudy.objects.count() == count  # the good row is not imported either


def test_the_same_slug_twice_is_refused_with_the_other_row_number():
    count = CaseStudy.objects.count()
    result = run(csv_bytes([good_row(), good_row(**{"事例名": "別の事例"})]))
    assert problems(result) == [
        "3 行目・スラッグ: 同じスラッグの行が 2 行目にもあります。1件の事例は1行にまとめてください。"
    ]
    assert CaseStudy.objects.count() == count


def test_a_failed_import_leaves_existing_cases_unchanged():
    case = CaseStudy.objects.first()
    dataset = CSV().create_dataset(export(CSV, CaseStudy.objects.filter(pk=case.pk)))
    row = list(dataset[0])
    row[dataset.headers.index("事例名")] = "変えたはずの事例名"
    dataset[0] = row
    dataset.append([""] * len(row))  # a blank row, then a bad one
    bad = list(row)
    bad[dataset.headers.index("スラッグ")] = "another-case"
    bad[dataset.headers.index("取組開始年度")] = "去年"
    dataset.append(bad)
    result = CaseStudyResource().import_data(dataset)
    assert problems(result)[0].startswith("4 行目・取組開始年度: 「去年」")
    case.refresh_from_db()
    assert case.title_ja != "変えたはずの事例名"


def test_several_errors_of_one_row_are_all_shown():
    bad = good_row(**{"取組開始年度": "abc", "市区町村コード": "999999", "概要": ""})
    lines = problems(run(csv_bytes([bad])))
    assert sorted(line.split(":")[0] for line in lines) == [
        "2 行目・取組開始年度",
        "2 行目・市区町村コード",
        "2 行目・概要",
    ]


# The admin ---------------------------------------------------------------------------------------


def named(data: bytes, name: str):
    f = io.BytesIO(data)
    f.name = name
    return f


def test_the_admin_list_offers_import_and_export(admin_client):
    html = admin_client.get(CHANGELIST_URL).content.decode()
    assert "ファイルから取り込む" in html and "ファイルに書き出す" in html
    page = admin_client.get(IMPORT_URL).content.decode()
    assert "列の見出しと書き方" in page and "市区町村コード" in page and "プレビューを見る" in page


def test_admin_import_previews_then_imports_on_confirmation(admin_client):
    response = admin_client.post(
        IMPORT_URL, {"format": CSV_FORMAT, "resource": "0", "import_file": named(csv_bytes([good_row()]), "cases.csv")}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "新規 1 件、更新 0 件、変更なし 0 件、エラー 0 件" in html
    assert "<td>新規</td>" in html and 'value="取り込む"' in html
    assert not CaseStudy.objects.filter(slug="import-test-1").exists()  # a preview only
    form = response.context["confirm_form"]
    confirm = {name: form.initial.get(name, "") for name in form.fields}
    response = admin_client.post(CONFIRM_URL, confirm, follow=True)
    assert "事例の取り込みが終わりました: 新規 1 件、更新 0 件、変更なし 0 件。" in response.content.decode()
    case = CaseStudy.objects.get(slug="import-test-1")
    assert case.municipalities.count() == 2 and case.prefecture_id == "01"


def test_a_confirmation_that_fails_its_checks_imports_nothing(admin_client):
    """The confirmation checks the file again: what changed since the preview stops it all."""
    rows = [good_row(), good_row(**{"スラッグ": "import-test-2", "テーマ": "economy"})]
    response = admin_client.post(IMPORT_URL, {"format": CSV_FORMAT, "import_file": named(csv_bytes(rows), "c.csv")})
    form = response.context["confirm_form"]
    Theme.objects.filter(key="economy").update(key="local-economy", name_ja="地域経済")
    response = admin_client.post(CONFIRM_URL, {n: form.initial.get(n, "") for n in form.fields}, follow=True)
    assert "取り込みを取り消しました。1件も登録・変更していません。" in response.content.decode()
    assert response.redirect_chain[-1][0] == IMPORT_URL
    assert not CaseStudy.objects.filter(slug__startswith="import-test").exists()


def test_admin_import_shows_row_errors_and_offers_no_confirmation(admin_client):
    data = csv_bytes([good_row(), good_row(**{"スラッグ": "import-test-2", "市区町村コード": "999999"})])
    response = admin_client.post(IMPORT_URL, {"format": CSV_FORMAT, "import_file": named(data, "cases.csv")})
    html = response.content.decode()
    assert (
        "<td>エラー</td>" in html and "<strong>市区町村コード</strong>: 市区町村コード 999999 が見つかりません" in html
    )
    assert "このファイルは取り込めません" in html and 'value="取り込む"' not in html
    assert not CaseStudy.objects.filter(slug__startswith="import-test").exists()


@pytest.mark.parametrize(
    ("data", "name", "fmt", "expected"),
    [
        ("スラッグ\n".encode("utf-16"), "cases.csv", CSV_FORMAT, "文字コードを判別できません。"),
        (b"not a workbook", "cases.xlsx", XLSX_FORMAT, "ファイルを読み込めませんでした。"),
        (csv_bytes([{"スラッグ": "x"}]), "cases.csv", CSV_FORMAT, "必要な列がありません: 「事例名」"),
        ("スラッグ,事例名\n".encode(), "cases.csv", CSV_FORMAT, "取り込む行がありません。"),
    ],
)
def test_admin_import_explains_an_unreadable_file(admin_client, data, name, fmt, expected):
    response = admin_client.post(IMPORT_URL, {"format": fmt, "import_file": named(data, name)})
    assert response.status_code == 200
    assert expected in response.content.decode()


def test_admin_import_of_an_exported_xlsx_changes_nothing(admin_client):
    exported = admin_client.post(EXPORT_URL, {"format": XLSX_FORMAT, "resource": "0"})
    assert exported.status_code == 200 and exported["Content-Type"].startswith("application/vnd.openxmlformats")
    data = b"".join(exported.streaming_content) if exported.streaming else exported.content
    response = admin_client.post(IMPORT_URL, {"format": XLSX_FORMAT, "import_file": named(data, "cases.xlsx")})
    count = CaseStudy.objects.count()
    assert f"新規 0 件、更新 0 件、変更なし {count} 件、エラー 0 件" in response.content.decode()


def test_admin_export_follows_the_list_filters(admin_client):
    response = admin_client.post(EXPORT_URL + "?prefecture__code__exact=01", {"format": CSV_FORMAT, "resource": "0"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows and {r["都道府県コード"] for r in rows} == {"01"}
    assert len(rows) == CaseStudy.objects.filter(prefecture_id="01").count()


def test_a_confirmation_whose_file_is_gone_asks_for_the_file_again(admin_client):
    response = admin_client.post(
        CONFIRM_URL,
        {"import_file_name": "no-such-file", "original_file_name": "cases.csv", "format": CSV_FORMAT, "resource": "0"},
        follow=True,
    )
    assert "確認したファイルが見つかりません。" in response.content.decode()
    assert response.redirect_chain[-1][0] == IMPORT_URL


@pytest.fixture
def case_editor(client):
    """A staff user who may view and change case studies, but not add them."""
    user = User.objects.create_user("case-editor", password="a-long-password-123", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="casestudies", codename__in=["view_casestudy", "change_casestudy"]
        )
    )
    client.force_login(user)
    return client


def test_only_users_who_may_add_and_change_cases_may_import(case_editor):
    html = case_editor.get(CHANGELIST_URL).content.decode()
    assert "ファイルから取り込む" not in html and "ファイルに書き出す" in html
    assert case_editor.get(IMPORT_URL).status_code == 403
    data = csv_bytes([good_row()])
    assert case_editor.post(IMPORT_URL, {"format": CSV_FORMAT, "import_file": named(data, "c.csv")}).status_code == 403
    assert case_editor.post(CONFIRM_URL, {"import_file_name": "x", "format": CSV_FORMAT}).status_code == 403
    assert not CaseStudy.objects.filter(slug="import-test-1").exists()


def test_staff_who_may_not_view_cases_may_not_export(client):
    user = User.objects.create_user("someone", password="a-long-password-123", is_staff=True)
    client.force_login(user)
    assert client.get(EXPORT_URL).status_code == 403


def test_an_editors_file_may_not_publish_or_change_publishing():
    """Editors import drafts; 公開状態 and 公開日時 are the publishers' (docs/decisions/0010)."""
    from django.contrib.auth.models import Group

    from portal.roles import EDITORS, PUBLISHERS

    editor = User.objects.create_user("import-editor", is_staff=True)
    editor.groups.add(Group.objects.get(name=EDITORS))
    publisher = User.objects.create_user("import-publisher", is_staff=True)
    publisher.groups.add(Group.objects.get(name=PUBLISHERS))

    def run_as(user, rows):
        return CaseStudyResource().import_data(CSV().create_dataset(csv_bytes(rows)), dry_run=False, user=user)

    result = run_as(editor, [good_row()])
    assert result.has_validation_errors()
    assert "公開担当者だけです" in str(result.invalid_rows[0].error_dict)
    assert not CaseStudy.objects.filter(slug="import-test-1").exists()
    assert not run_as(editor, [good_row(公開状態="下書き", 公開日時="")]).has_validation_errors()
    case = CaseStudy.objects.get(slug="import-test-1")
    assert case.state == "draft"
    # An existing case: the editor's file may change its text, not its state.
    assert run_as(editor, [good_row(公開状態="公開", 公開日時="")]).has_validation_errors()
    assert not run_as(editor, [good_row(公開状態="", 公開日時="", 概要="直した概要。")]).has_validation_errors()
    case.refresh_from_db()
    assert case.summary_ja == "直した概要。" and case.state == "draft"
    assert not run_as(publisher, [good_row()]).has_validation_errors()
    case.refresh_from_db()
    assert case.state == "published"
