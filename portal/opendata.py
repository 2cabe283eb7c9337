"""What every open-data list shares: the licence, and CSV and JSON streamed row by row.

CSV comes in UTF-8 with a byte-order mark (so that Excel opens the Japanese intact) or in plain
UTF-8; JSON is {"licence": …, "<key>": [rows]}. Rows are written as they are read, so a list of
100,000 items never sits in memory.
"""

import csv
import functools
import json
from collections.abc import Callable, Iterable

from django.contrib.syndication.views import Feed
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_safe

LICENCE = "公共データ利用規約(第1.0版)(PDL1.0) https://www.digital.go.jp/resources/open_data/public_data_license_v1.0"


class _Echo:
    def write(self, value):
        return value


def csv_response(items: Iterable, row: Callable[[object], dict], names: list[str], *, bom: bool, filename: str):
    writer = csv.writer(_Echo())

    def lines():
        yield ("\ufeff" if bom else "") + writer.writerow(names)
        for item in items:
            data = row(item)
            yield writer.writerow([data[n] for n in names])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def json_response(items: Iterable, row: Callable[[object], dict], *, key: str):
    def chunks():
        yield '{"licence": ' + json.dumps(LICENCE, ensure_ascii=False) + f', "{key}": ['
        for i, item in enumerate(items):
            yield ("," if i else "") + json.dumps(row(item), ensure_ascii=False)
        yield "]}"

    return StreamingHttpResponse(chunks(), content_type="application/json; charset=utf-8")


class ListExports:
    """The open-data views of one filtered list: CSV for Excel (UTF-8 with BOM), plain UTF-8 CSV and
    JSON, all from the list's URL filters. ``filtered(request)`` gives the queryset in order,
    ``row(request, obj)`` one row as a dict with the keys of ``fields``."""

    def __init__(self, *, filtered, row, fields, name: str, key: str):
        self.filtered, self.row, self.names = filtered, row, [n for n, _ in fields]
        self.name, self.key = name, key
        self.csv_excel = require_safe(functools.partial(self._csv, bom=True, filename=f"{name}.csv"))
        self.csv = require_safe(functools.partial(self._csv, bom=False, filename=f"{name}-utf8.csv"))
        self.json = require_safe(self._json)

    def _rows(self, request):
        return self.filtered(request).iterator(chunk_size=500), lambda obj: self.row(request, obj)

    def _csv(self, request, *, bom: bool, filename: str):
        items, row = self._rows(request)
        return csv_response(items, row, self.names, bom=bom, filename=filename)

    def _json(self, request):
        items, row = self._rows(request)
        return json_response(items, row, key=self.key)


class ListFeed(Feed):
    """The Atom feed of a filtered list: the 50 first items of ``filtered(request)``, linking back to
    the list with the same filters. Subclasses name the list and describe the items."""

    feed_type = Atom1Feed
    list_url_name = ""
    limit = 50

    def filtered(self, request):
        raise NotImplementedError

    def get_object(self, request):
        return request

    def link(self, request):
        query = request.GET.urlencode()
        return reverse(self.list_url_name) + (f"?{query}" if query else "")

    def items(self, request):
        return self.filtered(request)[: self.limit]

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_categories(self, item):
        return [t.name for t in item.themes.all()]

    def feed_copyright(self, request):
        return LICENCE
