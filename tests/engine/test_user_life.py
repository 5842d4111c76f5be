"""A user's life (docs/reliability.md): ``@on_stop`` runs once per life — after a failed
``@on_start`` (with the state it left), before a restart, at the end — bounded by
``--stop-timeout``; a restart starts with an empty ``user.state``; ``user.error`` counts
an app error without ending the iteration."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support import horde_cli, read_results

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.scenario.loader import load_scenario

pytestmark = pytest.mark.timeout(60)

LOGGING = """
import horde
LOG = {log!r}

def note(text):
    with open(LOG, "a") as f:
        f.write(text + "\\n")
"""


def config(path: Path, **kw: object) -> RunConfig:
    kw.setdefault("progress", False)
    return RunConfig(scenario=path, target="http://127.0.0.1:9", **kw)


async def test_on_stop_runs_after_a_failed_on_start_with_its_state(write_scenario, tmp_path):
    log = tmp_path / "log.txt"
    path = write_scenario(LOGGING.format(log=str(log)) + """
ATTEMPTS = []

@horde.on_start
async def begin(user):
    ATTEMPTS.append(1)
    note(f"start fresh={not vars(user.state)}")
    user.state.session = len(ATTEMPTS)
    if len(ATTEMPTS) == 1:
        raise RuntimeError("login refused")

@horde.behaviour
async def work(user):
    note(f"work {user.state.session}")

@horde.on_stop
async def end(user):
    note(f"stop {user.state.session}")
""")
    results = await run(config(path, users=1, iterations=2), load_scenario(path))
    assert log.read_text().splitlines() == [
        "start fresh=True", "stop 1",   # the failed start's clean-up sees what it made
        "start fresh=True", "work 2", "stop 2",  # then once at the end: not twice
    ]
    assert results["errors"] == {"scenario_exception": 1}


async def test_on_stop_runs_before_a_restart_and_the_state_starts_empty(
    write_scenario, tmp_path,
):
    log = tmp_path / "log.txt"
    path = write_scenario(LOGGING.format(log=str(log)) + """
@horde.on_start
async def begin(user):
    note(f"start fresh={not vars(user.state)}")
    user.state.n = 0

@horde.behaviour
async def work(user):
    user.state.n += 1
    note(f"work {user.iteration}")
    if user.iteration == 0:
        raise RuntimeError("a broken answer")

@horde.on_stop
async def end(user):
    note(f"stop n={user.state.n}")
""")
    results = await run(config(path, users=1, iterations=3, on_error="restart"),
                        load_scenario(path))
    assert log.read_text().splitlines() == [
        "start fresh=True", "work 0", "stop n=1",
        "start fresh=True", "work 1", "work 2", "stop n=2",
    ]
    assert results["counters"]["user_restarts"] == 1


# an @on_stop that would take 30 s: what the stop timeout must cut short
SLOW_STOP = """
import asyncio, horde

@horde.behaviour
async def work(user):
    await asyncio.sleep(0)

@horde.on_stop
async def end(user):
    await asyncio.sleep(30)
"""


async def test_on_stop_is_bounded_by_the_stop_timeout(write_scenario, tmp_path):
    path = write_scenario(SLOW_STOP)
    results = await run(config(path, users=2, iterations=1, stop_timeout_s=0.2),
                        load_scenario(path))
    assert results["errors"] == {"timeout": 2}
    assert results["error_details"] == {"timeout": {"on_stop": 2}}


async def test_user_error_counts_without_ending_the_iteration(write_scenario):
    path = write_scenario("""
import horde

@horde.behaviour
async def work(user):
    user.error("join_refused", "room full")
    user.error()
    user.record("after", 1.0)
""")
    results = await run(config(path, users=2, iterations=3), load_scenario(path))
    assert results["iterations"]["completed"] == 6 and results["iterations"]["failed"] == 0
    assert results["metrics"]["timer:after"]["count"] == 6
    assert results["errors"] == {"join_refused": 6, "app_error": 6}
    assert results["error_details"]["join_refused"] == {"room full": 6}
    assert results["passed"] is False  # no thresholds: any error fails the run



async def test_a_time_that_is_no_operation_is_a_value_in_ms(write_scenario):
    """A queue wait the server reports is a time, but no operation of the user's: it must
    not add to the operations (their count, rate and errors.rate's denominator)."""
    path = write_scenario("""
import horde

@horde.behaviour
async def work(user):
    user.record("queue_wait", 250.0 + user.iteration, unit="ms", better="lower",
                operation=False)
    user.record("answer", 1.0)
""")
    results = await run(config(path, users=2, iterations=3), load_scenario(path))
    assert "timer:queue_wait" not in results["metrics"]
    assert results["operations"]["finished"] == 6  # the six answers only
    wait = results["values"]["queue_wait"]
    assert (wait["unit"], wait["better"], wait["count"]) == ("ms", "lower", 6)
    assert wait["min"] == 250.0 and wait["max"] == 252.0


async def test_user_errors_are_bounded_by_their_count_not_the_error_rate(write_scenario):
    """No operation failed, so errors.rate stays 0; a threshold on the category's count
    is how a run bounds them (docs/reliability.md)."""
    path = write_scenario("""
import horde

@horde.behaviour
async def work(user):
    user.record("answer", 1.0)
    if user.iteration == 0:
        user.error("join_refused", "room full")
""")
    ok = ["errors.rate < 1%", "errors.join_refused < 3"]
    results = await run(config(path, users=2, iterations=3, thresholds=ok),
                        load_scenario(path))
    assert results["operations"]["error_rate"] == 0
    assert results["errors"] == {"join_refused": 2}
    assert results["passed"] is True
    strict = ["errors.rate < 1%", "errors.join_refused < 2"]
    results = await run(config(path, users=2, iterations=3, thresholds=strict),
                        load_scenario(path))
    assert results["passed"] is False

def test_stop_timeout_flag_is_applied_and_a_bad_one_refused(write_scenario, tmp_path):
    path = write_scenario(SLOW_STOP)
    common = (str(path), "--target", "http://127.0.0.1:9", "-u", "1", "-i", "1", "-q",
              "--no-history")
    bad = horde_cli("run", *common, "--stop-timeout", "soon")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "soon" in bad.stderr
    out = tmp_path / "out"
    good = horde_cli("run", *common, "--stop-timeout", "100ms", "--out", str(out))
    assert good.returncode == 1, good.stderr
    assert read_results(out)["error_details"] == {"timeout": {"on_stop": 1}}
