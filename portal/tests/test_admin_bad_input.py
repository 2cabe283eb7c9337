"""Bad input in the admin: an error message and every typed value kept, never a 500."""

import pytest
from django import forms
from django.contrib.auth.models import Group, User

from casestudies.models import CaseStudy
from expertnet.models import Expert, Seminar
from initiatives.models import Initiative
from portal.models import NewsItem, Page
from portal.roles import ADMINISTRATORS
from portal.tests.admin_forms import change_form

pytestmark = pytest.mark.django_db

CONTENT = [Initiative, Page, NewsItem, CaseStudy, Expert, Seminar]
KEPT = "編集者が入力した本文はエラーの後も残ります"


@pytest.fixture
def publisher(client):
    user = User.objects.create_user("publisher", password="a-long-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=ADMINISTRATORS))
    client.force_login(user)
    return client


def spoil(data: dict) -> dict:
    """The form's values with each kind of field given something it cannot take."""
    bad = dict(data)
    for name in list(bad):
        if name.startswith(("csrf", "_")) or "-" in name:
            continue
        if name.endswith(("_0",)) or name in ("published_at", "unpublish_at"):
            bad[name] = "2026-02-30"  # no such day
        elif name.endswith("_1"):
            bad[name] = "25:61"
        elif name in ("slug",):
            bad[name] = "スラッグに 空白"
    return bad


@pytest.mark.parametrize("model", CONTENT)
def test_a_spoiled_form_keeps_every_value_and_says_what_is_wrong(publisher, model):
    obj = model.objects.order_by("id").first()
    url = f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"
    data = spoil(change_form(publisher, url))
    text_field = next(n for n in ("body_ja", "profile_ja", "summary_ja", "description_ja") if n in data)
    data[text_field] = KEPT
    response = publisher.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "修正してください" in html or "errornote" in html
    assert KEPT in html
    assert 'value="2026-02-30"' in html


BAD_VALUES = ["\x00", "9" * 40, "-1", "<script>alert(1)</script>", "１２３", "x" * 5000, "%ff", "2026-13-45"]


def typed_fields(data: dict) -> list[str]:
    counts = ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")
    return [n for n in data if not n.startswith(("csrf", "_")) and not n.endswith(counts)]


@pytest.mark.parametrize("model", CONTENT)
@pytest.mark.parametrize("value", BAD_VALUES)
def test_no_field_takes_down_the_admin(publisher, model, value):
    """Every field of the form at once gets a value that does not fit it: each is checked and
    drawn again with its error."""
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/add/"
    data = change_form(publisher, url)
    response = publisher.post(url, {**data, **dict.fromkeys(typed_fields(data), value)})
    assert response.status_code == 200


@pytest.mark.parametrize("model", CONTENT)
def test_one_bad_field_among_good_ones(publisher, model):
    """One field at a time: the others valid, so the model's own checks run too."""
    obj = model.objects.order_by("id").first()
    url = f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"
    data = change_form(publisher, url)
    form = publisher.get(url).context["adminform"].form
    # The fields Django looks up or converts before validating: choices of rows, numbers, dates.
    looked_up = (
        forms.ModelChoiceField,
        forms.IntegerField,
        forms.DecimalField,
        forms.DateField,
        forms.SplitDateTimeField,
    )
    for name in [n for n in typed_fields(data) if isinstance(form.fields.get(n), looked_up)]:
        for value in ("\x00", "9" * 40):
            response = publisher.post(url, {**data, name: value})
            assert response.status_code in (200, 302), (name, value, response.status_code)
            data = change_form(publisher, url) if response.status_code == 302 else data


@pytest.mark.parametrize("model", CONTENT)
@pytest.mark.parametrize(
    "query",
    [
        "status=nonsense",
        "published_at__gte=yesterday",
        "o=99.x",
        "p=-1",
        "q=%00",
        "state__exact=%FF",
        "updated_at__year=abcd",
        "id__in=1,x",
    ],
)
def test_lists_with_bad_parameters_do_not_fail(publisher, model, query):
    response = publisher.get(f"/admin/{model._meta.app_label}/{model._meta.model_name}/?{query}")
    assert response.status_code in (200, 302, 400)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/portal/newsitem/999999/change/",
        "/admin/portal/newsitem/abc/change/",
        "/admin/portal/newsitem/%00/change/",
        "/admin/casestudies/casestudy/999999/change/preview/",
    ],
)
def test_missing_items_are_not_errors(publisher, path):
    assert publisher.get(path).status_code in (302, 404, 405)
