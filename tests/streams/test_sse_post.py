"""SSE in reply to a POST (an LLM API's streamed answer), on http.stream(sse=True) and
user.sse(method="POST"), against an in-process aiohttp server that splits its events
anywhere — even ``data: [DONE]`` from its blank line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from tests.transports.raw_server import start_app

from horde.errors import PeerClosedError, TargetError
from horde.metrics.names import STREAM_CHUNKS, STREAM_GAP, STREAM_TOTAL
from horde.metrics.recorder import Recorder
from horde.protocols.sse import SseEvent
from horde.scenario.user import User
from horde.transports.http import HttpClient

from .support import counter, samples

pytestmark = pytest.mark.timeout(20)


def completion(n: int) -> list[bytes]:
    """OpenAI's framing: a role-only chunk, ``n`` content chunks, a finish chunk, [DONE]."""
    deltas = [{"role": "assistant"}] + [{"content": f"t{i} "} for i in range(n)] + [{}]
    events = []
    for delta in deltas:
        choice = {"index": 0, "delta": delta, "finish_reason": "stop" if not delta else None}
        events.append(f"data: {json.dumps({'id': 'c1', 'choices': [choice]})}\n\n".encode())
    return [*events, b"data: [DONE]\n\n"]


class LlmServer:
    """``POST /chat`` answers ``{"n": tokens, "split": k}`` with :func:`completion`, each
    event written in two pieces split ``k`` bytes before its end; ``/json`` answers JSON;
    ``/busy`` answers 429."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.url = ""

    async def chat(self, request: web.Request) -> web.StreamResponse:
        ask = await request.json()
        self.requests.append({"ask": ask, "accept": request.headers.get("Accept")})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        split = int(ask.get("split", 1))
        for event in completion(int(ask["n"])):
            await response.write(event[:-split])
            await asyncio.sleep(0.005)
            await response.write(event[-split:])
        await response.write_eof()
        return response

    async def plain(self, request: web.Request) -> web.Response:
        return web.json_response({"choices": []})

    async def busy(self, request: web.Request) -> web.Response:
        return web.json_response({"error": "rate limited"}, status=429)


@pytest.fixture
async def llm() -> AsyncIterator[LlmServer]:
    server = LlmServer()
    app = web.Application()
    app.add_routes([web.post("/chat", server.chat), web.post("/json", server.plain),
                    web.post("/busy", server.busy)])
    runner, port = await start_app(app)
    server.url = f"http://127.0.0.1:{port}"
    yield server
    await runner.cleanup()


@pytest.fixture
async def http(llm: LlmServer) -> AsyncIterator[HttpClient]:
    client = HttpClient(recorder=Recorder(), base_url=llm.url)
    yield client
    await client.close()


def done(event: SseEvent) -> bool:
    return event.data == "[DONE]"


@pytest.mark.parametrize("split", [1, 2, 7])  # "\n" | "\n\n" | "E]\n\n" alone
async def test_http_stream_reads_events_from_a_post_and_done_is_no_chunk(
        http: HttpClient, llm: LlmServer, split: int):
    result = await http.stream("POST", "/chat", json={"n": 5, "split": split}, sse=True,
                               end=done, name="answer")
    assert result.completed, result.message
    assert all(isinstance(e, SseEvent) for e in result.chunks)
    deltas = [json.loads(e.data)["choices"][0]["delta"] for e in result.chunks]
    assert deltas[0] == {"role": "assistant"} and deltas[-1] == {}
    assert "".join(d.get("content", "") for d in deltas) == "t0 t1 t2 t3 t4 "
    assert len(result.chunks) == 7 and len(result.gaps_ms) == 6
    assert result.response.status == 200
    assert llm.requests == [{"ask": {"n": 5, "split": split}, "accept": "text/event-stream"}]
    window = http.recorder.take_window()
    assert counter(window, STREAM_CHUNKS, "answer") == 7
    assert samples(window, STREAM_GAP, "answer") == 6
    assert samples(window, STREAM_TOTAL, "answer") == 1


async def test_first_is_the_first_content_event_and_each_arrival_is_kept(http: HttpClient):
    def content(event: SseEvent) -> bool:
        return bool(json.loads(event.data)["choices"][0]["delta"].get("content"))

    result = await http.stream("POST", "/chat", json={"n": 6}, sse=True, end=done,
                               first=content, name="ttft")
    assert result.completed and len(result.chunks) == 8  # role, 6 tokens, finish
    assert len(result.arrivals_ms) == 8 and result.arrivals_ms == sorted(result.arrivals_ms)
    assert result.first_chunk_ms == result.arrivals_ms[1]  # not the role-only chunk
    assert result.first_chunk_ms > result.arrivals_ms[0]
    # the rate runs from the first token to the last chunk: 6 chunks after the first
    span_s = (result.arrivals_ms[-1] - result.arrivals_ms[1]) / 1000
    assert result.rate == pytest.approx(6 / span_s)
    window = http.recorder.take_window()
    assert window.values["stream_chunks:ttft"].get_max_value() == pytest.approx(8000, rel=1e-3)
    assert window.values["stream_rate:ttft"].get_total_count() == 1
    assert http.recorder.value_specs["stream_rate:ttft"].better == "higher"


async def test_without_end_the_stream_ends_with_the_body(http: HttpClient):
    result = await http.stream("POST", "/chat", json={"n": 2}, sse=True)
    assert result.completed
    assert [e.data for e in result.chunks][-1] == "[DONE]" and len(result.chunks) == 5


async def test_an_answer_that_is_not_an_event_stream_fails(http: HttpClient):
    result = await http.stream("POST", "/json", json={"n": 1}, sse=True, end=done, name="j")
    assert not result.completed and result.reason == "failed"
    assert result.error == "sse_content_type" and result.chunks == []
    assert result.response.body == b'{"choices": []}'
    assert http.recorder.take_window().errors.get(("sse_content_type", None)) == 1


async def test_a_rate_limited_answer_is_an_http_429(http: HttpClient):
    result = await http.stream("POST", "/busy", json={"n": 1}, sse=True, end=done, name="b")
    assert not result.completed and result.error == "http_429"
    assert result.response.status == 429 and b"rate limited" in result.response.body
    with pytest.raises(TargetError) as info:  # to end the step there: not counted again
        result.raise_for_status()
    assert (info.value.category, info.value.recorded) == ("http_429", True)
    assert http.recorder.take_window().errors == {("http_429", None): 1}


async def test_raise_for_status_of_a_completed_stream_returns_it(http: HttpClient):
    result = await http.stream("POST", "/chat", json={"n": 2}, sse=True, end=done)
    assert result.raise_for_status() is result


async def test_user_sse_posts_its_body_and_does_not_reconnect(llm: LlmServer):
    rec = Recorder()
    user = User(1, target=llm.url, recorder=rec, stopping=asyncio.Event())
    sse = await user.sse("/chat", method="POST", json={"n": 3, "split": 2}, name="post")
    result = await sse.stream(end=done, name="post")
    assert result.completed and len(result.chunks) == 5
    with pytest.raises(PeerClosedError):  # the body ended; a POST is not sent again
        await sse.next(timeout=2)
    assert sse.reconnects == 0 and len(llm.requests) == 1
    assert llm.requests[0] == {"ask": {"n": 3, "split": 2}, "accept": "text/event-stream"}
    await user.close()
