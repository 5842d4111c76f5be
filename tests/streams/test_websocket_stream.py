"""ws.stream against the echo demo: chunks, first-chunk and total times, stalls, early ends."""

from __future__ import annotations

import asyncio

import pytest

from horde.metrics.names import (
    STREAM_CHUNKS,
    STREAM_FIRST,
    STREAM_GAP,
    STREAM_INCOMPLETE,
    STREAM_STALLS,
    STREAM_TOTAL,
)
from horde.metrics.recorder import Recorder
from horde.protocols.codec import JsonCodec
from horde.streams.section import tracker_for
from horde.transports.websocket import WebSocketConnection

from .support import counter, samples

pytestmark = pytest.mark.timeout(20)


def done(chunk: dict) -> bool:
    return chunk["done"]


@pytest.fixture
async def ws(echo_server: str):
    rec = Recorder()
    conn = await WebSocketConnection.connect(
        echo_server.replace("http", "ws", 1) + "/ws", recorder=rec, codec=JsonCodec()
    )
    yield conn
    await conn.close()


async def test_chunks_first_and_total_follow_the_server_pace(ws: WebSocketConnection):
    result = await ws.stream({"stream": 5, "interval_ms": 50}, until=done, name="answer")
    assert result.completed and result.reason == "completed"
    assert [c["chunk"] for c in result.chunks] == [0, 1, 2, 3, 4]
    assert 50 <= result.first_chunk_ms < 50 + 400
    assert 250 <= result.total_ms < 250 + 1000
    assert len(result.gaps_ms) == 4
    assert sum(result.gaps_ms) == pytest.approx(result.total_ms - result.first_chunk_ms)
    assert sorted(result.gaps_ms)[2] >= 40  # the median gap is the server's 50 ms
    assert result.stalls == 0
    assert len(result.arrivals_ms) == 5 and result.arrivals_ms[0] == result.first_chunk_ms
    assert result.arrivals_ms[-1] == pytest.approx(result.total_ms)
    assert 0 < result.rate <= 4 / 0.2 * 1.1  # 4 chunks after the first, 50 ms apart
    window = ws._recorder.take_window()
    assert window.values["stream_rate:answer"].get_total_count() == 1
    assert samples(window, STREAM_FIRST, "answer") == 1
    assert samples(window, STREAM_GAP, "answer") == 4
    assert samples(window, STREAM_TOTAL, "answer") == 1
    assert counter(window, STREAM_CHUNKS, "answer") == 5
    assert counter(window, STREAM_STALLS, "answer") == 0


async def test_a_long_pause_is_one_stall_and_a_short_one_none(ws: WebSocketConnection):
    stalled = await ws.stream(
        {"stream": 4, "interval_ms": 20, "stall_at": 2, "stall_ms": 400},
        until=done, name="stalled", stall_after=0.2,
    )
    steady = await ws.stream(
        {"stream": 4, "interval_ms": 20}, until=done, name="steady", stall_after=0.2
    )
    assert stalled.completed and steady.completed
    assert stalled.stalls == 1
    assert max(stalled.gaps_ms) >= 400
    assert stalled.total_ms >= 4 * 20 + 400
    assert steady.stalls == 0
    window = ws._recorder.take_window()
    assert counter(window, STREAM_STALLS, "stalled") == 1
    assert counter(window, STREAM_STALLS, "steady") == 0
    report = tracker_for(ws._recorder).report()
    assert report["stalled"]["stalls"] == 1 and report["steady"]["stalls"] == 0


async def test_until_ends_the_stream_at_its_chunk_and_match_filters(ws: WebSocketConnection):
    other = ws.stream({"stream": 6, "interval_ms": 10, "id": "b"}, until=done, name="b",
                      match=lambda c: c.get("id") == "b")
    mine = ws.stream({"stream": 6, "interval_ms": 15, "id": "a"},
                     until=lambda c: c["chunk"] == 2, name="a",
                     match=lambda c: c.get("id") == "a")
    a, b = await asyncio.gather(mine, other)
    assert [c["chunk"] for c in a.chunks] == [0, 1, 2]
    assert {c["id"] for c in a.chunks} == {"a"}
    assert [c["chunk"] for c in b.chunks] == list(range(6))
    assert a.total_ms >= 3 * 15


async def test_first_skips_chunks_it_does_not_accept(ws: WebSocketConnection):
    result = await ws.stream({"stream": 4, "interval_ms": 30}, until=done, name="content",
                             first=lambda c: c["chunk"] >= 2)
    assert result.completed and len(result.chunks) == 4 and len(result.gaps_ms) == 3
    assert result.first_chunk_ms == result.arrivals_ms[2] >= 3 * 30
    window = ws._recorder.take_window()
    assert samples(window, STREAM_FIRST, "content") == 1
    assert counter(window, STREAM_CHUNKS, "content") == 4


async def test_a_stream_that_never_ends_times_out(ws: WebSocketConnection):
    result = await ws.stream({"stream": 100, "interval_ms": 50}, until=done, name="endless",
                             timeout=0.3)
    assert not result.completed and result.reason == "timeout"
    assert 1 <= len(result.chunks) <= 6
    assert result.total_ms >= 300
    said = f"stream 'endless' not over in time: {len(result.chunks)} chunk"
    assert result.message.startswith(said)
    assert ws._recorder.error_examples["timeout:endless"].startswith(said)
    window = ws._recorder.take_window()
    assert window.errors.get(("timeout", "endless")) == 1
    assert counter(window, STREAM_INCOMPLETE, "endless") == 1
    assert samples(window, STREAM_TOTAL, "endless") == 0
    report = tracker_for(ws._recorder).report()["endless"]
    assert report["count"] == 1 and report["completed"] == 0
    assert report["incomplete"] == {"timeout": 1}


async def test_closing_mid_stream_ends_it_as_closed(ws: WebSocketConnection):
    task = asyncio.ensure_future(
        ws.stream({"stream": 100, "interval_ms": 30}, until=done, name="cut")
    )
    await asyncio.sleep(0.2)
    await ws.close()
    result = await asyncio.wait_for(task, 5)
    assert not result.completed and result.reason == "closed"
    assert len(result.chunks) >= 1
    report = tracker_for(ws._recorder).report()["cut"]
    assert report["incomplete"] == {"closed": 1}


async def test_a_closing_message_is_neither_a_chunk_nor_a_gap_nor_a_stall(
        ws: WebSocketConnection):
    # Five messages; the last ({"done": true}) closes the answer after a long pause.
    result = await ws.stream({"stream": 5, "interval_ms": 20, "stall_at": 4, "stall_ms": 400},
                             end=done, name="ended", stall_after=0.2)
    assert result.completed
    assert [c["chunk"] for c in result.chunks] == [0, 1, 2, 3]
    assert len(result.gaps_ms) == 3 and result.stalls == 0
    assert result.total_ms >= 5 * 20 + 400  # the end message still ends the total
    window = ws._recorder.take_window()
    assert counter(window, STREAM_CHUNKS, "ended") == 4
    assert samples(window, STREAM_GAP, "ended") == 3
    assert counter(window, STREAM_STALLS, "ended") == 0
