import pytest

from portal.content import region_for
from portal.models import Municipality, MunicipalityKind, Prefecture, Region

pytestmark = pytest.mark.django_db


def test_all_prefectures_and_municipalities_are_loaded_by_migration():
    assert Prefecture.objects.count() == 47
    assert Municipality.objects.exclude(kind=MunicipalityKind.WARD).count() == 1741
    assert Municipality.objects.filter(kind=MunicipalityKind.SPECIAL_WARD).count() == 23
    assert Municipality.objects.filter(kind=MunicipalityKind.WARD).count() == 175


def test_every_row_has_code_name_reading_and_region():
    for pref in Prefecture.objects.all():
        assert len(pref.lgcode) == 6 and pref.name and pref.name_kana and pref.region
    assert not Municipality.objects.filter(name="").exists()
    assert not Municipality.objects.filter(name_kana="").exists()
    assert all(len(code) == 6 and code.isdigit() for code in Municipality.objects.values_list("code", flat=True))


def test_municipality_codes_carry_a_valid_check_digit():
    # 全国地方公共団体コード: the sixth digit is a check digit over the first five (JIS X 0401/0402).
    for code in Municipality.objects.values_list("code", flat=True):
        digits = [int(c) for c in code[:5]]
        total = sum(d * w for d, w in zip(digits, (6, 5, 4, 3, 2), strict=True))
        check = (11 - total % 11) % 10
        assert int(code[5]) == check, code


def test_wards_are_linked_to_their_designated_city():
    chuo = Municipality.objects.select_related("parent", "prefecture").get(code="011011")
    assert chuo.name == "中央区"
    assert chuo.parent.name == "札幌市"
    assert chuo.full_name == "札幌市中央区"
    assert chuo.prefecture.name == "北海道"
    assert not Municipality.objects.filter(kind=MunicipalityKind.WARD, parent__isnull=True).exists()
    # Tokyo's special wards are municipalities of their own, not wards of a city.
    chiyoda = Municipality.objects.get(code="131016")
    assert chiyoda.kind == MunicipalityKind.SPECIAL_WARD and chiyoda.parent is None


@pytest.mark.parametrize(
    ("number", "region"),
    [
        (1, Region.HOKKAIDO),
        (7, Region.TOHOKU),
        (8, Region.KANTO),
        (15, Region.CHUBU),
        (24, Region.KINKI),
        (31, Region.CHUGOKU),
        (37, Region.SHIKOKU),
        (40, Region.KYUSHU_OKINAWA),
        (47, Region.KYUSHU_OKINAWA),
    ],
)
def test_regions(number, region):
    assert region_for(number) == region
    assert Region.for_prefecture(number) == region
    assert Prefecture.objects.get(code=f"{number:02d}").region == region


def test_region_counts():
    counts = {r: Prefecture.objects.filter(region=r).count() for r in Region.values}
    assert counts == {
        "hokkaido": 1,
        "tohoku": 6,
        "kanto": 7,
        "chubu": 9,
        "kinki": 7,
        "chugoku": 5,
        "shikoku": 4,
        "kyushu_okinawa": 8,
    }


def test_loading_again_creates_no_duplicates():
    from django.apps import apps

    from portal.content import load_places

    load_places(apps)
    assert Prefecture.objects.count() == 47
    assert Municipality.objects.count() == 1916


def test_fixture_keeps_source_and_licence():
    from portal.content import FIXTURES

    readme = (FIXTURES / "places" / "README.md").read_text(encoding="utf-8")
    assert "code4fukui/localgovjp" in readme and "CC0" in readme
