"""The pytest plugin, tested the way a user meets it: inner pytest sessions (pytester)
that use the fixtures, the marker and the results object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.support import ROOT

from horde.pytest_plugin import Results

pytest_plugins = ["pytester"]

# A scenario that needs no server: it never connects, it only counts and checks.
OFFLINE = '''
import horde

OPTIONS = {"users": 2, "iterations": 3}
THRESHOLDS = ("checks.rate == 1",)

class Params(horde.Params):
    ok: bool = True

@horde.behaviour
async def work(user):
    user.count("done")
    user.check(user.params.ok, "ok")
'''
TARGET = "http://127.0.0.1:9"  # never contacted
INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.makepyfile(offline=OFFLINE)
    return pytester


def test_load_marker_is_registered(inner: pytest.Pytester) -> None:
    result = inner.runpytest("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.load: a horde load test*"])


def test_no_load_skips_load_tests_only(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_marks="""
        import pytest

        @pytest.mark.load
        def test_heavy():
            pass

        def test_light():
            pass
    """)
    inner.runpytest("--strict-markers").assert_outcomes(passed=2)
    inner.runpytest("--no-load").assert_outcomes(passed=1, skipped=1)
    inner.runpytest("-m", "not load").assert_outcomes(passed=1, deselected=1)


def test_horde_run_returns_results_and_writes_them_per_test(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_run=f"""
        import json

        async def test_offline(horde_run, tmp_path):
            results = await horde_run("offline.py", target="{TARGET}")
            assert results.passed and results.status == "completed"
            assert results.counter("custom:done") == 6          # OPTIONS: 2 users x 3
            assert results.counter("custom:never") == 0
            assert results.value("checks.rate") == 1.0
            assert results["iterations"]["completed"] == 6
            assert results.path == tmp_path / "horde" / "run-1" / "results.json"
            assert json.loads(results.path.read_text())["counters"]["custom:done"] == 6
            assert results.metric("iteration:work").count == 6
            again = await horde_run("offline.py", target="{TARGET}", users=1, iterations=2)
            assert again.counter("custom:done") == 2              # options override OPTIONS
            assert again.path.parent.name == "run-2"
    """)
    inner.runpytest().assert_outcomes(passed=1)


def test_sync_variant_in_a_plain_test(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_sync=f"""
        def test_plain(horde_run):
            results = horde_run.sync("offline.py", target="{TARGET}", iterations=1,
                                     params={{"ok": False}}, thresholds=["checks.rate == 0"])
            assert results.passed
            assert results.errors == {{"check_failed": 2}}
    """)
    inner.runpytest().assert_outcomes(passed=1)


def test_a_failing_test_names_its_results_json(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_fail=f"""
        async def test_fails(horde_run):
            results = await horde_run("offline.py", target="{TARGET}", params={{"ok": False}})
            assert results.passed
    """)
    result = inner.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*assert False*",
        "*<Results horde offline: FAILED (completed) | failed: checks.rate == 1 (observed 0)"
        " | errors: check_failed 6"
        " | results: *run-1?results.json>*",
        "*horde runs*",
        "horde offline: FAILED*results: *results.json",
    ])


def test_bad_options_are_named(inner: pytest.Pytester) -> None:
    inner.makepyfile(test_bad=f"""
        import pytest
        from horde import ConfigError

        async def test_bad(horde_run):
            with pytest.raises(ConfigError, match="horde_run: (?s:.*)users.*duration"):
                await horde_run("offline.py", target="{TARGET}", users=0, duration="soon")
            with pytest.raises(ConfigError, match="'out' is set by horde_run"):
                await horde_run("offline.py", target="{TARGET}", out="x")
    """)
    inner.runpytest().assert_outcomes(passed=1)


def test_horde_out_keeps_results_by_test(inner: pytest.Pytester, tmp_path: Path) -> None:
    inner.makepyfile(test_out=f"""
        async def test_kept(horde_run):
            await horde_run("offline.py", target="{TARGET}")
    """)
    out = tmp_path / "artifacts"
    inner.runpytest(f"--horde-out={out}").assert_outcomes(passed=1)
    kept = json.loads((out / "test_out.py_test_kept" / "run-1" / "results.json").read_text())
    assert kept["counters"]["custom:done"] == 6


def test_horde_demo_starts_a_server_once_per_configuration(inner: pytest.Pytester) -> None:
    scenario = ROOT / "examples" / "tasks.py"
    inner.makepyfile(test_demo=f"""
        import json, urllib.request

        def stats(url):
            with urllib.request.urlopen(url + "/stats", timeout=5) as response:
                return json.load(response)

        async def test_tasks(horde_run, horde_demo):
            url = horde_demo("tasks", settings={{"rounds": 1, "output_ms": 0}})
            assert horde_demo("tasks", settings={{"output_ms": 0, "rounds": 1}}) == url
            assert horde_demo("tasks") != url
            results = await horde_run(r"{scenario}", target=url, users=3, iterations=2)
            assert results.passed
            assert results.counter("custom:tasks_completed") == stats(url)["tasks_completed"] == 6
    """)
    inner.runpytest().assert_outcomes(passed=1)


def test_results_helpers_on_a_plain_dict() -> None:
    data = {
        "scenario": "s", "status": "completed", "passed": False, "duration_s": 2.0,
        "thresholds": [{"expression": "errors.rate < 0.01", "observed": 0.5, "passed": False,
                        "reason": "observed 50.00 %"}],
        "operations": {"finished": 4, "failed": 2, "error_rate": 0.5},
        "connections": {"attempted": 2},
        "errors": {"http_500": 2}, "errors_total": 2, "counters": {"custom:x": 3},
        "metrics": {"ws_connect": {"count": 2, "rate_per_s": 1.0, "min_ms": 1.0,
                                   "mean_ms": 1.5, "p50_ms": 1.0, "p90_ms": 2.0,
                                   "p95_ms": 2.0, "p99_ms": 2.0, "p999_ms": 2.0,
                                   "max_ms": 2.0}},
    }
    results = Results(data)
    assert results.metric("ws_connect").p95 == 2.0
    assert results.counter("custom:x") == 3
    assert results.value("errors.rate") == 0.5
    assert results.value("no.such.path") is None
    assert results.failed_thresholds == ["errors.rate < 0.01 (observed 50.00 %)"]
    with pytest.raises(KeyError, match=r"no metric 'ws_reply'.*metrics: ws_connect"):
        results.metric("ws_reply")
    assert "FAILED" in repr(results) and "http_500 2" in repr(results)


def test_the_example_suite_runs_as_a_user_runs_it(pytester: pytest.Pytester) -> None:
    """examples/test_tasks_load.py in a fresh process, the plugin found by entry point."""
    pytester.makeini(INI)
    example = ROOT / "examples"
    for name in ("tasks.py", "test_tasks_load.py"):
        pytester.path.joinpath(name).write_text((example / name).read_text())
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "isolation or leak")
    result.assert_outcomes(passed=2, deselected=5)


@pytest.mark.ray  # run apart, after the rest, as tests/cluster's are
def test_horde_run_takes_workers_like_the_command_line(
        inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """``workers=2`` in pytest load tests: the same counts, from two engine processes,
    in every test of the session. Each async test has its own event loop; the Ray
    instance the first one started must outlive that loop (and its executor's threads).
    Only ``--cluster`` joins a cluster: a RAY_ADDRESS left in the environment (or a
    ``ray start`` head on the machine) must not capture the private instance."""
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")
    inner.makepyfile(test_workers="""
        import pytest

        @pytest.mark.parametrize("iterations", [5, 3])
        async def test_on_two_workers(horde_run, iterations):
            results = await horde_run("offline.py", target="http://127.0.0.1:9", workers=2,
                                      users=4, iterations=iterations)
            assert results.passed
            assert results.counter("custom:done") == 4 * iterations
            assert results["workers"]["count"] == 2
            assert len({w["pid"] for w in results["generator"]["workers"]}) == 2

        def test_then_a_sync_one(horde_run):
            results = horde_run.sync("offline.py", target="http://127.0.0.1:9", workers=2,
                                     users=2, iterations=1)
            assert results.counter("custom:done") == 2
    """)
    result = inner.runpytest_subprocess("-p", "no:cacheprovider", timeout=240)
    result.assert_outcomes(passed=3)
