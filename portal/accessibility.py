"""The latest automated accessibility results, shown on the accessibility policy page.

`make a11y-report` runs the site-wide crawl (tests/test_site_pages.py) and writes what it measured
to fixtures/accessibility-results.json; the policy page shows that file as a table.
"""

import datetime
import json
from functools import lru_cache

from django.conf import settings

RESULTS_FILE = settings.BASE_DIR / "fixtures" / "accessibility-results.json"


@lru_cache(maxsize=1)
def render_results() -> dict | None:
    try:
        data = json.loads(RESULTS_FILE.read_text(encoding="utf-8"))
        data["date_obj"] = datetime.date.fromisoformat(data["date"])
        return data
    except (OSError, ValueError, KeyError):
        return None
