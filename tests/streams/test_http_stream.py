"""http.stream against the echo demo's chunked ``/stream/{n}/{ms}``: chunks timed on arrival."""

from __future__ import annotations

import pytest

from horde.metrics.names import HTTP_REQ, STREAM_CHUNKS, STREAM_STALLS, STREAM_TOTAL
from horde.metrics.recorder import Recorder
from horde.streams.section import tracker_for
from horde.transports.http import HttpClient

from .support import counter, samples

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
async def http(echo_server: str):
    client = HttpClient(recorder=Recorder(), base_url=echo_server)
    yield client
    await client.close()


async def test_each_chunk_arrives_on_its_own_at_the_server_pace(http: HttpClient):
    result = await http.stream("GET", "/stream/5/50", name="body")
    assert result.completed
    assert result.chunks == [f"chunk {i}\n".encode() for i in range(5)]
    assert result.response.status == 200 and result.response.ok
    assert 50 <= result.first_chunk_ms < 50 + 400
    assert 250 <= result.total_ms < 250 + 1000
    assert sorted(result.gaps_ms)[2] >= 40
    window = http.recorder.take_window()
    assert counter(window, STREAM_CHUNKS, "body") == 5
    assert samples(window, STREAM_TOTAL, "body") == 1
    assert samples(window, HTTP_REQ, "body") == 0  # a stream is not a request sample
    assert window.bytes_received == sum(map(len, result.chunks))  # payload: the body


async def test_the_connection_is_reused_after_a_complete_stream(http: HttpClient):
    await http.stream("GET", "/stream/2/10")
    response = await http.get("/echo")
    assert response.status == 200
    assert http.recorder.connections.attempted == 1


async def test_a_stall_is_counted_only_past_stall_after(http: HttpClient):
    stalled = await http.stream("GET", "/stream/4/20?stall_at=2&stall_ms=400", name="s",
                                stall_after=0.2)
    steady = await http.stream("GET", "/stream/4/20", name="t", stall_after=0.2)
    assert stalled.completed and stalled.stalls == 1 and max(stalled.gaps_ms) >= 400
    assert steady.completed and steady.stalls == 0
    window = http.recorder.take_window()
    assert counter(window, STREAM_STALLS, "s") == 1
    assert counter(window, STREAM_STALLS, "t") == 0


async def test_until_stops_reading_and_closes_the_connection(http: HttpClient):
    result = await http.stream("GET", "/stream/50/20", name="early",
                               until=lambda chunk: chunk.startswith(b"chunk 2"))
    assert result.completed
    assert result.chunks[-1] == b"chunk 2\n" and len(result.chunks) == 3
    assert result.total_ms < 50 * 20  # it did not wait for the rest of the body
    assert http.recorder.connections.dropped == 0  # our own close is a clean one
    assert http.recorder.open_connections == 0


async def test_a_body_that_never_ends_in_time_is_a_timeout(http: HttpClient):
    result = await http.stream("GET", "/stream/100/50", name="slow", timeout=0.3)
    assert not result.completed and result.reason == "timeout"
    assert 1 <= len(result.chunks) <= 6
    assert result.total_ms >= 300
    assert result.message.startswith(
        f"stream 'slow' not over in time: {len(result.chunks)} chunk")
    assert http.recorder.error_examples["timeout:slow"] == result.message
    window = http.recorder.take_window()
    assert window.errors.get(("timeout", "slow")) == 1
    assert tracker_for(http.recorder).report()["slow"]["incomplete"] == {"timeout": 1}
