"""Streams in a real run: the ``streams`` section, the metrics and a threshold on stalls."""

from __future__ import annotations

import pytest

from horde.config.model import RunConfig
from horde.engine.runner import run
from horde.scenario.loader import load_scenario

pytestmark = pytest.mark.timeout(60)

SCENARIO = """
import horde

@horde.behaviour
async def ask(user):
    ws = user.state.ws if hasattr(user.state, "ws") else None
    if ws is None:
        ws = user.state.ws = await user.websocket("/ws", codec=horde.JSON)
    result = await ws.stream({"stream": 4, "interval_ms": 10}, name="answer",
                             until=lambda c: c["done"])
    user.check(result.completed and len(result.chunks) == 4, "four_chunks")
    body = await user.http.stream("GET", "/stream/3/10?stall_at=1&stall_ms=300",
                                  name="body", stall_after=0.2)
    user.check(body.stalls == 1, "one_stall")
"""


async def test_a_run_reports_streams_and_thresholds_read_them(write_scenario, echo_server):
    path = write_scenario(SCENARIO)
    config = RunConfig(
        scenario=path, target=echo_server, users=2, iterations=2, progress=False,
        thresholds=(
            "counters.stream_stalls:answer < 1", "counters.stream_stalls:body < 1",
            "p95(stream_first{name=answer}) < 2s",
        ),
    )
    results = await run(config, load_scenario(path))
    streams = results["streams"]
    assert streams["answer"] == {
        "count": 4, "completed": 4, "incomplete": {},
        "chunks": {"total": 16, "mean": 4.0, "max": 4}, "stalls": 0, "unfinished": 0,
    }
    assert streams["body"]["count"] == 4 and streams["body"]["stalls"] == 4
    assert results["metrics"]["stream_first:answer"]["count"] == 4
    assert results["metrics"]["stream_first:answer"]["min_ms"] >= 10
    assert results["metrics"]["stream_total:body"]["min_ms"] >= 3 * 10 + 300
    assert results["counters"]["stream_stalls:body"] == 4
    assert results["counters"]["stream_stalls:answer"] == 0
    assert [t["passed"] for t in results["thresholds"]] == [True, False, True]
    assert results["errors"] == {}


SSE_SCENARIO = """
import horde

@horde.behaviour
async def feed(user):
    sse = await user.sse("/sse?n=4&ms=5", name="ticks", reconnect=False)
    events = [event async for event in sse]
    user.check(len(events) == 4, "four_events")
    await sse.close()
    body = await user.http.stream("GET", "/sse?n=3&ms=5", sse=True, name="body")
    user.check(body.completed and len(body.chunks) == 3, "three_events")
"""


async def test_server_sent_events_are_messages_received(write_scenario, echo_server):
    path = write_scenario(SSE_SCENARIO)
    config = RunConfig(scenario=path, target=echo_server, users=1, iterations=2,
                       progress=False)
    results = await run(config, load_scenario(path))
    assert results["errors"] == {} and results["passed"], results["verdict"]
    assert results["counters"]["sse_event_in:ticks"] == 8
    assert results["counters"]["sse_event_in:body"] == 6
    assert results["messages"]["received"] == 14
    assert sum(row["messages"] for row in results["timeseries"]) == 14
