"""Benchmark of the search engine at a given size, against a plain LIKE scan in the same run.

    manage.py bench_search --docs 100000

Fills the database it runs on with sample news (portal.sample_data) up to --docs, then times a
fixed set of queries: p50 and p95 of the engine (counts + the first 20 ranked hits with
snippets, what the search page does) and of a LIKE scan over the normalised text (count + the
newest 20), and the ratio of the two. Run it on a database of its own: `make bench-search`.
"""

import json
import statistics
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Q

from portal.models import SearchEntry
from portal.sample_data import generate_news
from portal.search.engine import search
from portal.search.query import parse
from portal.search.rebuild import progress_bar

QUERIES = [
    ("1 character", "農"),
    ("2 characters", "観光"),
    ("2 characters", "移住"),
    ("3+ characters", "空き家"),
    ("3+ characters", "協力隊"),
    ("3+ characters, long", "地域おこし協力隊"),
    ("several terms", "観光 移住"),
    ("several terms", "棚田 保全 高校生"),
    ("phrase", '"ふるさと納税"'),
    ("exclusion", "観光 -温泉"),
    ("no hit", "量子コンピュータ"),
    ("kana variant", "サテライトおふぃす"),
]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def like_scan(q: str) -> int:
    parsed = parse(q)
    rows = SearchEntry.objects.filter(language="ja", kind="news")
    for term in parsed.include:
        for run in term.runs:
            rows = rows.filter(Q(title_norm__contains=run) | Q(body_norm__contains=run))
    for term in parsed.exclude:
        for run in term.runs:
            rows = rows.exclude(Q(title_norm__contains=run) | Q(body_norm__contains=run))
    count = rows.count()
    list(rows.order_by("-date").values_list("rank_key", "title")[:20])
    return count


def engine_search(q: str):
    result = search(parse(q), language="ja", kinds=["news"], limit=20)
    group = result.groups[0]
    [str(h.snippet_html) for h in group.hits]
    return group.count, group.approximate


class Command(BaseCommand):
    help = "Time the search engine against a LIKE scan at --docs sample documents."

    def add_arguments(self, parser):
        parser.add_argument("--docs", type=int, default=100_000)
        parser.add_argument("--runs", type=int, default=25, help="timed runs of each query on the engine")
        parser.add_argument("--like-runs", type=int, default=3, help="timed runs of each query as a LIKE scan")
        parser.add_argument("--json", dest="json_path", default="", help="write the results here as JSON")

    def handle(self, *args, docs, runs, like_runs, json_path: str, **options):
        vendor = connection.vendor
        self.stderr.write(f"Sample news on {vendor}: filling up to {docs:,} …")
        generate_news(docs, progress=progress_bar(self.stderr._out))
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE portal_searchentry")
        indexed = SearchEntry.objects.filter(language="ja", kind="news").count()
        rows = []
        for label, q in QUERIES:
            engine_search(q)  # warm the caches once, as a live server is warm
            timings, count, approximate = [], 0, False
            for _ in range(runs):
                start = time.perf_counter()
                count, approximate = engine_search(q)
                timings.append((time.perf_counter() - start) * 1000)
            like_timings, like_count = [], 0
            for _ in range(like_runs):
                start = time.perf_counter()
                like_count = like_scan(q)
                like_timings.append((time.perf_counter() - start) * 1000)
            rows.append(
                {
                    "kind": label,
                    "query": q,
                    "hits": count,
                    "approximate": approximate,
                    "like_hits": like_count,
                    "p50_ms": round(statistics.median(timings), 2),
                    "p95_ms": round(percentile(timings, 95), 2),
                    "like_p50_ms": round(statistics.median(like_timings), 1),
                    "speedup": round(statistics.median(like_timings) / max(statistics.median(timings), 0.001), 1),
                }
            )
        all_timings_p95 = max(r["p95_ms"] for r in rows)
        self.stdout.write(f"\nSearch benchmark: {vendor}, {indexed:,} documents (ja), {runs} runs a query\n")
        header = f"{'query':<22}{'kind':<22}{'hits':>9}{'p50 ms':>9}{'p95 ms':>9}{'LIKE ms':>10}{'×':>8}"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for r in rows:
            hits = ("~" if r["approximate"] else "") + f"{r['hits']:,}"
            self.stdout.write(
                f"{r['query']:<22}{r['kind']:<22}{hits:>9}{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}"
                f"{r['like_p50_ms']:>10.1f}{r['speedup']:>8.1f}"
            )
        self.stdout.write(
            f"\nworst p95: {all_timings_p95:.2f} ms; least speed-up over LIKE: {min(r['speedup'] for r in rows):.1f}×"
        )
        mismatched = [r["query"] for r in rows if not r["approximate"] and r["hits"] != r["like_hits"]]
        if mismatched:
            self.stdout.write(self.style.WARNING(f"counts differ from the LIKE scan for: {mismatched}"))
        if json_path:
            path = Path(json_path)
            if not path.is_absolute():
                path = Path(settings.BASE_DIR) / path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                json.dumps(
                    {"database": vendor, "documents": indexed, "runs": runs, "queries": rows},
                    ensure_ascii=False,
                    indent=2,
                ),
                encoding="utf-8",
            )
            self.stdout.write(f"written to {path}")
