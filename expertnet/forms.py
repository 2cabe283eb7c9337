"""The 相談申込 form: a municipality asks to be introduced to experts (expertnet/consultations.py).

Every error names its field, so that the error summary at the top of the page reads on its own.
Text fields have no maxlength attribute (a browser would cut a pasted text without a word); the
limits are checked here with the count. Characters nobody types (control characters, NUL) and
characters that arrived broken (U+FFFD from invalid UTF-8) are errors at their field, and the
value shown again is the one typed without the characters HTML cannot carry.
"""

import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q, Value
from django.db.models.functions import Coalesce, Concat
from django.utils.translation import gettext_lazy as _

from expertnet.models import Expert
from portal.models import Municipality, Prefecture, Theme

# Characters HTML cannot carry: C0/C1 controls other than tab, line feed and carriage return, and
# the Unicode noncharacters.
_UNSHOWABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")
_LINE_BREAKS = re.compile("[\t\n\r]")
REPLACEMENT_CHARACTER = "\ufffd"
_SPACES = re.compile(r"\s+")
# Hyphens and dashes people type in phone numbers (after NFKC): ‐ ‑ ‒ – — ― − ー
_DASHES = re.compile("[\u2010-\u2015\u2212\u30fc\uff70]")

MESSAGE_MAX_LENGTH = 4000
AMBIGUOUS_SHOWN = 20
REQUESTED_EXPERTS_MAX = 50


def showable(text: str) -> str:
    """``text`` without the characters HTML cannot carry."""
    return _UNSHOWABLE.sub("", text)


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII, half-width kana to full-width), no spaces."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text))


def to_hiragana(text: str) -> str:
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


# --- Widgets ------------------------------------------------------------------------------------


class ShowableMixin:
    """Shows the value typed, without the characters HTML cannot carry."""

    def format_value(self, value):
        value = super().format_value(value)
        return showable(value) if isinstance(value, str) else value


class TextInput(ShowableMixin, forms.TextInput):
    pass


class EmailInput(ShowableMixin, forms.TextInput):
    """type="text" with the e-mail keyboard: an address typed wrong is shown again as it was typed,
    which type="email" would make invalid HTML."""

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "email", "spellcheck": "false", **(attrs or {})})


class TelInput(ShowableMixin, forms.TextInput):
    input_type = "tel"


class Textarea(ShowableMixin, forms.Textarea):
    pass


# --- Fields -------------------------------------------------------------------------------------


class TextField(forms.CharField):
    """A text field whose errors name it, with a length limit counted for the person typing."""

    def __init__(self, *, limit: int, multiline: bool = False, required_message=None, **kwargs):
        self.limit = limit
        self.multiline = multiline
        kwargs.setdefault("widget", Textarea if multiline else TextInput)
        super().__init__(**kwargs)
        if required_message:
            self.error_messages["required"] = required_message

    def to_python(self, value):
        if value not in self.empty_values and not isinstance(value, str):
            value = str(value)
        return super().to_python(value)

    def validate(self, value):
        super().validate(value)
        if value in self.empty_values:
            return
        if _UNSHOWABLE.search(value) or (not self.multiline and _LINE_BREAKS.search(value)):
            raise ValidationError(
                _(
                    "%(label)sに入力できない文字(制御文字など)が含まれていたため、取り除きました。"
                    "内容を確かめて、もう一度送信してください"
                ),
                code="control_characters",
                params={"label": self.label},
            )
        if REPLACEMENT_CHARACTER in value:
            raise ValidationError(
                _("%(label)sに正しく読み取れない文字(�)が含まれています。その文字を入力し直してください"),
                code="replacement_character",
                params={"label": self.label},
            )
        if len(value) > self.limit:
            raise ValidationError(
                _("%(label)sは%(limit)s文字以内で入力してください(現在 %(count)s 文字)"),
                code="max_length",
                params={"label": self.label, "limit": self.limit, "count": len(value)},
            )


class PhoneField(TextField):
    """A Japanese phone number, loosely: digits, hyphens, parentheses and spaces, 10 or 11 digits."""

    def clean(self, value):
        value = super().clean(value)
        number = _DASHES.sub("-", unicodedata.normalize("NFKC", value)).strip()
        if not re.fullmatch(r"[0-9()\- ]+", number) or not 10 <= sum(c.isdigit() for c in number) <= 11:
            raise ValidationError(
                _("電話番号は、市外局番から10桁または11桁の数字で入力してください(例: 03-5253-5111)"),
                code="invalid",
            )
        return number


class EmailAddressField(TextField):
    def __init__(self, **kwargs):
        super().__init__(widget=EmailInput, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        address = unicodedata.normalize("NFKC", value).strip()
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(
                _("メールアドレスの形式が正しくありません(例: chiiki@city.example.lg.jp)"), code="invalid"
            ) from None
        return address


class MunicipalityField(TextField):
    """A municipality by its 全国地方公共団体コード (6 digits, or 5 without the check digit), by the
    "code name" the suggestion list gives, or by its exact name or reading, with or without the
    prefecture: 363022, 「363022 徳島県上勝町」, 上勝町, 徳島県上勝町, かみかつちょう."""

    def clean(self, value):
        text = super().clean(value)
        return resolve_municipality(text)


def municipalities():
    """Municipalities with what their full name needs, and the name as written in addresses."""
    return (
        Municipality.objects.select_related("prefecture", "parent")
        .annotate(full=Concat(Coalesce("parent__name", Value("")), "name"))
        .order_by("code")
    )


def display_name(municipality: Municipality) -> str:
    """徳島県上勝町, 北海道札幌市中央区."""
    return f"{municipality.prefecture.name}{municipality.full_name}"


def spellings(name: str) -> set[str]:
    """A name as typed and with ケ and ヶ swapped: official names use either (龍ケ崎市, 茅ヶ崎市),
    and people type the other one as often as not."""
    return {name, name.replace("ヶ", "ケ"), name.replace("ケ", "ヶ")}


def split_prefecture(key: str) -> tuple[str | None, str]:
    """("36", "上勝町") for "徳島県上勝町"; (None, key) when it does not start with a prefecture."""
    for code, name in Prefecture.objects.values_list("code", "name"):
        if key.startswith(name):
            return code, key[len(name) :]
    return None, key


def by_name(key: str) -> list[Municipality]:
    """Municipalities whose name, full name or reading is ``key`` (an optional prefecture first)."""
    prefecture, rest = split_prefecture(key)
    if not rest:
        return []
    names = spellings(rest)
    found = municipalities().filter(Q(name__in=names) | Q(full__in=names) | Q(name_kana=to_hiragana(rest)))
    if prefecture:
        found = found.filter(prefecture_id=prefecture)
    return list(found[: AMBIGUOUS_SHOWN + 1])


def resolve_municipality(text: str) -> Municipality:
    key = normalise(text)
    shown = text.strip()[:40]
    code = re.fullmatch(r"(\d{5,6})(\D.*)?", key)
    if code:
        digits, rest = code.group(1), code.group(2)
        lookup = {"code": digits} if len(digits) == 6 else {"code__startswith": digits}  # 5: no check digit
        municipality = municipalities().filter(**lookup).first()
        if municipality is None:
            raise ValidationError(
                _(
                    "市区町村コード「%(code)s」に当たる市区町村はありません。6桁の全国地方公共団体コードを確かめてください"
                ),
                code="unknown_code",
                params={"code": digits},
            )
        if rest and municipality.pk not in {m.pk for m in by_name(rest)}:
            raise ValidationError(
                _(
                    "市区町村コード「%(code)s」は%(name)sのコードで、「%(text)s」とは一致しません。コードか名前を直してください"
                ),
                code="code_name_mismatch",
                params={"code": municipality.code, "name": display_name(municipality), "text": rest},
            )
        return municipality
    if not key or len(key) > 40:
        raise unknown_municipality(shown)
    found = by_name(key)
    if len(found) == 1:
        return found[0]
    if not found:
        raise unknown_municipality(shown)
    candidates = "、".join(f"{m.code} {display_name(m)}" for m in found[:AMBIGUOUS_SHOWN])
    if len(found) > AMBIGUOUS_SHOWN:
        candidates += "、…"
    raise ValidationError(
        _(
            "「%(text)s」という名前の市区町村は複数あります。次の中から選び、コードを付けて"
            "(例: 「%(example)s」)入力してください: %(candidates)s"
        ),
        code="ambiguous",
        params={"text": shown, "example": f"{found[0].code} {display_name(found[0])}", "candidates": candidates},
    )


def unknown_municipality(shown: str) -> ValidationError:
    return ValidationError(
        _(
            "「%(text)s」に当たる市区町村が見つかりません。6桁の全国地方公共団体コードか、"
            "「徳島県上勝町」のような正式な名前で入力してください"
        ),
        code="unknown",
        params={"text": shown},
    )


class ChoicesField(forms.ModelMultipleChoiceField):
    """Checkboxes of model objects, by a readable key; a value that is not a choice is one error."""

    def __init__(self, queryset, *, invalid_message, **kwargs):
        super().__init__(queryset, required=False, widget=forms.CheckboxSelectMultiple, **kwargs)
        for code in ("invalid_choice", "invalid_pk_value", "invalid_list"):
            self.error_messages[code] = invalid_message

    def clean(self, value):
        if value and (
            not isinstance(value, list | tuple)
            or any(not isinstance(v, str) or _UNSHOWABLE.search(v) or len(v) > 100 for v in value)
        ):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().clean(value)


# --- The form -----------------------------------------------------------------------------------


class ConsultationForm(forms.Form):
    municipality = MunicipalityField(
        label=_("市区町村"),
        limit=60,
        required_message=_("市区町村を入力してください"),
        help_text=_(
            "6桁の全国地方公共団体コードか、名前を入力してください(例: 363022、上勝町、徳島県上勝町)。"
            "同じ名前の市区町村がある場合は、都道府県名から入力してください。"
        ),
    )
    department = TextField(label=_("担当部署"), limit=200, required_message=_("担当部署を入力してください"))
    contact_person = TextField(label=_("担当者名"), limit=100, required_message=_("担当者名を入力してください"))
    email = EmailAddressField(
        label=_("メールアドレス"),
        limit=254,
        required_message=_("メールアドレスを入力してください"),
        help_text=_("受付の確認メールをこのアドレスにお送りします。"),
    )
    phone = PhoneField(
        label=_("電話番号"),
        limit=40,
        widget=TelInput,
        required_message=_("電話番号を入力してください"),
        help_text=_("市外局番から入力してください(例: 03-5253-5111)。"),
    )
    themes = ChoicesField(
        Theme.objects.all(),
        to_field_name="key",
        label=_("相談したい分野"),
        invalid_message=_("相談したい分野に、選択肢にない値が含まれています。選び直してください"),
    )
    message = TextField(
        label=_("相談内容"),
        limit=MESSAGE_MAX_LENGTH,
        multiline=True,
        required_message=_("相談内容を入力してください"),
        help_text=_("地域の課題、専門家に期待すること、希望する時期などを、4,000文字以内で書いてください。"),
    )
    preferred_experts = ChoicesField(
        Expert.objects.none(),  # the published experts, set per form
        to_field_name="slug",
        label=_("希望する専門家"),
        invalid_message=_("希望する専門家に、選択肢にない値が含まれています。選び直してください"),
    )
    consent = forms.BooleanField(
        label=_("個人情報の取扱いに同意します"),
        error_messages={"required": _("個人情報の取扱いへの同意を確認してください")},
    )
    # The honeypot: hidden from people and assistive technology; only a robot fills it in.
    homepage = forms.CharField(
        label=_("この欄には何も入力しないでください"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    HONEYPOT = "homepage"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["preferred_experts"].queryset = Expert.objects.published().only(
            "slug", "name", "name_kana", "affiliation", "is_sample"
        )
        self.fields["message"].widget.attrs.update({"rows": 10})
        self.fields["municipality"].widget.attrs.update({"autocomplete": "off"})
        self.fields["department"].widget.attrs.update({"autocomplete": "organization-title"})
        self.fields["contact_person"].widget.attrs.update({"autocomplete": "name"})
        self.fields["email"].widget.attrs.update({"autocomplete": "email"})
        self.fields["phone"].widget.attrs.update({"autocomplete": "tel"})

    def summary(self) -> list[tuple[str, str]]:
        """(element id, message) of every error, in the order of the fields, for the summary."""
        out = []
        for name in self.fields:
            if name == self.HONEYPOT:
                continue
            field = self[name]
            for message in field.errors:
                out.append((first_control_id(field), message))
        out += [("", message) for message in self.non_field_errors()]
        return out


def first_control_id(field) -> str:
    """The id the summary links to: the input, or the first checkbox of a group."""
    if isinstance(field.field.widget, forms.CheckboxSelectMultiple):
        return f"{field.auto_id}_0"
    return field.auto_id
