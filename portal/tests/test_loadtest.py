"""The load test's pure parts: the mix, the memory judgement, wrk's summary, the checks.

Nothing here starts gunicorn or wrk; `make loadtest` does (docs/operations.md, "Speed").
"""

import json
import random
import re
from pathlib import Path

import pytest
from django.conf import settings

from portal import gunicorn_conf
from portal.management.commands.loadtest import (
    ENGLISH_SHARE,
    MIX,
    MONOLINGUAL,
    apportion,
    build_mix,
    failures,
    judge_memory,
    log_errors,
    parse_report,
    production_workers,
    server_times,
)

# Japanese paths of every page type, as page_candidates() makes them from the data.
CANDIDATES = {name: [f"/{name.replace(' ', '-')}/{i}/" for i in range(3)] for name in MIX}
CANDIDATES["sitemap.xml"] = ["/sitemap.xml"]
CANDIDATES["case detail"] = [f"/casestudies/sample-bench-case-{i}/" for i in range(5000)]
CANDIDATES["expert detail"] = [f"/expertnet/experts/sample-bench-expert-{i}/" for i in range(100)]


def counts_by_type(mix):
    counts = {}
    for name, _ in mix:
        counts[name] = counts.get(name, 0) + 1
    return counts


# The mix ------------------------------------------------------------------------------------------


def test_each_page_type_gets_its_weight_of_the_requests():
    mix = build_mix(CANDIDATES, size=4000)
    assert len(mix) == 4000
    counts = counts_by_type(mix)
    assert set(counts) == set(MIX)
    total = sum(MIX.values())
    for name, weight in MIX.items():
        assert counts[name] == pytest.approx(4000 * weight / total, abs=1), name
    assert counts["case detail"] > counts["home"] > counts["search"] > counts["sitemap.xml"]


def test_apportion_adds_up_exactly_and_keeps_every_type():
    counts = apportion({"a": 1, "b": 1, "c": 1, "rare": 0}, 100)
    assert sum(counts.values()) == 100
    assert counts["rare"] == 1 and sorted(counts[k] for k in "abc") == [33, 33, 33]


def test_both_languages_in_the_weighted_share():
    mix = build_mix(CANDIDATES, size=4000)
    for name, count in counts_by_type(mix).items():
        paths = [path for n, path in mix if n == name]
        english = [path for path in paths if path.startswith("/en/")]
        if name in MONOLINGUAL:
            assert not english, name
        else:
            assert len(english) == round(count * ENGLISH_SHARE), name
            assert all(english_path[3:] in CANDIDATES[name] for english_path in english)
        assert any(not path.startswith("/en/") for path in paths), name


def test_detail_pages_cover_many_ids_before_any_repeats():
    mix = build_mix(CANDIDATES, size=4000)
    cases = [path.removeprefix("/en") for name, path in mix if name == "case detail"]
    assert len(cases) == 1120 and len(set(cases)) == 1120  # 5,000 ids to pick from: no repeat
    experts = [path.removeprefix("/en") for name, path in mix if name == "expert detail"]
    assert len(set(experts)) == 100  # only 100 ids: every one is used, each 3 or 4 times
    assert {experts.count(path) for path in set(experts)} <= {3, 4}


def test_the_order_is_shuffled_and_repeatable():
    mix = build_mix(CANDIDATES, size=4000)
    assert len({name for name, _ in mix[:40]}) > 5  # not one page type after another
    assert build_mix(CANDIDATES, size=4000) == mix
    assert build_mix(CANDIDATES, size=4000, seed=2) != mix


def test_the_list_opens_with_every_page_type_in_each_language():
    # wrk's first thread starts at the top: a slow run still requests every type (sitemap.xml too).
    mix = build_mix(CANDIDATES, size=4000)
    kinds = {(name, path.startswith("/en/")) for name, path in mix}
    assert len(kinds) == 2 * len(MIX) - len(MONOLINGUAL)
    opening = mix[: len(kinds)]
    assert {(name, path.startswith("/en/")) for name, path in opening} == kinds
    assert ("sitemap.xml", "/sitemap.xml") in opening


def test_page_types_without_candidates_are_left_out():
    candidates = {**CANDIDATES, "seminar detail": []}
    mix = build_mix(candidates, size=1000)
    assert len(mix) == 1000 and "seminar detail" not in counts_by_type(mix)


# Worker memory ------------------------------------------------------------------------------------


def series(rss_of, *, seconds=60, pids=(101, 102, 103)):
    """A sample a second, as MemorySampler takes them: rss_of(pid, t) MB."""
    return [(float(t), {pid: rss_of(pid, t) for pid in pids}) for t in range(seconds + 1)]


def test_memory_that_grows_20_percent_fails():
    samples = series(lambda pid, t: 60.0 if t < 30 else 72.0)
    verdict = judge_memory(samples, end=60)
    assert not verdict.flat
    assert verdict.growth == pytest.approx(0.20)
    assert (verdict.first_window, verdict.last_window) == ((5, 15), (50, 60))
    assert any("grew +20.0%" in problem for problem in verdict.problems)


def test_memory_that_creeps_up_steadily_fails():
    samples = series(lambda pid, t: 60.0 * (1 + 0.2 * t / 60))  # +20% over the run
    verdict = judge_memory(samples, end=60)
    assert not verdict.flat and verdict.growth > 0.10


def test_flat_noisy_memory_passes_and_the_warm_up_is_left_out():
    rng = random.Random(7)
    # The workers load their code and caches in the first seconds (the warm-up), then wobble ±4%.
    samples = series(lambda pid, t: 40.0 if t < 5 else 60.0 * (1 + rng.uniform(-0.04, 0.04)))
    verdict = judge_memory(samples, end=60)
    assert verdict.flat, verdict.problems
    assert abs(verdict.growth) < 0.03
    assert [w.pid for w in verdict.workers] == [101, 102, 103]


def test_one_worker_growing_fails_even_when_the_mean_does_not():
    samples = series(lambda pid, t: 72.0 if pid == 103 and t >= 30 else 60.0)
    verdict = judge_memory(samples, end=60)
    assert verdict.growth == pytest.approx(0.067, abs=0.001)  # the mean: within the limit
    assert verdict.problems == ["worker 103 grew +20.0% (60.0 MB to 72.0 MB)"]


def test_a_replaced_worker_fails_and_the_mean_compares_the_same_workers():
    def sizes(t):  # worker 102 is killed at 30 s; its fresh replacement 104 is small
        return {101: 60.0, 102: 80.0} if t < 30 else {101: 60.0, 104: 30.0}

    verdict = judge_memory([(float(t), sizes(t)) for t in range(61)], end=60)
    assert any("replaced" in problem and "gone: [102], new: [104]" in problem for problem in verdict.problems)
    assert (verdict.mean_first_mb, verdict.mean_last_mb) == (60.0, 60.0)  # worker 101 alone
    assert [w.pid for w in verdict.workers] == [101]


def test_a_short_run_splits_what_follows_the_warm_up():
    verdict = judge_memory(series(lambda pid, t: 60.0, seconds=15), end=15)
    assert (verdict.first_window, verdict.last_window) == ((5, 10), (10, 15)) and verdict.flat
    assert not judge_memory(series(lambda pid, t: 60.0, seconds=5), end=5).flat


def test_the_limit_is_a_parameter():
    samples = series(lambda pid, t: 60.0 if t < 30 else 66.0)  # +10%
    assert judge_memory(samples, end=60, limit=0.10).flat
    assert not judge_memory(samples, end=60, limit=0.05).flat


# wrk's report -------------------------------------------------------------------------------------

WRK_OUTPUT = """Running 1m test @ http://127.0.0.1:41234
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.50ms  301.22ms   2.31s    71.02%
    Req/Sec    79.12     21.40   140.00     68.33%
  Latency Distribution
     50%  351.20ms
     75%  520.11ms
     90%  801.45ms
     99%    1.62s
  9412 requests in 1.00m, 301.20MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 171
Requests/sec:    156.80
Transfer/sec:      5.02MB
loadtest: requests=9412 duration_us=60025311 bytes=315834113 connect=0 read=1 write=0 timeout=2 status=171 \
p50_us=351204 p90_us=801450 p99_us=1620033 max_us=2310877 mean_us=412503 \
2xx=9241 3xx=0 expected_404=165 unexpected_4xx=2 5xx=4 other=0 codes=403:2,500:3,502:1
""".replace("\\\n", "")


def test_the_summary_line_is_read_with_units_and_classes():
    report = parse_report(WRK_OUTPUT)
    assert report.requests == 9412 and report.duration_s == pytest.approx(60.03)
    assert report.requests_per_second == pytest.approx(156.8, abs=0.1)  # as wrk's own Requests/sec
    assert (report.p50_ms, report.p90_ms, report.p99_ms) == (351.2, 801.45, 1620.03)
    assert report.max_ms == 2310.88 and report.mean_ms == 412.5
    assert (report.connect_errors, report.read_errors, report.write_errors, report.timeouts) == (0, 1, 0, 2)
    assert report.socket_errors == 3
    assert (report.ok_2xx, report.ok_3xx, report.expected_404) == (9241, 0, 165)
    assert (report.unexpected_4xx, report.server_5xx, report.other) == (2, 4, 0)
    assert report.codes == {403: 2, 500: 3, 502: 1}


def test_a_clean_summary_has_no_codes():
    output = re.sub(r"codes=\S*", "codes=", WRK_OUTPUT)
    assert parse_report(output).codes == {}


def test_output_without_the_summary_line_is_refused():
    with pytest.raises(ValueError, match="loadtest:"):
        parse_report(WRK_OUTPUT.split("loadtest:")[0])


def test_the_lua_script_writes_every_key_the_parser_reads():
    lua = (Path(settings.BASE_DIR) / "scripts" / "loadtest.lua").read_text(encoding="utf-8")
    written = set(re.findall(r"(\w+)=%[ds]", lua))
    read = set(re.findall(r"(\w+)=", WRK_OUTPUT.split("loadtest:")[1]))
    assert written == read


# The checks ---------------------------------------------------------------------------------------


def clean_report(**changes):
    line = (
        "loadtest: requests=9000 duration_us=60000000 bytes=1 connect=0 read=0 write=0 timeout=0 status=150 "
        "p50_us=1 p90_us=1 p99_us=1 max_us=1 mean_us=1 2xx=8850 3xx=0 expected_404=150 unexpected_4xx=0 5xx=0 "
        "other=0 codes="
    )
    for key, value in changes.items():
        line = re.sub(rf"\b{key}=\S*", f"{key}={value}", line)
    return parse_report(line)


FLAT = judge_memory(series(lambda pid, t: 60.0), end=60)
GROWING = judge_memory(series(lambda pid, t: 60.0 if t < 30 else 75.0), end=60)


def test_a_clean_run_passes_with_its_intended_404s():
    assert failures(clean_report(), FLAT) == []


@pytest.mark.parametrize(
    ("changes", "memory", "expected"),
    [
        ({"5xx": 3, "codes": "500:2,502:1"}, FLAT, "3 responses 5xx (500: 2, 502: 1)"),
        ({"unexpected_4xx": 2, "codes": "403:1,404:1"}, FLAT, "2 unexpected responses"),
        ({"other": 1, "codes": "101:1"}, FLAT, "1 unexpected responses"),
        ({"read": 1, "timeout": 4}, FLAT, "5 socket errors (connect 0, read 1, write 0, timeout 4)"),
        ({"connect": 2}, FLAT, "2 socket errors"),
        ({}, GROWING, "worker memory grew +25.0%"),
        ({"requests": 0, "2xx": 0, "expected_404": 0}, FLAT, "no responses at all"),
    ],
)
def test_each_failed_check_is_named(changes, memory, expected):
    found = failures(clean_report(**changes), memory)
    assert len(found) >= 1
    assert any(expected in failure for failure in found), found


def test_every_failed_check_is_listed():
    found = failures(clean_report(**{"5xx": 1, "codes": "500:1", "timeout": 1}), GROWING)
    assert len(found) == 1 + 1 + 1 + 3  # 5xx, socket errors, the mean and the three workers


# The server's log and the worker count --------------------------------------------------------------


def test_server_time_is_shared_out_by_page_type():
    mix = [
        ("case detail", "/casestudies/a/"),
        ("case list", "/casestudies/"),
        ("case list (keyword)", "/casestudies/?q=x"),
    ]
    lines = [
        json.dumps({"logger": "portal.request", "path": "/casestudies/a/", "duration_ms": 30.0}),
        json.dumps({"logger": "portal.request", "path": "/casestudies/", "duration_ms": 60.0}),
        json.dumps({"logger": "portal.request", "path": "/casestudies/", "duration_ms": 10.0}),
        json.dumps({"logger": "gunicorn.error", "message": "Booting worker"}),
        "not json",
    ]
    rows = server_times(lines, mix)
    assert [row["page"] for row in rows] == ["case list / case list (keyword)", "case detail"]
    assert rows[0] == {
        "page": "case list / case list (keyword)",
        "requests": 2,
        "mean_ms": 35.0,
        "max_ms": 60.0,
        "share": 0.7,
    }


def test_errors_in_the_server_log_are_picked_out():
    lines = [
        json.dumps({"level": "INFO", "logger": "portal.request", "message": "GET / 200"}),
        json.dumps({"level": "CRITICAL", "logger": "gunicorn.error", "message": "WORKER TIMEOUT (pid:12)"}),
        json.dumps({"level": "ERROR", "logger": "django.request", "message": "Internal Server Error: /x/\nTraceback"}),
        "Traceback (most recent call last):",
    ]
    assert log_errors(lines) == [
        "gunicorn.error: WORKER TIMEOUT (pid:12)",
        "django.request: Internal Server Error: /x/",
        "Traceback (most recent call last):",
    ]


def test_the_worker_count_is_production_s(tmp_path, monkeypatch):
    monkeypatch.delattr(gunicorn_conf, "workers", raising=False)
    (tmp_path / "Dockerfile").write_text('CMD ["gunicorn", "portal.wsgi", "--workers", "5", "--config", "x"]\n')
    assert production_workers(tmp_path) == 5
    monkeypatch.setattr(gunicorn_conf, "workers", 4, raising=False)
    assert production_workers(tmp_path) == 4
