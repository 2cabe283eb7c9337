"""Load test of each page type under gunicorn, against a fixed-response view in the same run.

    manage.py bench_pages --cases 100000 --json bench-results/pages-sqlite.json

Fills the database it runs on with sample data up to the given sizes (portal.sample_data), then
starts gunicorn with production settings (DEBUG off, 2 sync workers) on that database and loads
each page with wrk. For every page it reports req/s, p50 and p99 latency, the share of the req/s
of a fixed 20 KB Django view served by the same gunicorn in the same run (the limit of any
dynamic page on this machine), the SQL queries the page takes and its HTML bytes. Worker RSS is
read before and after the runs. Absolute figures depend on the machine; quote the ratios.

Run it through `make bench`, on a database of its own (docs/operations.md, "Benchmarks").
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from casestudies import facets
from portal.sample_data import generate_cases, generate_experts

FIXED_PATH = "/_bench/fixed/"


@dataclass
class Result:
    page: str
    path: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    share_of_fixed: float | None
    queries: int | None
    html_bytes: int | None
    errors: int
    page_cache: bool = False


def pages() -> list[tuple[str, str]]:
    """The page types and one URL of each, picked from the data that is there."""
    from casestudies.models import CaseStudy
    from expertnet.models import Expert
    from initiatives.models import Initiative
    from portal.models import Theme

    initiative = Initiative.objects.published().order_by("order", "pk").first()
    case = CaseStudy.objects.published().filter(slug__startswith="sample-bench-case-").order_by("-pk").first()
    case = case or CaseStudy.objects.published().order_by("-pk").first()
    theme = Theme.objects.order_by("order").values_list("key", flat=True).first()
    experts = Expert.objects.published().filter(dispatches__isnull=False)
    expert = experts.filter(slug__startswith="sample-bench-expert-").order_by("-pk").first() or experts.first()
    keyword = quote("観光")
    rows = [
        ("fixed view (limit)", FIXED_PATH),
        ("home", "/"),
        ("program list", "/initiatives/"),
    ]
    if initiative:
        rows.append(("program detail", initiative.get_absolute_url()))
    rows += [
        ("case list", "/casestudies/"),
        ("case list (3 filters)", f"/casestudies/?region=kinki&theme={theme}&pop=10k-50k"),
        ("case list (keyword)", f"/casestudies/?q={keyword}"),
    ]
    if case:
        rows.append(("case detail", case.get_absolute_url()))
    rows += [
        ("expert list", "/expertnet/"),
        ("expert list (2 filters)", f"/expertnet/?theme={theme}&kana=ka"),
    ]
    if expert:
        rows.append(("expert detail", expert.get_absolute_url()))
    rows.append(("search", f"/search/?q={keyword}"))
    return rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_rss_by_pid(master_pid: int) -> dict[int, float]:
    """Each gunicorn worker's own memory in MB (RssAnon), by process id, read from /proc."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    pids = children.read_text().split() if children.exists() else []
    sizes = {}
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        try:
            text = status.read_text()
        except OSError:  # the worker ended between the two reads
            continue
        # RssAnon: the worker's own memory. VmRSS also counts the pages of SQLite's memory-mapped
        # database file, which the kernel shares between workers and can drop at any time.
        match = re.search(r"RssAnon:\s+(\d+) kB", text)
        if match:
            sizes[int(pid)] = round(int(match.group(1)) / 1024, 1)
    return sizes


def worker_rss_mb(master_pid: int) -> list[float]:
    return list(worker_rss_by_pid(master_pid).values())


def prepare_database(cases: int, experts: int, stdout) -> None:
    """Sample data up to the given sizes, fresh facet cells and planner statistics, static files.

    Shared by bench_pages and loadtest: the data set is made once per database and kept.
    """

    def progress(done: int, total: int) -> None:
        stdout.write(f"\r  sample data: {done:,} / {total:,}", ending="")
        stdout.flush()

    if cases and generate_cases(cases, progress=progress):
        stdout.write("")
    if experts and generate_experts(experts, progress=progress):
        stdout.write("")
    facets.rebuild()
    with connection.cursor() as cursor:  # fresh planner statistics after bulk loading
        cursor.execute("ANALYZE")
    call_command("collectstatic", interactive=False, verbosity=0)


def start_gunicorn(
    port: int,
    *,
    workers: int,
    fixed_view: bool,
    log_level: str = "WARNING",
    stderr=None,
    page_cache: bool | None = None,
) -> subprocess.Popen:
    """gunicorn with production settings (DEBUG off, portal.gunicorn_conf) on this database.

    fixed_view adds the fixed 20 KB view at FIXED_PATH (PORTAL_BENCH=1), which production lacks.
    log_level INFO logs every request as production does; stderr (a file) takes the log.
    """
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DEBUG": "0",
        "PORTAL_TESTING": "0",
        "PORTAL_ENV_FILE": "",
        "PORTAL_HTTPS": "0",
        "PORTAL_BENCH": "1" if fixed_view else "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{database['NAME']}",
        "LOG_LEVEL": log_level,
    }
    if page_cache is not None:  # else production's default (on)
        env["PAGE_CACHE"] = "1" if page_cache else "0"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [
            str(gunicorn),
            "portal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--no-control-socket",
            "--config",
            "python:portal.gunicorn_conf",
            "--log-level",
            log_level.lower(),
        ],
        env=env,
        cwd=settings.BASE_DIR,
        stderr=stderr,
    )


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError("gunicorn stopped before it answered; see its log above")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise CommandError("gunicorn did not answer within 60 s")


def stop_gunicorn(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def parse_wrk(output: str) -> tuple[float, float, float, int]:
    def latency_ms(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return rps, latency_ms("50"), latency_ms("99"), errors


class Command(BaseCommand):
    help = "Load each page type under gunicorn with wrk; report req/s, latency, queries and bytes."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=100_000, help="generated case studies to have in all")
        parser.add_argument("--experts", type=int, default=10_000, help="generated experts to have in all")
        parser.add_argument("--duration", type=int, default=8, help="seconds of load per page")
        parser.add_argument("--connections", type=int, default=16)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument("--only", default="", help="comma-separated page names to run (plus the fixed view)")
        parser.add_argument("--json", dest="json_path", default="", help="also write the results to this file")
        parser.add_argument(
            "--cache",
            choices=("off", "on", "both"),
            default="both",
            help="the full-page cache for anonymous visitors: measure without it, with it, or both",
        )

    def handle(self, *args, cases, experts, duration, connections, workers, only, json_path, cache, **options):
        wrk = shutil.which("wrk")
        if not wrk:
            raise CommandError("wrk is not installed: `make bench` installs it (apt-get install wrk).")
        prepare_database(cases, experts, self.stdout)
        rows = pages()
        if only:
            wanted = {name.strip() for name in only.split(",")}
            rows = [row for row in rows if row[1] == FIXED_PATH or row[0] in wanted]
        measured = {path: self.measure_in_process(path) for _, path in rows if path != FIXED_PATH}

        results, memory = [], {}
        for page_cache in {"off": [False], "on": [True], "both": [False, True]}[cache]:
            self.stdout.write(f"Page cache {'on' if page_cache else 'off'}:")
            run, rss = self.run_pages(
                wrk, rows, measured, workers=workers, duration=duration, connections=connections, page_cache=page_cache
            )
            results += run
            memory["on" if page_cache else "off"] = rss
        rss_before = {mode: before for mode, (before, _after) in memory.items()}
        rss_after = {mode: after for mode, (_before, after) in memory.items()}
        self.finish(
            results,
            rss_before,
            rss_after,
            cases=cases,
            experts=experts,
            duration=duration,
            connections=connections,
            workers=workers,
            json_path=json_path,
        )

    def run_pages(self, wrk, rows, measured, *, workers, duration, connections, page_cache):
        port = free_port()
        server = start_gunicorn(port, workers=workers, fixed_view=True, page_cache=page_cache)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(port, server)
            for _, path in rows:  # every worker loads its code and warms its connection first
                self.wrk(wrk, base + path, seconds=1, connections=connections)
                self.wait_until_idle(base + FIXED_PATH)
            rss_before = worker_rss_mb(server.pid)
            results = []
            fixed_rps = None
            for name, path in rows:
                self.wait_until_idle(base + FIXED_PATH)
                rps, p50, p99, errors = parse_wrk(self.wrk(wrk, base + path, seconds=duration, connections=connections))
                if path == FIXED_PATH:
                    fixed_rps = rps
                queries, size = measured.get(path, (None, None))
                results.append(
                    Result(
                        page=name,
                        path=path,
                        requests_per_second=round(rps, 1),
                        p50_ms=round(p50, 2),
                        p99_ms=round(p99, 2),
                        share_of_fixed=round(rps / fixed_rps, 3) if fixed_rps else None,
                        queries=queries,
                        html_bytes=size,
                        errors=errors,
                        page_cache=page_cache,
                    )
                )
                self.stdout.write(f"  {name}: {rps:,.0f} req/s")
            rss_after = worker_rss_mb(server.pid)
        finally:
            stop_gunicorn(server)
        return results, (rss_before, rss_after)

    def finish(self, results, rss_before, rss_after, *, cases, experts, duration, connections, workers, json_path):
        self.report(
            results, rss_before, rss_after, cases=cases, experts=experts, duration=duration, connections=connections
        )
        if json_path:
            Path(json_path).parent.mkdir(parents=True, exist_ok=True)
            Path(json_path).write_text(
                json.dumps(
                    {
                        "database": connection.vendor,
                        "cases": cases,
                        "experts": experts,
                        "workers": workers,
                        "connections": connections,
                        "duration_s": duration,
                        "worker_rss_mb_before": rss_before,
                        "worker_rss_mb_after": rss_after,
                        "pages": [asdict(r) for r in results],
                    },
                    ensure_ascii=False,
                    indent=1,
                )
                + "\n",
                encoding="utf-8",
            )
            self.stdout.write(f"Written to {json_path}")
        failed = [r.page for r in results if r.errors]
        if failed:
            raise CommandError(f"non-2xx responses or socket errors on: {', '.join(failed)}")

    def measure_in_process(self, path: str) -> tuple[int, int]:
        """Queries and HTML bytes of one anonymous request, the second one (caches warm)."""
        # Without the page cache: the queries of drawing the page (a stored page costs one).
        with override_settings(ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False, PAGE_CACHE=False):
            client = Client()
            client.get(path)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(path)
        if response.status_code != 200:
            raise CommandError(f"{path} answered {response.status_code}, not 200")
        return len(queries), len(response.content)

    def wait_until_idle(self, url: str) -> None:
        """Requests that wrk left queued in the workers finish before the next page is measured."""
        deadline = time.monotonic() + 120
        quick = 0
        while quick < 3 and time.monotonic() < deadline:
            started = time.monotonic()
            with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (our own local server)
                response.read()
            quick = quick + 1 if time.monotonic() - started < 0.05 else 0

    def wrk(self, wrk: str, url: str, *, seconds: int, connections: int) -> str:
        result = subprocess.run(  # noqa: S603 (wrk with fixed arguments)
            [wrk, "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "--latency", url],
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout

    def report(self, results, rss_before, rss_after, **run) -> None:
        self.stdout.write("")
        self.stdout.write(
            f"{connection.vendor}, {run['cases']:,} generated cases, {run['experts']:,} experts, "
            f"wrk -t2 -c{run['connections']} -d{run['duration']}s, "
            "worker memory (RssAnon, MB) before → after: "
            + ", ".join(f"page cache {mode}: {rss_before[mode]} → {rss_after[mode]}" for mode in rss_before)
        )
        header = (
            f"| {'page':<22} | {'cache':<5} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'% of fixed':>10} "
            f"| {'queries':>7} | {'HTML bytes':>10} |"
        )
        self.stdout.write(header)
        self.stdout.write("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
        for r in results:
            share = f"{r.share_of_fixed * 100:.1f}%" if r.share_of_fixed is not None else ""
            queries = "" if r.queries is None else str(r.queries)
            size = "" if r.html_bytes is None else f"{r.html_bytes:,}"
            self.stdout.write(
                f"| {r.page:<22} | {'on' if r.page_cache else 'off':<5} | "
                f"{r.requests_per_second:>8,.0f} | {r.p50_ms:>7.2f} | {r.p99_ms:>7.2f} | "
                f"{share:>10} | {queries:>7} | {size:>10} |"
            )
