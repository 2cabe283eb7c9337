import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from portal.text import (
    fiscal_year,
    format_date_en,
    format_date_ja,
    format_fiscal_year_ja,
    parse_date,
    parse_year,
    render_markdown,
)


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (dt.date(2026, 11, 29), "令和8年(2026年)11月29日"),
        (dt.date(2019, 5, 1), "令和元年(2019年)5月1日"),
        (dt.date(2019, 4, 30), "平成31年(2019年)4月30日"),
        (dt.date(1989, 1, 8), "平成元年(1989年)1月8日"),
        (dt.date(1989, 1, 7), "昭和64年(1989年)1月7日"),
    ],
)
def test_japanese_dates_use_the_era_and_the_western_year(date, expected):
    assert format_date_ja(date) == expected


def test_aware_datetimes_are_shown_in_japan_time():
    # 2026-11-29 16:00 UTC is already 30 November in Tokyo.
    moment = dt.datetime(2026, 11, 29, 16, 0, tzinfo=ZoneInfo("UTC"))
    assert format_date_ja(moment) == "令和8年(2026年)11月30日"
    assert format_date_en(moment) == "30 November 2026"


@pytest.mark.parametrize(
    ("date", "year"),
    [(dt.date(2026, 4, 1), 2026), (dt.date(2027, 3, 31), 2026), (dt.date(2026, 3, 31), 2025)],
)
def test_fiscal_year_runs_april_to_march(date, year):
    assert fiscal_year(date) == year


def test_fiscal_year_label():
    assert format_fiscal_year_ja(2026) == "令和8年度(2026年度)"
    assert format_fiscal_year_ja(2019) == "令和元年度(2019年度)"


def test_markdown_is_rendered_and_sanitised():
    html = render_markdown(
        "## 見出し\n\n本文 <script>alert(1)</script> [リンク](javascript:alert(1)) [総務省](https://www.soumu.go.jp/)\n\n<img src=x onerror=alert(1)>"
    )
    assert "<h2>見出し</h2>" in html
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onerror" not in html
    assert "<img" not in html
    assert '<a href="https://www.soumu.go.jp/" rel="noopener">総務省</a>' in html


def test_markdown_tables_are_kept():
    html = render_markdown("| 項目 | 内容 |\n| --- | --- |\n| 試験日 | 2026年 |")
    assert "<table>" in html and "<th>項目</th>" in html


def test_fiscal_year_label_at_era_changes():
    assert format_fiscal_year_ja(1988) == "昭和63年度(1988年度)"
    assert format_fiscal_year_ja(1989) == "平成元年度(1989年度)"


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("2021", 2021),
        ("2021年度", 2021),
        ("２０２１年", 2021),
        ("令和3年度", 2021),
        ("令和3", 2021),
        ("令和元年度", 2019),
        ("平成31年度", 2019),
        ("R3", 2021),
        ("h31", 2019),
        ("昭和64年", 1989),
        ("令和", None),
        ("21", None),
        ("abc", None),
        ("大正3年", None),
    ],
)
def test_years_are_read_in_western_and_japanese_eras(text, year):
    assert parse_year(text) == year


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("2024-04-01", dt.date(2024, 4, 1)),
        ("2024/4/1", dt.date(2024, 4, 1)),
        ("2024年4月1日", dt.date(2024, 4, 1)),
        ("令和6年4月1日", dt.date(2024, 4, 1)),
        ("R6.4.1", dt.date(2024, 4, 1)),
        ("2024-02-30", None),
        ("2024-04", None),
        ("きのう", None),
    ],
)
def test_dates_are_read_as_people_write_them(text, date):
    assert parse_date(text) == date
