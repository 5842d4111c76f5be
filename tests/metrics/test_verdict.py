"""The verdict's one line: a run whose thresholds failed also names its errors, so a run
against a server that refused every connect says so, not only "no samples"."""

from __future__ import annotations

import pytest
from tests.support import free_port

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.metrics.verdict import decide
from horde.scenario.loader import load_scenario

pytestmark = pytest.mark.timeout(60)

SCENARIO = """
import horde

@horde.behaviour
async def get(user):
    await user.http.get("/", name="home")
    await user.think(0.2)
"""


async def test_a_refused_run_with_thresholds_names_the_refusals(write_scenario):
    path = write_scenario(SCENARIO)
    config = RunConfig(scenario=path, target=f"http://127.0.0.1:{free_port()}", users=2,
                       duration_s=1.0, progress=False,
                       thresholds=("p95(http_req{name=home}) < 500ms",))
    results = await run(config, load_scenario(path))
    refused = results["errors"]["connection_refused"]
    assert refused > 0 and results["passed"] is False
    assert results["verdict"]["reason"] == (
        "1 of 1 thresholds failed, first: p95(http_req{name=home}) < 500ms "
        f"({results['thresholds'][0]['reason']}); {refused:,} errors "
        f"(connection_refused ×{refused:,})")


def test_the_most_frequent_errors_come_first_and_at_most_three():
    results = {
        "thresholds": [{"expression": "errors.rate < 0.01", "passed": False,
                        "reason": "observed 0.5"},
                       {"expression": "p95(http_req) < 1s", "passed": True}],
        "errors": {"timeout": 3, "http_500": 40, "connection_refused": 1200, "check": 1},
        "errors_total": 1244,
    }
    assert decide(results).reason == (
        "1 of 2 thresholds failed, first: errors.rate < 0.01 (observed 0.5); 1,244 errors "
        "(connection_refused ×1,200, http_500 ×40, timeout ×3)")


def test_passed_thresholds_stay_one_short_line_and_no_errors_add_nothing():
    passed = {"thresholds": [{"expression": "x", "passed": True}], "errors_total": 2,
              "errors": {"timeout": 2}}
    assert decide(passed).reason == "all 1 thresholds passed"
    failed = {"thresholds": [{"expression": "x", "passed": False, "reason": "r"}]}
    assert decide(failed).reason == "1 of 1 thresholds failed, first: x (r)"


def test_no_errors_but_operations_never_answered_are_named():
    """A broker that accepted the WebSocket but never answered CONNECT: no errors, 22
    operations waiting at the end, and the line named only the threshold's lack of samples."""
    results = {"thresholds": [{"expression": "p95(ws_reply{name=connack}) < 1s",
                               "passed": False, "reason": "no samples"}],
               "operations": {"finished": 22, "unfinished": 22}, "errors_total": 0}
    assert decide(results).reason == (
        "1 of 1 thresholds failed, first: p95(ws_reply{name=connack}) < 1s (no samples); "
        "no errors, but 22 operations never finished")


REFUSED_EVERY_TIME = """
import horde

@horde.behaviour
async def login(user):
    await user.http.get("/status/403", name="login")
    await user.http.close()  # a fresh connection each time, as a user that restarts
"""


async def test_a_request_refused_every_time_is_an_error_rate_of_one(write_scenario,
                                                                     echo_server):
    """Every POST answered 403 read as a 50 % error rate: each came with an ok HTTP
    connect, counted as an operation of its own. A connect is part of its request."""
    path = write_scenario(REFUSED_EVERY_TIME)
    config = RunConfig(scenario=path, target=echo_server, users=2, iterations=3,
                       progress=False, thresholds=("errors.rate < 60%",))
    results = await run(config, load_scenario(path))
    ops = results["operations"]
    assert (ops["finished"], ops["failed"], ops["error_rate"]) == (6, 6, 1.0)
    assert results["passed"] is False
    assert results["metrics"]["http_connect"]["count"] == 6  # still timed, on its own
