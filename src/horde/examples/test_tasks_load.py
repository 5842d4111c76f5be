"""Seed 004's load tests as ordinary pytest tests, on horde's pytest plugin.

    pytest examples/test_tasks_load.py -v          # needs pytest-asyncio (asyncio_mode=auto)
    pytest -m "not load"                           # or --no-load: skip them

004 asked for: >= 90 % success at 10 concurrent connections and >= 80 % at 50, no output
crossing between sessions, no unbounded memory growth, and connection latency and message
throughput figures. Each test runs ``tasks.py`` (next to this file) against the built-in
tasks demo, which the ``horde_demo`` fixture starts once per configuration. A failing test
names the results.json of every run it made.

Timings are reported, not asserted beyond sanity: on a shared machine a tight latency
bound fails for reasons that are not the server's.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest

SCENARIO = "tasks.py"
pytestmark = pytest.mark.load


def stats(url: str) -> dict[str, int]:
    """The tasks demo's own counters (GET /stats): what the server saw."""
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as response:
        return json.load(response)


def delta(before: dict[str, int], after: dict[str, int], key: str) -> int:
    return after.get(key, 0) - before.get(key, 0)


@pytest.fixture(scope="module")
def tasks_url(horde_demo: Any) -> str:
    return horde_demo("tasks")


@pytest.fixture(scope="module")
def leaky_url(horde_demo: Any) -> str:
    return horde_demo("tasks", faults=["leak"])


@pytest.fixture(scope="module")
def quick_url(horde_demo: Any) -> str:
    """Tasks that answer at once (one output, no wait): for many short connections."""
    return horde_demo("tasks", settings={"rounds": 1, "output_ms": 0})


async def concurrent(horde_run: Any, url: str, users: int, success: float) -> Any:
    """004's run_concurrent_test: ``users`` connections at once, one task each."""
    results = await horde_run(
        SCENARIO, target=url, users=users, iterations=1, connect="immediate",
        thresholds=[f"checks.rate >= {success}", "connections.success_rate >= 0.8"],
    )
    rate = results.value("checks.rate")
    connect = results.metric("ws_connect")
    print(f"\n{users} connections: success {rate:.1%}, connect p50 {connect.p50} ms, "
          f"errors {results.errors or 'none'}")
    return results


async def test_10_concurrent_connections(horde_run: Any, tasks_url: str) -> None:
    results = await concurrent(horde_run, tasks_url, 10, 0.9)
    assert results.passed
    assert results.counter("custom:tasks_started") == 10
    assert results["users"]["peak_active"] == 10


async def test_50_concurrent_connections(horde_run: Any, tasks_url: str) -> None:
    before = stats(tasks_url)
    results = await concurrent(horde_run, tasks_url, 50, 0.8)
    after = stats(tasks_url)
    assert results.passed
    completed = results.counter("custom:tasks_completed")
    assert completed == delta(before, after, "tasks_completed")  # the server agrees
    assert results["connections"]["peak_open"] >= 40  # they really were open together


async def test_output_isolation(horde_run: Any, tasks_url: str) -> None:
    """Every message each session received was inspected; none held another's task id."""
    results = await horde_run(SCENARIO, target=tasks_url, users=5, iterations=2,
                              connect="immediate", thresholds=["isolation.failures == 0"])
    assert results.passed
    isolation = results["isolation"]
    assert isolation["inspected"] == results["messages"]["received"] > 0


async def test_leaked_output_is_caught(horde_run: Any, leaky_url: str) -> None:
    """Under the ``leak`` fault the isolation check fails, once per leaked message."""
    before = stats(leaky_url)
    results = await horde_run(SCENARIO, target=leaky_url, users=5, iterations=1,
                              connect="immediate", thresholds=["isolation.failures == 0"])
    leaked = delta(before, stats(leaky_url), "leaked")
    assert leaked > 0
    assert results.value("isolation.failures") == leaked
    assert results.errors["isolation_failure"] == leaked
    assert not results.passed
    assert results.failed_thresholds == [f"isolation.failures == 0 (observed {leaked})"]


async def test_memory_stability(horde_run: Any, tasks_url: str) -> None:
    """004 ran batches in one process and watched its RSS; horde's generator is that
    process here. The server must also let go of every session after each batch."""
    rss = []
    for _ in range(4):
        results = await horde_run(SCENARIO, target=tasks_url, users=10, iterations=1,
                                  connect="immediate")
        assert results.value("checks.rate") == 1.0
        rss.append(results["timeseries"][-1]["rss_mb"])
        assert stats(tasks_url)["active_sessions"] == 0
    print(f"\ngenerator RSS after each batch (MB): {rss}")
    # The first batch warms up imports and pools; growth after it must stay small
    # (004 allowed 500 MB per batch; 50 MB is 004's budget for a single connection).
    assert max(rss[1:]) - rss[1] < 50


async def test_connection_latency(horde_run: Any, quick_url: str) -> None:
    """004's benchmark: 100 connections, latency percentiles (reported)."""
    results = await horde_run(SCENARIO, target=quick_url, users=10, iterations=10)
    connect = results.metric("ws_connect")
    print(f"\nws_connect over {connect.count}: min {connect.min} p50 {connect.p50} "
          f"p95 {connect.p95} max {connect.max} ms (004's target: p50 < 100 ms)")
    assert connect.count == results["connections"]["succeeded"] == 100
    assert 0 < connect.min <= connect.p50 <= connect.max


async def test_message_throughput(horde_run: Any, quick_url: str) -> None:
    """Messages per second the clients received (outputs and completes), reported;
    the count itself must match the server's exactly."""
    before = stats(quick_url)
    results = await horde_run(SCENARIO, target=quick_url, users=20, iterations=10,
                              params={"max_rounds": 1})
    after = stats(quick_url)
    messages = results["messages"]
    print(f"\nreceived {messages['received']} messages in {results.duration_s:.2f} s: "
          f"{messages['received_per_s']:.0f}/s; sent {messages['sent_per_s']:.0f}/s")
    served = delta(before, after, "outputs_sent") + delta(before, after, "tasks_completed")
    assert messages["received"] == served == 20 * 10 * 2
    assert messages["received_per_s"] > 0
