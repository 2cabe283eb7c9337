"""What a browser would post from an admin form: the form's fields and values, read from its HTML.

Tests change a value or two and post the rest as the editor's browser would, inline management
forms included, instead of writing out every field of a content type by hand.
"""

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, form_id: str | None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.depth = 0  # > 0 inside the wanted form
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.select_values: list[str] = []
        self.select_first: str | None = None
        self.multiple = False
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if self.depth:
                self.depth += 1
            elif self.form_id is None or a.get("id") == self.form_id:
                self.depth = 1
            return
        if not self.depth:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type", "text") not in ("submit", "button", "file", "image", "reset"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value", "on")))
            else:
                self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self.select, self.select_values, self.select_first = name, [], None
            self.multiple = "multiple" in a
        elif tag == "option" and self.select is not None:
            value = a.get("value", "")
            if self.select_first is None:
                self.select_first = value
            if "selected" in a:
                self.select_values.append(value)
        elif tag == "textarea" and name:
            self.textarea, self.text = name, []

    def handle_endtag(self, tag):
        if tag == "form" and self.depth:
            self.depth -= 1
        elif tag == "select" and self.select is not None:
            values = self.select_values or ([] if self.multiple else [self.select_first or ""])
            self.fields.extend((self.select, v) for v in values)
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = "".join(self.text)
            self.fields.append((self.textarea, text[1:] if text.startswith("\n") else text))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.text.append(data)


def form_data(html: str | bytes, form_id: str | None = None) -> dict[str, str | list[str]]:
    """The fields of the form ``form_id`` (or the first form) as a dict for ``client.post``: one
    value per name, a list where a name has several (multiple selects, checkboxes)."""
    reader = _FormReader(form_id)
    reader.feed(html.decode() if isinstance(html, bytes) else html)
    data: dict[str, str | list[str]] = {}
    for name, value in reader.fields:
        if name in data:
            current = data[name]
            data[name] = [*current, value] if isinstance(current, list) else [current, value]
        else:
            data[name] = value
    return data


def change_form(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return form_data(response.content, form_id=_form_id(response))


def _form_id(response) -> str | None:
    opts = response.context_data.get("opts") if hasattr(response, "context_data") else None
    return f"{opts.model_name}_form" if opts else None
