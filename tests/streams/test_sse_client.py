"""The SSE client against the echo demo's ``/sse``: events, reconnects, timed streams."""

from __future__ import annotations

import asyncio

import pytest
from tests.support import reset_stats, server_stats

from horde.errors import OperationTimeoutError, PeerClosedError
from horde.metrics.names import SSE_CONNECT, SSE_EVENT_IN, SSE_RECONNECT, STREAM_STALLS
from horde.metrics.recorder import Recorder
from horde.scenario.user import User
from horde.streams.section import tracker_for
from horde.transports.http import HttpClient
from horde.transports.sse import SseConnection

from .support import counter, samples

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
async def http(echo_server: str):
    client = HttpClient(recorder=Recorder(), base_url=echo_server)
    yield client
    await client.close()


async def test_events_in_order_then_the_end_on_204(http: HttpClient):
    sse = await SseConnection.connect(http, "/sse?n=5&ms=20", name="ticks", retry=0.05)
    events = [event async for event in sse]
    assert [(e.id, e.data, e.event) for e in events] == [(str(i), str(i), "message")
                                                          for i in range(5)]
    assert sse.closed and sse.status == 204
    await sse.close()
    window = http.recorder.take_window()
    assert counter(window, SSE_EVENT_IN, "ticks") == 5
    assert samples(window, SSE_CONNECT, "ticks") == 2  # the stream, then the 204
    assert http.recorder.connections.reconnected == 0  # a 204 is not a reconnect
    assert http.recorder.connections.attempted == 1  # the 204 came on the same keep-alive


async def test_reconnects_resume_after_the_last_id_without_loss_or_duplicates(
    http: HttpClient, echo_server: str
):
    reset_stats(echo_server)
    sse = await SseConnection.connect(http, "/sse?n=9&ms=10&drop_after=3&retry=40",
                                      name="resume")
    result = await sse.stream(until=lambda e: e.id == "8", name="resume")
    await sse.close()
    assert result.completed
    assert [e.id for e in result.chunks] == [str(i) for i in range(9)]
    assert sse.reconnects == 2 and sse.last_event_id == "8"
    # The server's retry (40 ms) is honoured, not the client's default 3 s.
    assert result.gaps_ms[2] >= 40 and result.gaps_ms[5] >= 40
    assert result.total_ms < 3000
    assert http.recorder.connections.reconnected == 2
    window = http.recorder.take_window()
    assert counter(window, SSE_RECONNECT, "resume") == 2
    stats = server_stats(echo_server)
    assert stats["sse_requests"] == 3 and stats["sse_events"] == 9


async def test_no_reconnect_when_told_not_to(http: HttpClient):
    sse = await SseConnection.connect(http, "/sse?n=9&ms=10&drop_after=3&retry=10",
                                      reconnect=False)
    ids = [e.id async for e in sse]
    assert ids == ["0", "1", "2"] and sse.reconnects == 0
    with pytest.raises(PeerClosedError):
        await sse.next(timeout=1)


async def test_a_stall_in_the_event_stream_is_counted(http: HttpClient):
    sse = await SseConnection.connect(http, "/sse?n=4&ms=20&stall_at=2&stall_ms=400")
    stalled = await sse.stream(until=lambda e: e.id == "3", name="sse_stall", stall_after=0.2)
    await sse.close()
    assert stalled.completed and stalled.stalls == 1 and max(stalled.gaps_ms) >= 400
    # The server's clock started at the request, before stream() was called.
    assert stalled.first_chunk_ms is not None and stalled.first_chunk_ms < 20 + 400
    assert counter(http.recorder.take_window(), STREAM_STALLS, "sse_stall") == 1


async def test_a_stream_whose_until_never_comes_times_out(http: HttpClient):
    sse = await SseConnection.connect(http, "/sse?n=100&ms=50")
    result = await sse.stream(until=lambda e: False, name="endless", timeout=0.3)
    assert not result.completed and result.reason == "timeout"
    assert 1 <= len(result.chunks) <= 6 and result.total_ms >= 300
    assert result.message == (f"stream 'endless' not over in time: {len(result.chunks)} "
                              f"chunk{'' if len(result.chunks) == 1 else 's'} had arrived")
    await sse.close()
    window = http.recorder.take_window()
    assert window.errors.get(("timeout", "endless")) == 1
    assert tracker_for(http.recorder).report()["endless"]["incomplete"] == {"timeout": 1}


async def test_the_user_closes_its_event_streams(echo_server: str):
    rec = Recorder()
    user = User(1, target=echo_server, recorder=rec, stopping=asyncio.Event())
    sse = await user.sse("/sse?n=100&ms=20", name="user_sse")
    first = await sse.next(timeout=5)
    assert first.id == "0"
    assert rec.open_connections == 1
    await user.close()
    assert sse.closed and rec.open_connections == 0
    assert rec.connections.dropped == 0


async def test_next_times_out_when_no_event_comes(http: HttpClient):
    sse = await SseConnection.connect(http, "/sse?n=3&ms=2000", name="quiet")
    with pytest.raises(OperationTimeoutError):
        await sse.next(timeout=0.2)
    await sse.close()
    assert http.recorder.take_window().errors.get(("timeout", "quiet")) == 1
