"""The chatbot's OpenAI-compatible endpoint: ``POST /v1/chat/completions``.

With ``"stream": true`` the answer streams as Server-Sent Events (:mod:`.completions`):
the role-only chunk at once, the first token after ``first_token_ms``, the others
``token_ms`` apart, the ``finish_reason`` chunk, ``data: [DONE]``. Otherwise one JSON
``chat.completion`` after the same time. Rules, checked in this order:

- ``llm_rate`` requests per second per API key (the bearer token; none: one shared key),
  ``llm_burst`` at once, and ``llm_global_rate`` for all keys together: past either,
  ``429`` with ``Retry-After`` and OpenAI's ``rate_limit_exceeded`` body. 0: no limit.
- then the same answer slots as the WebSocket answers (:mod:`.gate`): full, ``503``;
  waited past ``queue_timeout_ms``, ``504``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from horde.demo.chatbot.completions import (
    DONE,
    Ask,
    bad_request,
    event,
    final_chunk,
    parse_ask,
    rate_limited,
    role_chunk,
    token_chunk,
    tokens_for,
    whole_answer,
)
from horde.demo.chatbot.gate import CapacityGate, GateFullError, GateTimeoutError
from horde.demo.chatbot.ratelimit import RateLimiter
from horde.demo.options import DemoOptions

__all__ = ["LLM_SETTINGS", "Llm", "complete"]

LLM_SETTINGS: dict[str, str] = {
    "llm_tokens": "tokens per /v1/chat/completions answer (default 20; max_tokens caps it)",
    "first_token_ms": "time to the first token of an LLM answer (default 200)",
    "token_ms": "time between LLM tokens (default 20)",
    "llm_rate": "LLM requests per second per API key; past it 429 (default 0: no limit)",
    "llm_burst": "LLM requests a key may make at once (default 1)",
    "llm_global_rate": "LLM requests per second, all keys together (default 0: no limit)",
}


@dataclass(slots=True)
class Llm:
    """The endpoint's settings and rate limiters."""

    tokens: int
    first_token_s: float
    token_s: float
    per_key: RateLimiter
    overall: RateLimiter

    @classmethod
    def from_options(cls, options: DemoOptions) -> Llm:
        """Read the settings (the app checked them: see ``app._config``)."""
        burst = options.int("llm_burst", 1)
        global_rate = options.float("llm_global_rate", 0.0)
        return cls(
            tokens=options.int("llm_tokens", 20),
            first_token_s=options.float("first_token_ms", 200.0) / 1000,
            token_s=options.float("token_ms", 20.0) / 1000,
            per_key=RateLimiter(options.float("llm_rate", 0.0), burst),
            overall=RateLimiter(global_rate, max(burst, math.ceil(global_rate))),
        )

    def wait_for(self, key: str) -> float:
        """0.0 if this request may go now, else the seconds until one could (a 429)."""
        now = time.monotonic()
        wait = self.overall.take("", now)
        return wait or self.per_key.take(key, now)


async def complete(request: web.Request, llm: Llm, gate: CapacityGate,
                   queue_timeout_s: float, stats: Counter[str]) -> web.StreamResponse:
    """Answer one ``POST /v1/chat/completions``."""
    stats["llm_requests"] += 1
    try:
        ask = parse_ask(await request.json())
    except ValueError as exc:  # JSONDecodeError is one
        stats["llm_bad_requests"] += 1
        return web.json_response(bad_request(str(exc)), status=400)
    key = request.headers.get("Authorization", "")
    wait = llm.wait_for(key)
    if wait:
        stats["llm_rate_limited"] += 1
        return web.json_response(rate_limited(wait), status=429,
                                 headers={"Retry-After": str(math.ceil(wait))})
    try:
        async with gate.slot(queue_timeout_s):
            return await _answer(request, llm, ask, stats)
    except GateFullError:
        stats["llm_refused"] += 1
        return web.json_response(bad_request("every answer slot is busy"), status=503)
    except GateTimeoutError:
        stats["llm_timed_out"] += 1
        return web.json_response(bad_request("waited too long for an answer slot"),
                                 status=504)


async def _answer(request: web.Request, llm: Llm, ask: Ask,
                  stats: Counter[str]) -> web.StreamResponse:
    created = int(time.time())
    tokens = tokens_for(ask, llm.tokens)
    if not ask.stream:
        await asyncio.sleep(llm.first_token_s + llm.token_s * (len(tokens) - 1))
        stats["llm_completions"] += 1
        stats["llm_tokens"] += len(tokens)
        return web.json_response(whole_answer(ask, created, tokens))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
    await response.prepare(request)
    await response.write(event(role_chunk(ask, created)))
    for i, token in enumerate(tokens):
        await asyncio.sleep(llm.first_token_s if i == 0 else llm.token_s)
        await response.write(event(token_chunk(ask, created, token)))
        stats["llm_tokens"] += 1
    await response.write(event(final_chunk(ask, created)) + DONE)
    await response.write_eof()
    stats["llm_completions"] += 1
    return response
