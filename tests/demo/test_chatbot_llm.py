"""The chatbot demo's OpenAI-compatible endpoint: the rate limit as a table of times, the
framing as plain values, then streamed answers and 429s on a real socket, read with
horde's own ``http.stream(sse=True)``."""

from __future__ import annotations

import json

import aiohttp
import pytest
from tests.demo.support import demo_app

from horde.demo.chatbot.completions import Ask, parse_ask, tokens_for
from horde.demo.chatbot.ratelimit import RateLimiter
from horde.demo.serve import options_for
from horde.errors import UsageError
from horde.metrics.recorder import Recorder
from horde.protocols.sse import SseEvent
from horde.transports.http import HttpClient

pytestmark = pytest.mark.timeout(30)

# --- the rule and the framing, without sockets -----------------------------------------


def test_a_bucket_allows_its_burst_then_one_per_interval() -> None:
    limiter = RateLimiter(rate=2.0, burst=2)
    # (key, now) → seconds to wait (0: allowed)
    table = [("a", 0.0, 0.0), ("a", 0.0, 0.0), ("a", 0.1, 0.4), ("b", 0.1, 0.0),
             ("a", 0.5, 0.0), ("a", 0.6, 0.4), ("a", 1.6, 0.0), ("a", 1.6, 0.0),
             ("a", 1.6, 0.5)]
    for key, now, wait in table:
        assert limiter.take(key, now) == pytest.approx(wait), (key, now)


def test_rate_zero_is_no_limit() -> None:
    limiter = RateLimiter(rate=0.0, burst=1)
    assert all(limiter.take("k", 0.0) == 0.0 for _ in range(100))


def test_an_ask_needs_messages_and_max_tokens_caps_the_answer() -> None:
    ask = parse_ask({"model": "m", "stream": True, "max_tokens": 3,
                     "messages": [{"role": "user", "content": "why is the sky blue"}]})
    assert (ask.model, ask.prompt, ask.stream, ask.max_tokens) == (
        "m", "why is the sky blue", True, 3)
    assert tokens_for(ask, 20) == ["why ", "is ", "the "]
    assert len(tokens_for(Ask("x", "m", "hi", True, None), 7)) == 7
    for bad in ({}, {"messages": []}, {"messages": [{"content": 1}]},
                {"messages": [{"content": "x"}], "max_tokens": 0}, []):
        with pytest.raises(ValueError):
            parse_ask(bad)


def test_bad_llm_settings_are_refused_together() -> None:
    from horde.demo.chatbot import build_app

    with pytest.raises(UsageError, match=r"llm_tokens must be at least 1.*token_ms must not"):
        build_app(options_for("chatbot", (), ["llm_tokens=0", "token_ms=-1"]))


# --- on a real socket ------------------------------------------------------------------

ASK = {"model": "demo", "stream": True,
       "messages": [{"role": "user", "content": "tell me about streams"}]}


def content(event: SseEvent) -> bool:
    return bool(json.loads(event.data)["choices"][0]["delta"].get("content"))


def done(event: SseEvent) -> bool:
    return event.data == "[DONE]"


async def test_a_streamed_answer_has_a_role_chunk_tokens_a_finish_and_done() -> None:
    async with demo_app("chatbot", llm_tokens=5, first_token_ms=60, token_ms=10) as url:
        http = HttpClient(recorder=Recorder(), base_url=url)
        result = await http.stream("POST", "/v1/chat/completions", json=ASK, sse=True,
                                   end=done, first=content, name="answer")
        await http.close()
    assert result.completed, result.message
    chunks = [json.loads(e.data) for e in result.chunks]
    assert len(chunks) == 7 and {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == "tell me about streams tell "
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert result.first_chunk_ms >= 60 - 1 and result.first_chunk_ms > result.arrivals_ms[0]
    assert result.rate is not None and result.rate > 0


async def test_past_the_rate_a_key_gets_429_with_retry_after_and_others_do_not() -> None:
    async with demo_app("chatbot", llm_rate=0.5, llm_tokens=2, first_token_ms=0,
                        token_ms=0) as url, aiohttp.ClientSession(url) as session:
        ann = {"Authorization": "Bearer ann"}
        first = await session.post("/v1/chat/completions", json=ASK, headers=ann)
        assert first.status == 200 and (await first.read()).endswith(b"data: [DONE]\n\n")
        again = await session.post("/v1/chat/completions", json=ASK, headers=ann)
        assert again.status == 429 and again.headers["Retry-After"] in ("1", "2")
        assert (await again.json())["error"]["code"] == "rate_limit_exceeded"
        bob = await session.post("/v1/chat/completions", json=ASK,
                                 headers={"Authorization": "Bearer bob"})
        assert bob.status == 200
        stats = await (await session.get("/stats")).json()
    assert (stats["llm_requests"], stats["llm_rate_limited"], stats["llm_completions"]) == (3, 1, 2)
    assert stats["llm_tokens"] == 4


async def test_without_stream_the_answer_is_one_json_completion() -> None:
    async with demo_app("chatbot", llm_tokens=3, first_token_ms=0, token_ms=0) as url, \
            aiohttp.ClientSession(url) as session:
        answer = await session.post("/v1/chat/completions", json={**ASK, "stream": False})
        body = await answer.json()
        bad = await session.post("/v1/chat/completions", json={"messages": "x"})
        assert bad.status == 400
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"] == "tell me about "
    assert body["usage"]["completion_tokens"] == 3
