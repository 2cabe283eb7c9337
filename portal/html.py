"""Small HTML builders for the long, repeated parts of list pages (select options, rows).

A list page's filters hold a hundred options or more; drawing them with string formatting takes
a fraction of the template engine's time (docs/decisions/0007-case-study-facets.md). Every text
is escaped here.
"""

from collections.abc import Iterable
from html import escape

from django.utils.safestring import SafeString, mark_safe


def options(items: Iterable[tuple[object, object]], selected: object) -> SafeString:
    """``<option>`` elements for (value, label) pairs; the one equal to ``selected`` is selected."""
    selected = "" if selected is None else str(selected)
    return mark_safe(  # noqa: S308 (values and labels are escaped)
        "".join(
            f'<option value="{escape(str(value))}"{" selected" if str(value) == selected else ""}>'
            f"{escape(str(label))}</option>"
            for value, label in items
        )
    )
