"""Guards for model choice fields and the admin's autocomplete widgets against values that are not
keys, so that bad input gets the field's own message and never a 500.

Django looks posted choices up in the database before it knows they can be keys:
- ModelMultipleChoiceField checks its values with ``filter(pk__in=values)``, and ModelChoiceField
  with ``get(pk=value)``: a number too large for the column raises OverflowError on SQLite and
  DataError on PostgreSQL, neither of which the field catches;
- AutocompleteSelect, drawing a form that failed again, looks the posted value up the same way, so a
  NUL byte or letters for a number raise while the error page renders.
Values that cannot be keys of the target model are refused (the fields) or dropped (the widget)
before those queries. Installed once, from PortalConfig.ready(); portal/tests/test_admin_bad_input.py
holds it.
"""

from django import forms
from django.contrib.admin.widgets import AutocompleteMixin
from django.core.exceptions import ValidationError
from django.db import models

BIGGEST_KEY = 2**63 - 1


def is_key(field: models.Field, value) -> bool:
    """Whether ``value`` can be a value of the key column ``field``."""
    if value in (None, ""):
        return True  # empty: the form field's own rules apply
    try:
        prepared = field.to_python(value)
    except (ValidationError, TypeError, ValueError):
        return False
    if isinstance(prepared, int):
        return -BIGGEST_KEY <= prepared <= BIGGEST_KEY
    return "\x00" not in str(prepared)


def key_field(choice_field: forms.ModelChoiceField) -> models.Field:
    meta = choice_field.queryset.model._meta
    return meta.get_field(choice_field.to_field_name) if choice_field.to_field_name else meta.pk


def install() -> None:
    if getattr(forms.ModelChoiceField, "_portal_guarded", False):
        return

    to_python = forms.ModelChoiceField.to_python

    def guarded_to_python(self, value):
        if not isinstance(value, self.queryset.model) and not is_key(key_field(self), value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return to_python(self, value)

    check_values = forms.ModelMultipleChoiceField._check_values

    def guarded_check_values(self, value):
        field = key_field(self)
        for item in value if isinstance(value, list | tuple | set | frozenset) else []:
            if not is_key(field, item):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": item}
                )
        return check_values(self, value)

    optgroups = AutocompleteMixin.optgroups

    def guarded_optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        meta = remote.model._meta
        target = meta.get_field(getattr(remote, "field_name", None) or meta.pk.name)
        return optgroups(self, name, [v for v in value if is_key(target, v)], attr)

    forms.ModelChoiceField.to_python = guarded_to_python
    forms.ModelMultipleChoiceField._check_values = guarded_check_values
    AutocompleteMixin.optgroups = guarded_optgroups
    forms.ModelChoiceField._portal_guarded = True
