"""An API that takes the question in one request and streams the answer on another
(Gradio's ``queue/join`` then ``queue/data``): ``started_at`` starts the stream's clock at
the question, so the time to the first event is the user's, not the subscription's.

The server answers 300 ms after the submit, whenever the client subscribes; the client
subscribes 200 ms after submitting. Timed from the subscription the first event would
come after ~100 ms; from the submit it comes after 300 ms or more.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from tests.transports.raw_server import start_app

from horde.errors import UsageError
from horde.metrics.names import SSE_EVENT_IN, STREAM_FIRST
from horde.metrics.recorder import Recorder
from horde.protocols.sse import SseEvent
from horde.streams.meter import StreamMeter
from horde.transports.http import HttpClient
from horde.transports.sse import SseConnection

from .support import counter

pytestmark = pytest.mark.timeout(20)

ANSWER_AFTER_S = 0.3
SUBSCRIBE_AFTER_S = 0.2


class QueueServer:
    """``POST /submit`` queues a job and answers its id at once; ``GET /answer/{id}``
    streams two events and ``[DONE]``, the first ``ANSWER_AFTER_S`` after the submit."""

    def __init__(self) -> None:
        self.submitted: dict[str, float] = {}
        self._ids = itertools.count()

    async def submit(self, request: web.Request) -> web.Response:
        job = str(next(self._ids))
        self.submitted[job] = asyncio.get_running_loop().time()
        return web.json_response({"id": job})

    async def answer(self, request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        due = self.submitted[request.match_info["job"]] + ANSWER_AFTER_S
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await asyncio.sleep(max(0.0, due - loop.time()))
        for data in ("a", "b", "[DONE]"):
            await response.write(f"data: {data}\n\n".encode())
        await response.write_eof()
        return response


@pytest.fixture
async def http() -> AsyncIterator[HttpClient]:
    app = web.Application()
    server = QueueServer()
    app.add_routes([web.post("/submit", server.submit), web.get("/answer/{job}", server.answer)])
    runner, port = await start_app(app)
    client = HttpClient(recorder=Recorder(), base_url=f"http://127.0.0.1:{port}")
    yield client
    await client.close()
    await runner.cleanup()


def done(event: SseEvent) -> bool:
    return event.data == "[DONE]"


async def submit(http: HttpClient) -> tuple[float, str]:
    """Ask the question; the clock reading before it, and the job's id."""
    started = time.perf_counter()
    job = (await http.post("/submit", json={"q": "hi"})).json()["id"]
    await asyncio.sleep(SUBSCRIBE_AFTER_S)  # the client's own delay before subscribing
    return started, job


def first_sample_ms(http: HttpClient, name: str) -> float:
    hist = http.recorder.take_window().latencies[(STREAM_FIRST, name)]
    return hist.get_min_value() / 1000


async def test_a_feed_times_the_answer_from_the_submit(http: HttpClient):
    started, job = await submit(http)
    sse = await SseConnection.connect(http, f"/answer/{job}", name="answer", reconnect=False)
    result = await sse.stream(end=done, started_at=started)
    await sse.close()
    assert result.completed and [e.data for e in result.chunks] == ["a", "b"]
    assert result.first_chunk_ms >= ANSWER_AFTER_S * 1000
    assert result.total_ms >= result.first_chunk_ms
    assert first_sample_ms(http, "answer") >= ANSWER_AFTER_S * 1000 * 0.999  # µs histogram


async def test_an_http_stream_times_the_answer_from_the_submit(http: HttpClient):
    started, job = await submit(http)
    result = await http.stream("GET", f"/answer/{job}", sse=True, end=done, name="answer",
                               started_at=started)
    assert result.completed and len(result.chunks) == 2
    assert result.first_chunk_ms >= ANSWER_AFTER_S * 1000
    assert first_sample_ms(http, "answer") >= ANSWER_AFTER_S * 1000 * 0.999


@pytest.mark.parametrize("via", ["feed", "http"])
async def test_the_timeout_counts_from_the_call_not_from_started_at(http: HttpClient, via: str):
    _, job = await submit(http)
    long_ago = time.perf_counter() - 5.0
    if via == "feed":
        sse = await SseConnection.connect(http, f"/answer/{job}", name="answer",
                                          reconnect=False)
        result = await sse.stream(end=done, started_at=long_ago, timeout=3.0)
        await sse.close()
    else:
        result = await http.stream("GET", f"/answer/{job}", sse=True, end=done, name="answer",
                                   started_at=long_ago, timeout=3.0)
    assert result.completed, result.message
    assert result.first_chunk_ms >= 5000


async def test_a_wall_clock_time_is_refused_before_anything_is_timed(http: HttpClient):
    _, job = await submit(http)
    http.recorder.take_window()  # the submit's
    with pytest.raises(UsageError, match=r"time.perf_counter\(\)"):
        await http.stream("GET", f"/answer/{job}", sse=True, end=done, started_at=time.time())
    assert http.recorder.take_window().outcomes == {}
    assert http.recorder.in_flight == 0


def test_a_retry_keeps_the_start_the_scenario_gave():
    started = time.perf_counter() - 1.0
    meter = StreamMeter(Recorder(), "answer", started_at=started)
    pinned = meter.started_ns
    meter.restart()  # a stale keep-alive's retry
    assert meter.started_ns == pinned == pytest.approx(started * 1e9, abs=1000)
    unpinned = StreamMeter(Recorder(), "answer")
    before = unpinned.started_ns
    unpinned.restart()
    assert unpinned.started_ns > before


async def test_the_events_of_an_http_stream_are_messages_received(http: HttpClient):
    _, job = await submit(http)
    await http.stream("GET", f"/answer/{job}", sse=True, end=done, name="answer")
    assert counter(http.recorder.take_window(), SSE_EVENT_IN, "answer") == 3  # [DONE] too
