"""The page benchmark reads wrk's report and the workers' memory correctly."""

import os

import pytest

from portal.management.commands.bench_pages import parse_wrk, worker_rss_mb

WRK_OUTPUT = """Running 8s test @ http://127.0.0.1:40123/casestudies/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    31.52ms    6.10ms  88.20ms   79.21%
    Req/Sec   254.31     21.74   303.00     71.25%
  Latency Distribution
     50%   30.87ms
     75%   34.11ms
     90%   38.40ms
     99%    1.02s
  4069 requests in 8.01s, 190.95MB read
  Socket errors: connect 0, read 0, write 0, timeout 2
  Non-2xx or 3xx responses: 3
Requests/sec:    507.84
Transfer/sec:     23.84MB
"""


def test_wrk_report_is_read_with_units_and_errors():
    rps, p50, p99, errors = parse_wrk(WRK_OUTPUT)
    assert rps == pytest.approx(507.84)
    assert p50 == pytest.approx(30.87)
    assert p99 == pytest.approx(1020.0)  # seconds become milliseconds
    assert errors == 5  # 3 non-2xx responses and 2 timeouts


def test_microsecond_latencies_and_a_clean_run():
    output = WRK_OUTPUT.replace("30.87ms", "870.00us").replace(
        "  Socket errors: connect 0, read 0, write 0, timeout 2\n", ""
    )
    output = output.replace("  Non-2xx or 3xx responses: 3\n", "")
    _, p50, _, errors = parse_wrk(output)
    assert p50 == pytest.approx(0.87) and errors == 0


def test_worker_memory_is_read_from_proc():
    # This test's own process stands in for gunicorn's master: its children are the workers.
    sizes = worker_rss_mb(os.getppid())
    assert sizes and all(size > 0 for size in sizes)
