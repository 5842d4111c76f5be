"""OpenAI-compatible chat completions without I/O: the request's fields, the answer's
tokens and the Server-Sent Events that carry them (``stream: true``).

A streamed answer is what OpenAI sends: a role-only chunk (``delta: {"role":
"assistant", "content": ""}``), one chunk per token (``delta: {"content": "..."}``), a
final chunk with an empty delta and ``finish_reason``, then ``data: [DONE]``. Every
event is ``data: <json>\\n\\n``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

__all__ = ["DONE", "Ask", "bad_request", "event", "final_chunk", "parse_ask",
           "rate_limited", "role_chunk", "token_chunk", "tokens_for", "whole_answer"]

DONE = b"data: [DONE]\n\n"


@dataclass(frozen=True, slots=True)
class Ask:
    """What a ``POST /v1/chat/completions`` asks for."""

    id: str
    model: str
    prompt: str
    stream: bool
    max_tokens: int | None


def parse_ask(body: Any) -> Ask:
    """The request's fields; ValueError with OpenAI's wording when they are missing."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ValueError("'messages' must be a non-empty array")
    last = messages[-1]
    prompt = last.get("content") if isinstance(last, dict) else None
    if not isinstance(prompt, str):
        raise ValueError("each message needs a string 'content'")
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise ValueError("'max_tokens' must be a positive integer")
    return Ask(f"chatcmpl-{secrets.token_hex(6)}", str(body.get("model") or "demo"),
               prompt, body.get("stream") is True, max_tokens)


def tokens_for(ask: Ask, count: int) -> list[str]:
    """The answer's tokens: ``count`` of them (``max_tokens`` caps it), echoing the
    prompt's words so an answer can be told from another."""
    words = ask.prompt.split()[:8] or ["hello"]
    n = count if ask.max_tokens is None else min(count, ask.max_tokens)
    return [f"{words[i % len(words)]} " for i in range(n)]


def _chunk(ask: Ask, created: int, delta: dict[str, str], finish: str | None) -> dict[str, Any]:
    return {"id": ask.id, "object": "chat.completion.chunk", "created": created,
            "model": ask.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def role_chunk(ask: Ask, created: int) -> dict[str, Any]:
    return _chunk(ask, created, {"role": "assistant", "content": ""}, None)


def token_chunk(ask: Ask, created: int, token: str) -> dict[str, Any]:
    return _chunk(ask, created, {"content": token}, None)


def final_chunk(ask: Ask, created: int, finish: str = "stop") -> dict[str, Any]:
    return _chunk(ask, created, {}, finish)


def event(chunk: dict[str, Any]) -> bytes:
    """One SSE event carrying ``chunk``."""
    return b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"


def whole_answer(ask: Ask, created: int, tokens: list[str]) -> dict[str, Any]:
    """The non-streamed answer (``stream`` false): one ``chat.completion``."""
    return {"id": ask.id, "object": "chat.completion", "created": created, "model": ask.model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "".join(tokens)}}],
            "usage": {"prompt_tokens": len(ask.prompt.split()),
                      "completion_tokens": len(tokens),
                      "total_tokens": len(ask.prompt.split()) + len(tokens)}}


def rate_limited(retry_after: float) -> dict[str, Any]:
    """OpenAI's 429 body."""
    return {"error": {"message": f"Rate limit reached; try again in {retry_after:.2f}s",
                      "type": "requests", "code": "rate_limit_exceeded", "param": None}}


def bad_request(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": None,
                      "param": None}}
