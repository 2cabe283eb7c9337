"""What every open-data list shares: the licence, and CSV and JSON streamed row by row.

CSV comes in UTF-8 with a byte-order mark (so that Excel opens the Japanese intact) or in plain
UTF-8; JSON is {"licence": …, "<key>": [rows]}. Rows are written as they are read, so a list of
100,000 items never sits in memory.
"""

import csv
import json
from collections.abc import Callable, Iterable

from django.http import StreamingHttpResponse

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
