"""Case studies to and from CSV and Excel files (django-import-export), for the admin's bulk import.

One case a row, under Japanese column headings; export writes the same columns, so a file that
was exported, edited in Excel and imported again changes only what was edited. An import is
all-or-nothing: a problem with the file, or with any one row, imports nothing, and the preview
names the row, the column and the reason. docs/decisions/0008-case-import.md.
"""

import csv
import datetime as dt
import io
import logging
import re
import unicodedata
from dataclasses import dataclass, field

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from import_export import resources, widgets
from import_export.fields import Field
from import_export.formats import base_formats
from import_export.resources import Diff
from import_export.results import RowResult

from casestudies.models import Award, CaseStudy, Scheme
from portal.models import Municipality, Prefecture, Theme
from portal.publishing import PublishState
from portal.text import parse_date, parse_year

logger = logging.getLogger(__name__)


EDITOR_CANNOT_PUBLISH = _(
    "公開状態と公開日時を変えられるのは公開担当者だけです。この列は空欄にするか、今の値のままにしてください。"
)


class ImportFileError(Exception):
    """A problem with the whole file (its encoding, its headings): no row is read."""


# Files -------------------------------------------------------------------------------------

# UTF-8 (Excel's 「CSV UTF-8」 writes a BOM) first; then CP932, the Shift_JIS that Excel writes
# for 「CSV(コンマ区切り)」 on Japanese Windows. CP932 decodes nearly any bytes, so the text must
# also hold no control or unmapped characters, which no spreadsheet has but UTF-16 and binary
# files give.
ENCODINGS = ("utf-8-sig", "cp932")
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\uf8f0-\uf8f3]")

UNKNOWN_ENCODING = _("文字コードを判別できません。UTF-8 または Shift_JIS で保存してください。")
NO_ROWS = _("取り込む行がありません。1行目に見出しを、2行目から1行に1件ずつ事例を書いてください。")


def decode(data: bytes) -> str:
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _NOT_TEXT.search(text):
            return text
    raise ImportFileError(UNKNOWN_ENCODING)


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def sheet_dataset(rows: list) -> tablib.Dataset:
    """The first row as headings, every later row padded to their width. Blank rows are kept, so
    that a row's place in the dataset gives its row number in the spreadsheet."""
    headings = ["" if h is None else str(h) for h in (rows[0] if rows else [])]
    while headings and is_blank(headings[-1]):
        headings.pop()
    if not headings or all(is_blank(value) for row in rows[1:] for value in row):
        raise ImportFileError(NO_ROWS)
    width = len(headings)
    dataset = tablib.Dataset(headers=headings)
    for number, row in enumerate(rows[1:], start=2):
        row = list(row)
        if any(not is_blank(value) for value in row[width:]):
            raise ImportFileError(
                _("%(line)s 行目に、見出しのない列の値があります。見出しを付けるか、値を消してください。")
                % {"line": number}
            )
        dataset.append(row[:width] + [""] * (width - len(row)))
    return dataset


class CSV(base_formats.CSV):
    """CSV in UTF-8 or Shift_JIS (see ENCODINGS), written in UTF-8 with a BOM, which Excel opens
    as UTF-8. Read as bytes (is_binary), so that decode() sees them and picks the encoding."""

    CONTENT_TYPE = "text/csv; charset=utf-8"

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        if not in_stream:
            raise ImportFileError(NO_ROWS)
        text = decode(in_stream) if isinstance(in_stream, bytes) else in_stream
        return sheet_dataset(list(csv.reader(io.StringIO(text, newline=""))))

    def export_data(self, dataset, **kwargs):
        return "\ufeff" + super().export_data(dataset, **kwargs)


class XLSX(base_formats.XLSX):
    """Excel workbooks: the first sheet is read, whichever sheet was open when it was saved."""

    def create_dataset(self, in_stream):
        import openpyxl

        if not in_stream:
            raise ImportFileError(NO_ROWS)
        book = openpyxl.load_workbook(io.BytesIO(in_stream), read_only=True, data_only=True)
        try:
            rows = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
        return sheet_dataset(rows)


FORMATS = [CSV, XLSX]


# Cells -------------------------------------------------------------------------------------

REQUIRED = _("空欄にはできません。")
SEPARATORS = re.compile(r"[;；、,，\s]+")
FIRST_YEAR, LAST_YEAR = 1900, 2100


def normalized(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def cell_text(value) -> str:
    """A cell as text: 2021.0 (how Excel keeps numbers) reads as 2021."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def whole_number(value) -> int | None:
    """A number Excel kept as a number (2021, 2021.0), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if float(value).is_integer() else None


def split_cell(value) -> list[str]:
    """'011002; 012025、013030' -> the items, once each, in their order."""
    items = [item for item in SEPARATORS.split(normalized(cell_text(value))) if item]
    return list(dict.fromkeys(items))


class Cell(widgets.Widget):
    """Reads one cell and writes it back. A ValueError's text is the message shown for the cell.

    A blank cell reads as ``empty``; with ``required``, a blank cell is an error.
    """

    empty = ""
    help = ""

    def __init__(self, required=False, help=""):
        super().__init__(coerce_to_string=True)
        self.required = required
        if help:
            self.help = help

    def clean(self, value, row=None, **kwargs):
        if is_blank(value):
            if self.required:
                raise ValueError(REQUIRED)
            return self.empty
        return self.parse(value)

    def parse(self, value):
        return cell_text(value)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None or value == "" else self.show(value)

    def show(self, value) -> str:
        return str(value)


class Text(Cell):
    pass


class Year(Cell):
    empty = None
    help = _("西暦(2021)または和暦(令和3年度)")

    def parse(self, value):
        year = whole_number(value)
        if year is None:
            year = parse_year(cell_text(value))
        if year is None:
            raise ValueError(
                _("「%(value)s」を年度として読めません。西暦(例: 2021)か和暦(例: 令和3年度)で書いてください。")
                % {"value": cell_text(value)}
            )
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(
                _("%(year)s 年度は範囲の外です。%(first)s〜%(last)s 年度で書いてください。")
                % {"year": year, "first": FIRST_YEAR, "last": LAST_YEAR}
            )
        return year


class Count(Cell):
    empty = None
    help = _("数字(12345 や 12,345)")

    def parse(self, value):
        number = whole_number(value)
        if number is not None:
            return number
        text = normalized(cell_text(value)).replace(",", "").removesuffix("人").strip()
        if re.fullmatch(r"\d+", text, re.ASCII):
            return int(text)
        raise ValueError(
            _("「%(value)s」を数として読めません。数字で書いてください(例: 12345)。") % {"value": cell_text(value)}
        )


class Day(Cell):
    empty = None
    help = _("日付(2024-04-01、2024/4/1、令和6年4月1日)")

    def parse(self, value):
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        date = parse_date(cell_text(value))
        if date is None:
            raise ValueError(
                _("「%(value)s」を日付として読めません。2024-04-01 のように書いてください。")
                % {"value": cell_text(value)}
            )
        return date

    def show(self, value) -> str:
        return value.isoformat()


_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


class Moment(Cell):
    """A date and time in Japan time, to the minute: 2024-04-01 09:00."""

    empty = None
    help = _("日時(2024-04-01 09:00)。空欄なら変えません")

    def parse(self, value):
        if isinstance(value, dt.datetime):
            moment = value
        elif isinstance(value, dt.date):
            moment = dt.datetime.combine(value, dt.time())
        else:
            moment = self.parse_text(cell_text(value))
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment

    @staticmethod
    def parse_text(text: str) -> dt.datetime:
        day, _sep, clock = normalized(text).replace("T", " ").partition(" ")
        date = parse_date(day)
        time = _TIME.fullmatch(clock.strip()) if clock.strip() else None
        if date is not None and (time or not clock.strip()):
            try:
                hour, minute, second = (int(part or 0) for part in time.groups()) if time else (0, 0, 0)
                return dt.datetime.combine(date, dt.time(hour, minute, second))
            except ValueError:
                pass
        raise ValueError(
            _("「%(value)s」を日時として読めません。2024-04-01 09:00 のように書いてください。") % {"value": text}
        )

    def show(self, value) -> str:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


class Choice(Cell):
    """One of a model's choices, by its Japanese label or its stored value: 総務大臣賞 or minister."""

    def __init__(self, choices, empty="", note=""):
        super().__init__()
        self.choices = choices
        self.empty = empty
        self.note = note

    def labels(self) -> dict[str, str]:
        with translation.override("ja"):
            return {value: str(label) for value, label in self.choices.choices}

    @property
    def help(self):
        return "、".join(label for value, label in self.labels().items() if value) + str(self.note)

    def parse(self, value):
        text = normalized(cell_text(value))
        for stored, label in self.labels().items():
            if text in (stored, label):
                return stored
        raise ValueError(
            _("「%(value)s」は選べません。%(choices)s のどれかを書いてください。")
            % {"value": text, "choices": "、".join(label for label in self.labels().values() if label)}
        )

    def show(self, value) -> str:
        return self.labels().get(value, value)


class YesNo(Cell):
    YES = {"はい", "1", "TRUE", "YES", "○", "◯"}
    NO = {"いいえ", "0", "FALSE", "NO", "×"}
    empty = None
    help = _("はい/いいえ。空欄なら変えません")

    def parse(self, value):
        if isinstance(value, bool):
            return value
        text = normalized(cell_text(value)).upper()
        if text in self.YES or text in self.NO:
            return text in self.YES
        raise ValueError(_("「%(value)s」は「はい」か「いいえ」で書いてください。") % {"value": cell_text(value)})

    def render(self, value, obj=None, **kwargs):
        return "はい" if value else "いいえ"


class PrefectureCode(Cell):
    empty = None
    help = _("2桁の都道府県コード(13)。空欄なら最初の市区町村の都道府県")

    def parse(self, value):
        text = normalized(cell_text(value))
        code = text.zfill(2) if text.isascii() and text.isdigit() else text
        prefecture = Prefecture.objects.filter(code=code).first() or Prefecture.objects.filter(name=text).first()
        if prefecture is None:
            raise ValueError(
                _("都道府県コード %(value)s が見つかりません。01〜47 の2桁の番号(例: 13)で書いてください。")
                % {"value": text}
            )
        return prefecture

    def show(self, value) -> str:
        return value.code


class Related(widgets.ManyToManyWidget):
    """Several related objects in one cell, separated by ; 、 or , (a ManyToManyWidget, so that the
    import saves them after the case). Each item is looked up by ``lookup()``; an unknown one is
    an error naming it."""

    unknown = ""
    missing = ""
    help = ""

    def __init__(self, model, required=False):
        super().__init__(model, separator=";")
        self.required = required

    def lookup(self, items: list[str]) -> dict:
        raise NotImplementedError

    def clean(self, value, row=None, **kwargs):
        items = split_cell(value)
        if not items:
            if self.required:
                raise ValueError(self.missing)
            return []
        found = self.lookup(items)
        unknown = [item for item in items if item not in found]
        if unknown:
            raise ValueError(self.unknown % {"values": "、".join(unknown)})
        return list({found[item].pk: found[item] for item in items}.values())

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else self.separator.join(self.key(o) for o in self.ordered(value))

    def ordered(self, manager):
        return manager.all()

    def key(self, obj) -> str:
        return obj.key


class Municipalities(Related):
    unknown = _("市区町村コード %(values)s が見つかりません。6桁の全国地方公共団体コードで書いてください。")
    missing = _("市区町村コードを1つ以上書いてください。")
    help = _("6桁の全国地方公共団体コード(011002)。複数は ; で区切り、主な市区町村を先に")

    def __init__(self, required=True):
        super().__init__(Municipality, required=required)

    def lookup(self, items):
        # Excel drops a code's leading zero when it opens a CSV: 011002 comes back as 11002.
        codes = {item: item.zfill(6) if item.isascii() and item.isdigit() else item for item in items}
        found = Municipality.objects.in_bulk(codes.values())
        return {item: found[code] for item, code in codes.items() if code in found}

    def ordered(self, manager):
        """The municipalities of the case's own prefecture first, so that the first one gives it."""
        prefecture = getattr(getattr(manager, "instance", None), "prefecture_id", None)
        return sorted(manager.all(), key=lambda m: (m.prefecture_id != prefecture, m.code))

    def key(self, obj) -> str:
        return obj.code


class KeyOrName(Related):
    """Themes and schemes: by key (tourism) or by Japanese name (観光振興・交流)."""

    def lookup(self, items):
        found = {}
        for obj in self.model.objects.all():
            for name in (obj.key, obj.name_ja):
                if name:
                    found.setdefault(normalized(name), obj)
        return {item: found[item] for item in items if item in found}


class Themes(KeyOrName):
    unknown = _("テーマ %(values)s が見つかりません。キー(例: tourism)か名称(例: 観光振興・交流)で書いてください。")
    missing = _("テーマを1つ以上書いてください。")
    help = _("テーマのキー(tourism)か名称。複数は ; で区切る")

    def __init__(self):
        super().__init__(Theme, required=True)


class Schemes(KeyOrName):
    unknown = _(
        "利用した制度 %(values)s が見つかりません。キー(例: kyoryokutai)か名称(例: 地域おこし協力隊)で書いてください。"
    )
    help = _("制度のキー(kyoryokutai)か名称。複数は ; で区切る")

    def __init__(self):
        super().__init__(Scheme, required=False)


# The preview ---------------------------------------------------------------------------------

STATUS_LABELS = {
    RowResult.IMPORT_TYPE_NEW: _("新規"),
    RowResult.IMPORT_TYPE_UPDATE: _("更新"),
    RowResult.IMPORT_TYPE_SKIP: _("変更なし"),
    RowResult.IMPORT_TYPE_ERROR: _("エラー"),
    RowResult.IMPORT_TYPE_INVALID: _("エラー"),
}


@dataclass
class RowPreview:
    """What the preview shows of one row: its spreadsheet row number, what the import does with
    it, and why not (problems: column heading, message) or what it changes (column headings)."""

    line: int
    status: str
    slug: str
    title: str
    problems: list[tuple[str, str]] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def label(self):
        return STATUS_LABELS.get(self.status, self.status)


class ChangedColumns(Diff):
    """The import's diff, kept as the headings of the columns whose value changes: the preview
    lists those rather than a diff 40 columns wide."""

    def __init__(self, resource, instance, new):
        super().__init__(resource, instance, new)
        self.headings = [f.column_name for f in resource.get_import_fields()]

    def as_html(self):
        return [h for h, before, after in zip(self.headings, self.left, self.right, strict=True) if before != after]


def problems(result) -> list[str]:
    """Every problem of an import, one line each: the file's, then each row's with its number."""
    lines = [str(error.error) for error in result.base_errors]
    for row in result.rows:
        preview = getattr(row, "preview", None)
        for column, message in preview.problems if preview else ():
            if column:
                lines.append(
                    _("%(line)s 行目・%(column)s: %(message)s")
                    % {"line": preview.line, "column": column, "message": message}
                )
            else:
                lines.append(_("%(line)s 行目: %(message)s") % {"line": preview.line, "message": message})
    return lines


# The resource --------------------------------------------------------------------------------


def column(attribute, heading, widget=None, **kwargs) -> Field:
    return Field(attribute=attribute, column_name=heading, widget=widget or Text(), **kwargs)


def translated(attribute, heading, required=False, help="") -> tuple[Field, Field]:
    """The Japanese and English columns of a translated field: 事例名, 事例名(英語)."""
    return (
        column(f"{attribute}_ja", heading, Text(required=required, help=help)),
        column(f"{attribute}_en", f"{heading}(英語)", Text(help=help)),
    )


# Fields full_clean() leaves to the import: translated fields are checked in their _ja and _en
# columns (the bare field reads whichever language is active); the rest are computed on save.
NOT_CLEANED = {
    "title",
    "subtitle",
    "organisation",
    "keywords",
    "summary",
    "purpose",
    "activities",
    "results",
    "lessons",
    "sustainability",
    "contact_department",
    "region",
    "population_band",
}


class CaseStudyResource(resources.ModelResource):
    slug = column(
        "slug",
        "スラッグ",
        Text(required=True, help=_("URL の一部(半角英数字とハイフン)。登録済みのスラッグなら、その事例を更新")),
    )
    title_ja, title_en = translated("title", "事例名", required=True)
    subtitle_ja, subtitle_en = translated("subtitle", "副題")
    fiscal_year_start = column("fiscal_year_start", "取組開始年度", Year(required=True))
    fiscal_year_end = column("fiscal_year_end", "取組終了年度", Year())
    municipalities = column("municipalities", "市区町村コード", Municipalities())
    prefecture = column("prefecture", "都道府県コード", PrefectureCode(), saves_null_values=False)
    organisation_ja, organisation_en = translated("organisation", "取組主体", required=True)
    organisation_kana = column("organisation_kana", "取組主体のよみがな")
    themes = column("themes", "テーマ", Themes())
    keywords_ja, keywords_en = translated("keywords", "キーワード", help=_("読点(、)で区切る"))
    summary_ja, summary_en = translated("summary", "概要", required=True)
    purpose_ja, purpose_en = translated("purpose", "目的")
    activities_ja, activities_en = translated("activities", "取組内容", help=_("Markdown で書けます"))
    results_ja, results_en = translated("results", "成果")
    lessons_ja, lessons_en = translated("lessons", "学んだこと")
    sustainability_ja, sustainability_en = translated("sustainability", "持続させる仕組み")
    schemes = column("schemes", "利用した制度", Schemes())
    population = column("population", "人口", Count())
    population_date = column("population_date", "人口の基準日", Day())
    edition = column("edition", "掲載年度版", Year(required=True))
    award = column("award", "表彰区分", Choice(Award, note=_("。なければ空欄")))
    video_url = column("video_url", "動画のURL")
    contact_department_ja, contact_department_en = translated("contact_department", "問い合わせ先(部署)")
    contact_phone = column("contact_phone", "問い合わせ先(電話)")
    contact_email = column("contact_email", "問い合わせ先(メール)")
    contact_url = column("contact_url", "問い合わせ先(URL)")
    state = column(
        "state",
        "公開状態",
        Choice(PublishState, empty=None, note=_("。空欄なら変えません(新規は下書き)")),
        saves_null_values=False,
    )
    published_at = column("published_at", "公開日時", Moment(), saves_null_values=False)
    is_sample = column("is_sample", "サンプルデータ", YesNo(), saves_null_values=False)

    class Meta:
        model = CaseStudy
        fields = (
            "slug",
            "title_ja",
            "title_en",
            "subtitle_ja",
            "subtitle_en",
            "fiscal_year_start",
            "fiscal_year_end",
            "municipalities",
            "prefecture",
            "organisation_ja",
            "organisation_en",
            "organisation_kana",
            "themes",
            "keywords_ja",
            "keywords_en",
            "summary_ja",
            "summary_en",
            "purpose_ja",
            "purpose_en",
            "activities_ja",
            "activities_en",
            "results_ja",
            "results_en",
            "lessons_ja",
            "lessons_en",
            "sustainability_ja",
            "sustainability_en",
            "schemes",
            "population",
            "population_date",
            "edition",
            "award",
            "video_url",
            "contact_department_ja",
            "contact_department_en",
            "contact_phone",
            "contact_email",
            "contact_url",
            "state",
            "published_at",
            "is_sample",
        )
        export_order = fields
        import_id_fields = ("slug",)
        skip_unchanged = True
        report_skipped = True
        use_transactions = True
        name = _("事例")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lines: list[int] = []
        self.slug_lines: dict[str, int] = {}
        self.before: dict[str, object] = {}

    # The columns, for the import page and the checks of the headings.

    @classmethod
    def columns(cls) -> list[tuple[str, bool, str]]:
        """(heading, required, how to write it) of every column, in order."""
        resource = cls()
        return [
            (f.column_name, getattr(f.widget, "required", False), getattr(f.widget, "help", ""))
            for f in resource.get_import_fields()
        ]

    def heading(self, name: str) -> str:
        """The column heading of a field or attribute named in a validation error."""
        for f in self.get_import_fields():
            if name in (f.attribute, f.attribute.removesuffix("_ja")):
                return f.column_name
        return "" if name == NON_FIELD_ERRORS else name

    def line(self, row_number: int) -> int:
        """The spreadsheet row number (the headings are row 1) of the dataset's row_number-th row."""
        return self.lines[row_number - 1] if row_number <= len(self.lines) else row_number + 1

    # The file: headings first, before any row is read.

    def check_headings(self, dataset) -> list[str]:
        """Renames the dataset's headings to the canonical ones (ignoring width and spaces: 事例名
        (英語) is 事例名(英語)), drops blank rows, and returns the file's problems."""

        def key(text) -> str:
            return re.sub(r"\s+", "", unicodedata.normalize("NFKC", cell_text(text)))

        known = {key(f.column_name): f.column_name for f in self.get_import_fields()}
        rows = [list(row) for row in dataset]
        headings, unknown, unnamed = [], [], []
        for index, heading in enumerate(dataset.headers or []):
            if not key(heading):
                if any(not is_blank(row[index]) for row in rows):
                    unnamed.append(str(index + 1))
                headings.append("")
            elif key(heading) in known:
                headings.append(known[key(heading)])
            else:
                unknown.append(cell_text(heading))
                headings.append(cell_text(heading))
        required = [f.column_name for f in self.get_import_fields() if getattr(f.widget, "required", False)]
        missing = [h for h in required if h not in headings]
        repeated = list(dict.fromkeys(h for h in headings if h and headings.count(h) > 1))

        def listed(names):
            return "".join(f"「{name}」" for name in names)

        found = []
        if missing:
            found.append(
                _("必要な列がありません: %(columns)s。1行目の見出しを確かめてください。") % {"columns": listed(missing)}
            )
        if unknown:
            found.append(
                _("知らない見出しの列があります: %(columns)s。見出しの書き間違いがないか確かめてください。")
                % {"columns": listed(unknown)}
            )
        if repeated:
            found.append(_("同じ見出しの列が2つ以上あります: %(columns)s。") % {"columns": listed(repeated)})
        if unnamed:
            found.append(_("見出しのない列(左から %(numbers)s 列目)に値があります。") % {"numbers": "、".join(unnamed)})
        kept = [(number, row) for number, row in enumerate(rows, start=2) if not all(is_blank(v) for v in row)]
        if not found and not kept:
            found.append(str(NO_ROWS))
        if not found:
            dataset.wipe()
            dataset.headers = headings
            dataset.extend([row for _number, row in kept])
            self.lines = [number for number, _row in kept]
        return found

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        """All-or-nothing: in one transaction, rolled back on any error, validation errors too."""
        kwargs["rollback_on_validation_errors"] = True
        self.slug_lines = {}
        # Editors may import cases, but not publish them (docs/decisions/0010-editorial-workflow.md);
        # a file read by a command, with no user, is the operator's.
        user = kwargs.get("user")
        self.can_publish = user is None or user.has_perm("casestudies.publish_casestudy")
        file_problems = self.check_headings(dataset)
        if file_problems:
            result = self.get_result_class()()
            result.diff_headers = self.get_diff_headers()
            for message in file_problems:
                self.handle_import_error(result, ImportFileError(message), raise_errors)
            return result
        return super().import_data(dataset, dry_run=dry_run, raise_errors=raise_errors, use_transactions=True, **kwargs)

    # Each row.

    def get_instance(self, instance_loader, row):
        try:
            return super().get_instance(instance_loader, row)
        except ValueError:  # no slug: import_instance() reports it
            return None

    def after_init_instance(self, instance, new, row, **kwargs):
        self.before = {} if new else {f.attribute: f.get_value(instance) for f in self.plain_fields()}

    def plain_fields(self) -> list[Field]:
        return [f for f in self.get_import_fields() if not isinstance(f.widget, widgets.ManyToManyWidget)]

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as e:
            errors = e.update_error_dict(errors)
        # A cell that reads as the stored value leaves the stored value alone: 公開日時 to the
        # minute keeps its seconds, a blank English column keeps NULL.
        for f in self.plain_fields():
            if f.attribute in self.before and f.attribute not in errors:
                before = self.before[f.attribute]
                if cell_text(f.export(instance)) == cell_text(f.widget.render(before)):
                    setattr(instance, f.attribute, before)
        # Related objects are saved after the case, but checked now, with the rest of the row.
        places = []
        for f in self.get_import_fields():
            if isinstance(f.widget, widgets.ManyToManyWidget) and f.column_name in row:
                try:
                    objs = f.clean(row)
                except ValueError as e:
                    errors[f.attribute] = [ValidationError(str(e))]
                else:
                    if f.attribute == "municipalities":
                        places = objs
        if is_blank(row.get(self.fields["prefecture"].column_name)) and places:
            instance.prefecture = places[0].prefecture
        slug = cell_text(row.get(self.fields["slug"].column_name))
        if slug in self.slug_lines:
            errors.setdefault("slug", []).append(
                ValidationError(
                    _("同じスラッグの行が %(line)s 行目にもあります。1件の事例は1行にまとめてください。")
                    % {"line": self.slug_lines[slug]}
                )
            )
        elif slug:
            self.slug_lines[slug] = self.line(kwargs["row_number"])
        if not getattr(self, "can_publish", True) and self.publishing_changed(instance):
            errors.setdefault("state", []).append(ValidationError(EDITOR_CANNOT_PUBLISH))
        if errors:
            raise ValidationError(errors)

    def publishing_changed(self, instance) -> bool:
        if not self.before:  # a new case: it may only be a draft
            return instance.state != PublishState.DRAFT or instance.published_at is not None
        return any(getattr(instance, name) != self.before.get(name) for name in ("state", "published_at"))

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        exclude = set(errors) | NOT_CLEANED
        if "municipalities" in errors:
            exclude.add("prefecture")  # it comes from the first municipality
        try:
            instance.full_clean(exclude=exclude, validate_unique=validate_unique)
        except ValidationError as e:
            errors = e.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    @classmethod
    def get_diff_class(cls):
        return ChangedColumns

    def import_row(self, row, instance_loader, **kwargs):
        result = super().import_row(row, instance_loader, **kwargs)
        preview = RowPreview(
            line=self.line(kwargs["row_number"]),
            status=result.import_type,
            slug=cell_text(row.get(self.fields["slug"].column_name)),
            title=cell_text(row.get(self.fields["title_ja"].column_name)),
        )
        if result.validation_error is not None:
            for name, messages in result.validation_error.message_dict.items():
                preview.problems += [(self.heading(name), m) for m in dict.fromkeys(messages)]
        for error in result.errors:
            logger.warning("case import: row %s not saved", preview.line, exc_info=error.error)
            preview.problems.append(("", _("この行を保存できませんでした(%(error)s)。") % {"error": error.error}))
        if result.import_type == RowResult.IMPORT_TYPE_UPDATE and isinstance(result.diff, list):
            preview.changed = result.diff
        result.preview = preview
        return result

    # Export.

    def filter_export(self, queryset, **kwargs):
        return queryset.select_related("prefecture").prefetch_related("municipalities", "themes", "schemes")

    def export(self, queryset=None, **kwargs):
        dataset = super().export(queryset, **kwargs)
        dataset.title = "事例"
        return dataset
