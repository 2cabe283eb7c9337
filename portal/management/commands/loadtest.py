"""Sustained load on a mix of pages like real traffic, with checks: no errors, flat worker memory.

    manage.py loadtest --cases 100000 --experts 10000 --duration 60 --connections 64

Fills the database it runs on with the sample data of `make bench-pages` (bench_pages.
prepare_database), starts gunicorn with production settings (DEBUG off, portal.gunicorn_conf,
the production worker count) and drives it for --duration seconds with wrk and
scripts/loadtest.lua, which cycles through a list of paths this command writes: every page type,
in both languages, weighted like the portal's traffic (MIX), case and expert details over many
different ids, plus a share of missing pages (the intended 404s). Every second it reads each
worker's memory (RssAnon, from /proc).

It prints one table and writes the run to var/loadtest.json (under the database's name, so that
SQLite and PostgreSQL runs sit side by side), and it fails, naming the check, when

- wrk saw a socket error (connect, read, write, timeout);
- any response was 5xx;
- any other response was neither 2xx/3xx nor the intended 404;
- worker memory was not flat: the mean RssAnon of the workers over the last 10 s is more than
  --memory-growth (10%) above the mean over the first 10 s after a 5 s warm-up, which both
  windows leave out; the same holds for each worker alone, and no worker may be replaced.

No check depends on speed: req/s and latency are reported, not judged. Run it through
`make loadtest` (docs/operations.md, "Speed").
"""

import datetime as dt
import json
import logging
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from portal.management.commands.bench_pages import (
    free_port,
    prepare_database,
    start_gunicorn,
    stop_gunicorn,
    wait_until_up,
    worker_rss_by_pid,
)

LUA_SCRIPT = Path(settings.BASE_DIR) / "scripts" / "loadtest.lua"
MISSING_MARKER = "loadtest-missing"  # only the intended 404 paths contain it; their page repeats it
WARMUP_S = 5.0
WINDOW_S = 10.0

# Requests per 1,000 of each page type. The share of each follows what a public portal of case
# studies sees: most visitors land on a detail page from a search engine, then the home page and
# the lists; the keyword list and the site search are used by few; crawlers fetch sitemap.xml now
# and then (it is the heaviest response: every URL in both languages); stale links give 404s.
MIX: dict[str, int] = {
    "home": 120,
    "program list": 30,
    "program detail": 50,
    "case list": 60,
    "case list (filters)": 90,
    "case list (keyword)": 20,
    "case detail": 280,
    "expert list": 40,
    "expert list (filters)": 40,
    "expert detail": 80,
    "seminar list": 30,
    "seminar detail": 20,
    "news list": 30,
    "news detail": 50,
    "search": 40,
    "sitemap.xml": 1,
    "missing page (404)": 19,
}
ENGLISH_SHARE = 0.25  # of the requests for pages that have an English version (/en/…)
MONOLINGUAL = {"sitemap.xml"}  # one URL for both languages
EXPECTED_STATUS = {"missing page (404)": 404}  # every other page type answers 200
UNCHECKED = {"sitemap.xml"}  # not tried before the run: it is the slowest response by far
KEYWORDS = ["観光", "棚田", "ジビエ", "空き家バンク", "小水力発電", "酒蔵ツーリズム", "satellite office"]
SEARCH_WORDS = ["観光", "地域おこし協力隊", "ふるさと納税", "移住", "セミナー", "古民家", "community bus"]


# The mix ------------------------------------------------------------------------------------------


def english(path: str) -> str:
    return "/en" + path


def apportion(weights: dict[str, int], size: int) -> dict[str, int]:
    """``size`` requests shared out in proportion to the weights (largest remainders), each >= 1."""
    total = sum(weights.values())
    exact = {name: weight * size / total for name, weight in weights.items()}
    counts = {name: max(1, int(value)) for name, value in exact.items()}
    by_remainder = sorted(weights, key=lambda name: exact[name] - int(exact[name]), reverse=True)
    for name in by_remainder[: max(0, size - sum(counts.values()))]:
        counts[name] += 1
    return counts


def build_mix(
    candidates: dict[str, list[str]],
    *,
    size: int = 4000,
    weights: dict[str, int] = MIX,
    english_share: float = ENGLISH_SHARE,
    seed: int = 1,
) -> list[tuple[str, str]]:
    """(page type, path) pairs in a shuffled order, each type's share of ``size`` by its weight.

    ``candidates`` holds the Japanese paths of each page type; a type repeats its candidates only
    after using every one of them (so detail pages cover as many ids as the share allows), and
    ``english_share`` of each bilingual type's requests go to the English version (/en/…). Page
    types without candidates (no seminar published, say) are left out and the others share their
    weight.

    The list opens with one request of every page type in each of its languages (in random
    order), then the rest shuffled: wrk's first thread starts at the top, so every type is
    requested in the first seconds however slow the machine is, and whether a run passes does not
    depend on how far through the list its speed carries it.
    """
    rng = random.Random(seed)  # noqa: S311 - a repeatable mix, not security
    present = {name: weight for name, weight in weights.items() if candidates.get(name)}
    opening, rest = [], []
    for name, count in apportion(present, size).items():
        paths = list(candidates[name])
        rng.shuffle(paths)
        english_count = 0 if name in MONOLINGUAL else round(count * english_share)
        for i in range(count):
            path = paths[i % len(paths)]
            first_of_its_language = i == 0 or i == english_count
            (opening if first_of_its_language else rest).append((name, english(path) if i < english_count else path))
    rng.shuffle(opening)
    rng.shuffle(rest)
    return opening + rest


def page_candidates(*, per_type: int = 2000, seed: int = 1) -> dict[str, list[str]]:
    """Japanese paths of every page type of MIX, from the data that is there."""
    from casestudies.models import CaseStudy, PopulationBand
    from expertnet.models import KANA_ROWS, Expert, ExpertKind, Seminar
    from initiatives.models import Initiative
    from portal.models import NewsItem, Region, Theme

    rng = random.Random(seed)  # noqa: S311 - a repeatable mix, not security

    def some(queryset, route: str) -> list[str]:
        slugs = list(queryset.values_list("slug", flat=True))
        return [reverse(route, kwargs={"slug": slug}) for slug in rng.sample(slugs, min(per_type, len(slugs)))]

    themes = list(Theme.objects.order_by("order").values_list("key", flat=True))
    regions, bands, kinds = list(Region.values), list(PopulationBand.values), list(ExpertKind.values)
    kana = [key for key, _, _ in KANA_ROWS]
    prefs = [f"{code:02d}" for code in (1, 4, 13, 15, 20, 26, 27, 32, 38, 40, 47)]
    case_filters = (
        [f"?region={region}" for region in regions]
        + [f"?theme={theme}" for theme in themes]
        + [f"?pref={pref}" for pref in prefs]
        + [f"?region={rng.choice(regions)}&theme={rng.choice(themes)}&pop={rng.choice(bands)}" for _ in range(12)]
        + [f"?theme={rng.choice(themes)}&pop={rng.choice(bands)}&sort=pref" for _ in range(6)]
    )
    expert_filters = (
        [f"?theme={theme}&kana={rng.choice(kana)}" for theme in themes]
        + [f"?kind={kind}" for kind in kinds]
        + [f"?kind={rng.choice(kinds)}&region={region}" for region in regions]
        + [f"?place=dispatch&pref={pref}" for pref in prefs]
        + [f"?kana={key}" for key in kana]
    )
    case_list, expert_list = reverse("casestudies:list"), reverse("expertnet:list")
    return {
        "home": [reverse("portal:home")],
        "program list": [reverse("initiatives:list")],
        "program detail": some(Initiative.objects.published(), "initiatives:detail"),
        "case list": [case_list, case_list + "?page=2", case_list + "?sort=kana"],
        "case list (filters)": [case_list + query for query in case_filters],
        "case list (keyword)": [f"{case_list}?q={quote(word)}" for word in KEYWORDS]
        + [f"{case_list}?q={quote('移住')}&region={region}" for region in regions[:3]],
        "case detail": some(CaseStudy.objects.published(), "casestudies:detail"),
        "expert list": [expert_list, expert_list + "?page=2"],
        "expert list (filters)": [expert_list + query for query in expert_filters],
        "expert detail": some(Expert.objects.published(), "expertnet:expert"),
        "seminar list": [reverse("expertnet:seminars")],
        "seminar detail": some(Seminar.objects.published(), "expertnet:seminar"),
        "news list": [reverse("portal:news_list")],
        "news detail": some(NewsItem.objects.published(), "portal:news_detail"),
        "search": [f"{reverse('portal:search')}?q={quote(word)}" for word in SEARCH_WORDS],
        "sitemap.xml": [reverse("sitemap")],
        "missing page (404)": [
            f"/{MISSING_MARKER}-{i}/" for i in range(4)
        ]  # a page slug, a case, an expert, a news item that are not there
        + [reverse("casestudies:detail", kwargs={"slug": f"{MISSING_MARKER}-{i}"}) for i in range(4)]
        + [reverse("expertnet:expert", kwargs={"slug": f"{MISSING_MARKER}-{i}"}) for i in range(4)]
        + [reverse("portal:news_detail", kwargs={"slug": f"{MISSING_MARKER}-{i}"}) for i in range(4)],
    }


def mix_summary(mix: list[tuple[str, str]]) -> dict:
    counts: dict[str, int] = {}
    for name, _ in mix:
        counts[name] = counts.get(name, 0) + 1
    return {
        "paths": len(mix),
        "english": sum(path.startswith("/en/") for _, path in mix),
        "distinct_case_details": len({path for name, path in mix if name == "case detail"}),
        "distinct_expert_details": len({path for name, path in mix if name == "expert detail"}),
        "per_page": counts,
    }


# wrk's report -------------------------------------------------------------------------------------


@dataclass
class WrkReport:
    requests: int
    duration_s: float
    bytes: int
    connect_errors: int
    read_errors: int
    write_errors: int
    timeouts: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    ok_2xx: int
    ok_3xx: int
    expected_404: int
    unexpected_4xx: int
    server_5xx: int
    other: int
    codes: dict[int, int] = field(default_factory=dict)  # the unexpected statuses and how many

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts


def parse_report(output: str) -> WrkReport:
    """wrk's output with the line scripts/loadtest.lua's done() writes ("loadtest: key=value …")."""
    match = re.search(r"^loadtest: (.*)$", output, re.M)
    if not match:
        raise ValueError("wrk's output has no 'loadtest:' summary line (was scripts/loadtest.lua used?)")
    values = dict(pair.split("=", 1) for pair in match.group(1).split())
    number = lambda key: int(values[key])  # noqa: E731
    ms = lambda key: round(int(values[key]) / 1000, 2)  # noqa: E731
    codes = {int(code): int(n) for code, n in (item.split(":") for item in values.get("codes", "").split(",") if item)}
    return WrkReport(
        requests=number("requests"),
        duration_s=round(int(values["duration_us"]) / 1_000_000, 2),
        bytes=number("bytes"),
        connect_errors=number("connect"),
        read_errors=number("read"),
        write_errors=number("write"),
        timeouts=number("timeout"),
        p50_ms=ms("p50_us"),
        p90_ms=ms("p90_us"),
        p99_ms=ms("p99_us"),
        max_ms=ms("max_us"),
        mean_ms=ms("mean_us"),
        ok_2xx=number("2xx"),
        ok_3xx=number("3xx"),
        expected_404=number("expected_404"),
        unexpected_4xx=number("unexpected_4xx"),
        server_5xx=number("5xx"),
        other=number("other"),
        codes=codes,
    )


# Worker memory ------------------------------------------------------------------------------------

Sample = tuple[float, dict[int, float]]  # seconds since the load started, RssAnon MB by worker pid


@dataclass
class WorkerMemory:
    pid: int
    first_mb: float
    last_mb: float
    growth: float


@dataclass
class MemoryVerdict:
    limit: float
    warmup_s: float
    first_window: tuple[float, float]
    last_window: tuple[float, float]
    mean_first_mb: float | None = None
    mean_last_mb: float | None = None
    growth: float | None = None
    workers: list[WorkerMemory] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def flat(self) -> bool:
        return not self.problems


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def judge_memory(
    samples: list[Sample],
    *,
    end: float,
    limit: float = 0.10,
    warmup: float = WARMUP_S,
    window: float = WINDOW_S,
) -> MemoryVerdict:
    """Flat: the workers' mean RSS over the last ``window`` seconds before ``end`` is at most
    ``limit`` above their mean over the first ``window`` seconds after ``warmup``; so is each
    worker's own, and the workers are the same processes in both windows. Runs shorter than
    warmup + 2 windows split what follows the warm-up into two halves."""
    window = min(window, max(0.0, (end - warmup) / 2))
    first, last = (warmup, warmup + window), (end - window, end)
    verdict = MemoryVerdict(limit=limit, warmup_s=warmup, first_window=first, last_window=last)
    if window < 1:
        verdict.problems.append(f"the run is too short to judge memory ({end:.0f} s, warm-up {warmup:.0f} s)")
        return verdict
    early = [sizes for t, sizes in samples if first[0] <= t < first[1] and sizes]
    late = [sizes for t, sizes in samples if last[0] <= t <= last[1] and sizes]
    if not early or not late:
        verdict.problems.append("no memory samples in the first or the last window")
        return verdict
    early_pids = {pid for sizes in early for pid in sizes}
    late_pids = {pid for sizes in late for pid in sizes}
    if early_pids != late_pids:
        verdict.problems.append(
            f"workers were replaced during the run (gone: {sorted(early_pids - late_pids)}, "
            f"new: {sorted(late_pids - early_pids)}): a worker crashed or was killed"
        )
    # The mean of the same workers in both windows: a fresh replacement would pull it down.
    kept = (early_pids & late_pids) or (early_pids | late_pids)

    def window_mean(window_samples) -> float:
        return round(mean(mean(v for pid, v in sizes.items() if pid in kept) for sizes in window_samples), 1)

    verdict.mean_first_mb = window_mean([sizes for sizes in early if kept & sizes.keys()])
    verdict.mean_last_mb = window_mean([sizes for sizes in late if kept & sizes.keys()])
    verdict.growth = round(verdict.mean_last_mb / verdict.mean_first_mb - 1, 4)
    if verdict.growth > limit:
        verdict.problems.insert(
            0,
            f"worker memory grew {verdict.growth:+.1%} (mean RssAnon {verdict.mean_first_mb} MB in "
            f"{first[0]:.0f}-{first[1]:.0f} s, {verdict.mean_last_mb} MB in {last[0]:.0f}-{last[1]:.0f} s; "
            f"limit {limit:+.0%})",
        )
    for pid in sorted(early_pids & late_pids):
        first_mb = round(mean(sizes[pid] for sizes in early if pid in sizes), 1)
        last_mb = round(mean(sizes[pid] for sizes in late if pid in sizes), 1)
        growth = round(last_mb / first_mb - 1, 4)
        verdict.workers.append(WorkerMemory(pid=pid, first_mb=first_mb, last_mb=last_mb, growth=growth))
        if growth > limit:
            verdict.problems.append(f"worker {pid} grew {growth:+.1%} ({first_mb} MB to {last_mb} MB)")
    return verdict


class MemorySampler(threading.Thread):
    """Every worker's RssAnon once a second, timed from ``start`` (time.monotonic())."""

    def __init__(self, master_pid: int, start: float, interval: float = 1.0):
        super().__init__(daemon=True)
        self.master_pid, self.start_time, self.interval = master_pid, start, interval
        self.samples: list[Sample] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        tick = 0
        while True:
            self.samples.append((round(time.monotonic() - self.start_time, 2), worker_rss_by_pid(self.master_pid)))
            tick += 1
            if self.stopped.wait(max(0.0, self.start_time + tick * self.interval - time.monotonic())):
                return

    def stop(self) -> list[Sample]:
        self.stopped.set()
        self.join()
        return self.samples


# The server's log --------------------------------------------------------------------------------


def log_records(lines: list[str]) -> list[dict]:
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def server_times(lines: list[str], mix: list[tuple[str, str]]) -> list[dict]:
    """Where the workers' time went, from the request log (portal/request_log.py, one JSON line per
    request, its path without the query string): per page type, most total time first. Types that
    differ only in their query string (the lists with and without filters) are counted together."""
    names: dict[str, set[str]] = {}
    for name, path in mix:
        names.setdefault(path.split("?")[0], set()).add(name)
    durations: dict[str, list[float]] = {}
    for record in log_records(lines):
        if record.get("logger") != "portal.request" or "duration_ms" not in record:
            continue
        page = " / ".join(sorted(names.get(str(record.get("path")), {"other"})))
        durations.setdefault(page, []).append(float(record["duration_ms"]))
    total = sum(sum(values) for values in durations.values()) or 1.0
    rows = [
        {
            "page": page,
            "requests": len(values),
            "mean_ms": round(mean(values), 1),
            "max_ms": round(max(values), 1),
            "share": round(sum(values) / total, 3),
        }
        for page, values in durations.items()
    ]
    return sorted(rows, key=lambda row: row["share"], reverse=True)


def log_errors(lines: list[str]) -> list[str]:
    """The server's log lines at ERROR or above (tracebacks, worker timeouts), and lines that are
    not the portal's JSON (a crash before logging was set up)."""
    found = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            if line.strip():
                found.append(line.strip())
            continue
        if isinstance(record, dict) and str(record.get("level", "")).upper() in {"ERROR", "CRITICAL"}:
            found.append(f"{record.get('logger', '')}: {record.get('message', '')}".splitlines()[0])
    return found


# The checks ---------------------------------------------------------------------------------------


def failures(report: WrkReport, memory: MemoryVerdict) -> list[str]:
    """What failed, in words; empty when the run passed. Nothing here depends on speed."""
    found = []
    codes = lambda low, high: ", ".join(  # noqa: E731
        f"{code}: {n}" for code, n in sorted(report.codes.items()) if low <= code < high
    )
    if report.requests == 0:
        found.append("no responses at all")
    if report.socket_errors:
        found.append(
            f"{report.socket_errors} socket errors (connect {report.connect_errors}, read {report.read_errors}, "
            f"write {report.write_errors}, timeout {report.timeouts})"
        )
    if report.server_5xx:
        found.append(f"{report.server_5xx} responses 5xx ({codes(500, 600)})")
    unexpected = report.unexpected_4xx + report.other
    if unexpected:
        found.append(
            f"{unexpected} unexpected responses neither 2xx/3xx nor the intended 404 "
            f"({codes(0, 500) or 'status not recorded'})"
        )
    found += memory.problems
    return found


def production_workers(base_dir: Path) -> int:
    """Production's worker count: portal.gunicorn_conf's ``workers`` if it sets one, else the
    ``--workers`` of the Docker image's command (Dockerfile), which is how production runs."""
    from portal import gunicorn_conf

    if getattr(gunicorn_conf, "workers", None):
        return int(gunicorn_conf.workers)
    dockerfile = Path(base_dir) / "Dockerfile"
    command = dockerfile.read_text(encoding="utf-8") if dockerfile.exists() else ""
    match = re.search(r'"--workers",\s*"(\d+)"', command)
    if not match:
        raise CommandError("cannot tell production's worker count (portal.gunicorn_conf, Dockerfile): pass --workers")
    return int(match.group(1))


def cache_description() -> str:
    """Which cache the pages go to (portal/pagecache.py when present): it decides where their memory is."""
    default = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    if not getattr(settings, "PAGE_CACHE", False):
        return f"{default}, no page cache"
    alias = getattr(settings, "PAGE_CACHE_ALIAS", "default")
    backend = settings.CACHES.get(alias, settings.CACHES["default"])["BACKEND"].rsplit(".", 1)[-1]
    return f"{default}, page cache in {backend}"


# The command --------------------------------------------------------------------------------------


class Command(BaseCommand):
    help = "Load a weighted mix of pages under gunicorn with wrk; fail on errors or growing worker memory."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=100_000, help="generated case studies to have in all")
        parser.add_argument("--experts", type=int, default=10_000, help="generated experts to have in all")
        parser.add_argument("--duration", type=int, default=60, help="seconds of load")
        parser.add_argument("--connections", type=int, default=64)
        parser.add_argument("--threads", type=int, default=2, help="wrk threads")
        parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: production's)")
        parser.add_argument("--memory-growth", type=float, default=0.10, help="largest allowed growth, 0.10 = 10%%")
        parser.add_argument("--mix-size", type=int, default=4000, help="paths in the list wrk cycles through")
        parser.add_argument("--json", dest="json_path", default="var/loadtest.json")

    def handle(self, *args, cases, experts, duration, connections, threads, workers, memory_growth, **options):
        wrk = shutil.which("wrk")
        if not wrk:
            raise CommandError("wrk is not installed: `make loadtest` installs it (apt-get install wrk).")
        workers = workers or production_workers(settings.BASE_DIR)
        prepare_database(cases, experts, self.stdout)
        mix = build_mix(page_candidates(), size=options["mix_size"])
        self.check_mix(mix)

        from casestudies.models import CaseStudy
        from expertnet.models import Expert

        run = {
            "database": connection.vendor,
            "cases": CaseStudy.objects.published().count(),
            "experts": Expert.objects.published().count(),
            "workers": workers,
            "connections": connections,
            "threads": threads,
            "duration_s": duration,
            "mix": mix_summary(mix),
            "cache": cache_description(),
        }
        with (
            tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="loadtest-paths-", encoding="utf-8") as paths,
            tempfile.TemporaryFile("w+", prefix="loadtest-log-", encoding="utf-8") as log,
        ):
            paths.write("".join(path + "\n" for _, path in mix))
            paths.flush()
            port = free_port()
            # The request log at INFO, as production writes it: one line per request, with its duration.
            server = start_gunicorn(port, workers=workers, fixed_view=False, log_level="INFO", stderr=log)
            try:
                wait_until_up(port, server)
                self.stdout.write(
                    f"  {duration} s of load: {len(mix):,} paths, {workers} workers, wrk -t{threads} -c{connections}"
                )
                start = time.monotonic()
                sampler = MemorySampler(server.pid, start)
                sampler.start()
                try:
                    result = subprocess.run(  # noqa: S603 (wrk with fixed arguments)
                        [
                            wrk,
                            f"-t{threads}",
                            f"-c{connections}",
                            f"-d{duration}s",
                            "--timeout",
                            "30s",
                            "--latency",
                            "-s",
                            str(LUA_SCRIPT),
                            f"http://127.0.0.1:{port}",
                            "--",
                            paths.name,
                            MISSING_MARKER,
                            str(threads),
                        ],
                        capture_output=True,
                        text=True,
                        timeout=duration + 120,
                    )
                    end = time.monotonic() - start
                finally:
                    samples = sampler.stop()
            finally:
                stop_gunicorn(server)
            log.seek(0)
            log_lines = log.read().splitlines()
        server_time = server_times(log_lines, mix)
        logged_errors = log_errors(log_lines)
        for line in logged_errors[:10]:
            self.stderr.write(f"  server log: {line}")
        if result.returncode != 0:
            raise CommandError(f"wrk failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
        try:
            report = parse_report(result.stdout)
        except ValueError as error:
            raise CommandError(f"{error}\n{result.stdout}\n{result.stderr}") from error
        memory = judge_memory(samples, end=end, limit=memory_growth)
        failed = failures(report, memory)
        self.print_table(run, report, memory, failed, server_time)
        self.write_json(
            options["json_path"],
            {
                **run,
                "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "report": {
                    **asdict(report),
                    "requests_per_second": round(report.requests_per_second, 1),
                    "socket_errors": report.socket_errors,
                },
                "memory": asdict(memory),
                "memory_samples": [
                    {"t": t, "rss_mb": {str(pid): mb for pid, mb in sizes.items()}} for t, sizes in samples
                ],
                "server_time": server_time,
                "server_log_errors": logged_errors,
                "failures": failed,
                "passed": not failed,
            },
        )
        if failed:
            raise CommandError("load test failed: " + "; ".join(failed))

    def check_mix(self, mix: list[tuple[str, str]]) -> None:
        """One path of each page type in each language answers as meant, before the long run."""
        firsts: dict[tuple[str, bool], str] = {}
        for name, path in mix:
            firsts.setdefault((name, path.startswith("/en/")), path)
        logging.disable(logging.WARNING)  # the request log of these requests is not the run's
        try:
            with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False):
                client = Client()
                for (name, _), path in sorted(firsts.items()):
                    if name not in UNCHECKED:
                        self.check_path(client, name, path)
        finally:
            logging.disable(logging.NOTSET)

    def check_path(self, client: Client, name: str, path: str) -> None:
        status = client.get(path).status_code
        if status != EXPECTED_STATUS.get(name, 200):
            raise CommandError(f"{name}: {path} answered {status}, not {EXPECTED_STATUS.get(name, 200)}")

    def print_table(
        self, run: dict, report: WrkReport, memory: MemoryVerdict, failed: list[str], server_time: list[dict]
    ) -> None:
        mix = run["mix"]
        first, last = memory.first_window, memory.last_window
        self.stdout.write("")
        self.stdout.write(
            f"{run['database']}, {run['cases']:,} published cases, {run['experts']:,} experts, "
            f"{run['workers']} gunicorn workers, wrk -t{run['threads']} -c{run['connections']} -d{run['duration_s']}s; "
            f"mix of {mix['paths']:,} paths ({mix['english']:,} English, "
            f"{mix['distinct_case_details']:,} case details); cache: {run['cache']}"
        )
        ok = lambda bad: "FAIL" if bad else "ok"  # noqa: E731
        rows = [
            ("requests", f"{report.requests:,} in {report.duration_s:.1f} s", "", ""),
            ("req/s", f"{report.requests_per_second:,.1f}", "", ""),
            (
                "latency p50 / p99",
                f"{report.p50_ms:,.0f} ms / {report.p99_ms:,.0f} ms (max {report.max_ms:,.0f})",
                "",
                "",
            ),
            ("2xx / 3xx", f"{report.ok_2xx:,} / {report.ok_3xx:,}", "", ""),
            ("intended 404s", f"{report.expected_404:,}", "", ""),
            ("5xx", f"{report.server_5xx:,}", "0", ok(report.server_5xx)),
            (
                "other non-2xx/3xx",
                f"{report.unexpected_4xx + report.other:,}",
                "0",
                ok(report.unexpected_4xx + report.other),
            ),
            (
                "socket errors c/r/w/t",
                f"{report.connect_errors}/{report.read_errors}/{report.write_errors}/{report.timeouts}",
                "0",
                ok(report.socket_errors),
            ),
        ]
        windows = f"{first[0]:.0f}-{first[1]:.0f} s → {last[0]:.0f}-{last[1]:.0f} s"
        for worker in memory.workers:
            rows.append(
                (
                    f"worker {worker.pid} RSS",
                    f"{worker.first_mb:.1f} → {worker.last_mb:.1f} MB ({worker.growth:+.1%})",
                    f"{memory.limit:+.0%}",
                    ok(worker.growth > memory.limit),
                )
            )
        if memory.growth is not None:
            rows.append(
                (
                    "workers' mean RSS",
                    f"{memory.mean_first_mb:.1f} → {memory.mean_last_mb:.1f} MB ({memory.growth:+.1%})",
                    f"{memory.limit:+.0%}",
                    ok(memory.growth > memory.limit),
                )
            )
        else:
            rows.append(("workers' mean RSS", "not judged", f"{memory.limit:+.0%}", "FAIL"))
        widths = [max(len(row[i]) for row in [("check", "measured", "limit", "result"), *rows]) for i in range(4)]
        line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
        self.stdout.write(line(("check", "measured", "limit", "result")))
        self.stdout.write("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for row in rows:
            self.stdout.write(line(row))
        self.stdout.write(
            f"Memory: RssAnon of each worker once a second; {memory.warmup_s:.0f} s warm-up left out; "
            f"windows {windows}."
        )
        if server_time:
            self.stdout.write(
                "Most server time (request log; mean / max ms): "
                + "; ".join(
                    f"{row['page']} {row['share']:.0%} ({row['requests']:,} req, {row['mean_ms']:,.0f} / "
                    f"{row['max_ms']:,.0f})"
                    for row in server_time[:4]
                )
            )
        for failure in failed:
            self.stdout.write(f"FAIL: {failure}")
        if not failed:
            self.stdout.write("All checks passed.")

    def write_json(self, json_path: str, run: dict) -> None:
        if not json_path:
            return
        path = Path(json_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            runs = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            runs = {}
        runs[run["database"]] = run  # SQLite and PostgreSQL side by side; each run replaces its own
        path.write_text(json.dumps(runs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        self.stdout.write(f"Written to {json_path} ({run['database']})")
