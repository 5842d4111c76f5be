"""sio.stream against the echo demo: emit once, time the ``chunk`` events that answer."""

from __future__ import annotations

import pytest

from horde.metrics.names import STREAM_CHUNKS, STREAM_STALLS, STREAM_TOTAL
from horde.metrics.recorder import Recorder
from horde.streams.section import tracker_for
from horde.transports.socketio import SocketIOConnection

from .support import counter, samples

pytestmark = pytest.mark.timeout(20)


def done(chunk: dict) -> bool:
    return chunk["done"]


@pytest.fixture
async def sio(echo_server: str):
    conn = await SocketIOConnection.connect(echo_server, recorder=Recorder())
    yield conn
    await conn.disconnect()


async def test_chunk_events_are_one_timed_stream(sio: SocketIOConnection):
    result = await sio.stream("stream", {"stream": 5, "interval_ms": 40},
                              chunk_event="chunk", until=done, name="answer")
    assert result.completed
    assert [c["chunk"] for c in result.chunks] == [0, 1, 2, 3, 4]
    assert 40 <= result.first_chunk_ms < 40 + 400
    assert 200 <= result.total_ms < 200 + 1000
    assert result.stalls == 0
    window = sio._recorder.take_window()
    assert counter(window, STREAM_CHUNKS, "answer") == 5
    assert samples(window, STREAM_TOTAL, "answer") == 1


async def test_a_stall_is_counted(sio: SocketIOConnection):
    result = await sio.stream(
        "stream", {"stream": 3, "interval_ms": 20, "stall_at": 1, "stall_ms": 400},
        chunk_event="chunk", until=done, name="slow", stall_after=0.2,
    )
    assert result.completed and result.stalls == 1
    assert result.gaps_ms[0] >= 400 - 50  # chunk 0 may arrive a little late, not chunk 1
    assert counter(sio._recorder.take_window(), STREAM_STALLS, "slow") == 1


async def test_a_stream_that_never_ends_times_out_and_is_recorded(sio: SocketIOConnection):
    result = await sio.stream("stream", {"stream": 100, "interval_ms": 50},
                              chunk_event="chunk", until=done, name="endless", timeout=0.3)
    assert not result.completed and result.reason == "timeout"
    assert 1 <= len(result.chunks) <= 6
    assert result.total_ms >= 300 - 1  # the shared timer may fire up to 1 ms early
    assert result.message.startswith(
        f"stream 'endless' not over in time: {len(result.chunks)} chunk")
    window = sio._recorder.take_window()
    assert window.errors.get(("timeout", "endless")) == 1
    assert tracker_for(sio._recorder).report()["endless"]["incomplete"] == {"timeout": 1}
