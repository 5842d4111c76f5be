"""An OpenAI-compatible LLM API under load: time to first token, tokens/s, rate limits.

    horde serve chatbot --port 8000 --set llm_rate=2      # 429 past 2 requests/s per key
    horde run examples/chatbot_llm.py --target http://127.0.0.1:8000 -u 5 -d 30s
    horde run examples/chatbot_llm.py --target https://llm.example --param model=my-model \\
        --param api_key=$KEY                                # a real server

Each user asks one question after another with ``POST /v1/chat/completions`` and
``"stream": true``, and reads the answer as Server-Sent Events
(``user.http.stream(..., sse=True)``): a role-only chunk, a chunk per token, a
``finish_reason`` chunk, then ``data: [DONE]``, which ends the stream without being a
chunk. A ``429`` is the server's rate limit: counted as ``http_429``, and the user waits
its ``Retry-After`` before asking again, as a polite client does.

What the run tells (results.json):
- ``metrics["stream_first:answer"]``: time to the first *content* token (``first=``
  skips the role-only chunk), from the request written;
- ``values["stream_rate:answer"]``: tokens per second per answer, first token to last
  (higher is better in ``horde compare``); ``values["stream_chunks:answer"]``: chunks
  per answer;
- ``values["rate_limited"]``: 1 per question refused with 429, 0 per question answered,
  so its ``mean`` is the share refused; ``errors.http_429`` counts them;
- ``streams.answer``: answers, completed, stalls (a pause between tokens past
  ``stall_s``).
"""

import json

import horde

NAME = "chatbot_llm"

PROMPTS = (
    "Explain back-pressure in one paragraph.",
    "What is a token bucket?",
    "Why measure time to first token?",
    "Summarize Server-Sent Events.",
)


class Params(horde.Params):
    model: str = "demo"
    api_key: str = ""  # sent as a bearer token; empty: one key per user ("user-N")
    max_tokens: int = 64
    stall_s: float = 1.0  # a pause between tokens longer than this is a stall
    answer_timeout_s: float = 60.0
    think_s: float = 0.0  # pause between an answer and the next question


THRESHOLDS = (
    "p95(stream_first{name=answer}) < 1s",  # time to first token
    "values.stream_rate:answer.p50 > 10",  # tokens per second, the median answer
    "values.rate_limited.mean < 0.05",  # under 5 % of questions refused with 429
    "streams.answer.stalls == 0",
)


def has_content(event: horde.SseEvent) -> bool:
    """The first token that counts: a chunk with text, not the role-only one."""
    if event.data == "[DONE]":
        return False
    choices = json.loads(event.data).get("choices") or [{}]
    return bool(choices[0].get("delta", {}).get("content"))


def is_done(event: horde.SseEvent) -> bool:
    return event.data == "[DONE]"


@horde.behaviour
async def ask(user: horde.User) -> None:
    """One question, its answer streamed token by token; a 429 waits its Retry-After."""
    key = user.params.api_key or user.name
    result = await user.http.stream(
        "POST", "/v1/chat/completions", name="answer", sse=True,
        headers={"Authorization": f"Bearer {key}"},
        json={"model": user.params.model, "stream": True,
              "max_tokens": user.params.max_tokens,
              "messages": [{"role": "user",
                            "content": PROMPTS[user.iteration % len(PROMPTS)]}]},
        first=has_content, end=is_done,
        stall_after=user.params.stall_s, timeout=user.params.answer_timeout_s,
    )
    limited = result.response is not None and result.response.status == 429
    user.record("rate_limited", 1.0 if limited else 0.0, unit="share", better="lower")
    if limited:
        await user.think(float(result.response.headers.get("retry-after") or 1))
        return
    user.check(result.completed, "answered")
    await user.think(user.params.think_s)
