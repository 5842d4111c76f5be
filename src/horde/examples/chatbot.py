"""A chatbot's streamed answers under a staged ramp-up (seed 003), against the ``chatbot`` demo.

    horde demo chatbot                                  # 2 → 14 sessions in 4 stages
    horde demo chatbot --set capacity=4                 # past capacity: queueing, 504s
    horde demo chatbot --fault stall                    # every 5th answer stalls mid-stream
    horde run examples/chatbot.py --target https://bot.example \\
        --shape "steps(start=10, increment=50, interval=3m, max=500)"   # 003's real ramp

Each user is one chat session: a token and a chat session over HTTP (@on_start), then a
WebSocket to the session's ``ws_url``. It asks questions one after another, each answered
in streamed chunks until ``"complete_response": true``; after ``questions`` questions it
opens a new session, as 003's sessions end after their question list.

What the run tells (results.json):
- ``streams.answer``: answers, completed, chunks (total, mean, max), stalls (a gap between
  chunks longer than ``stall_s``); ``metrics["stream_first:answer"]`` time to the first
  chunk, ``stream_total:answer`` the full answer, ``stream_gap:answer`` between chunks;
- in flight: ``requests.peak_in_flight`` (answers awaited at once, 003's "peak concurrent
  invocations"), and per second ``timeseries[].in_flight``;
- 003's error categories, as horde classifies them: ``errors.http_503`` (session setup
  refused), ``error_details.handshake_rejected["502"]`` (WebSocket refused; other statuses
  likewise), ``error_details.app_error["504"]`` / ``["503"]`` (an answer that waited too
  long / found the queue full), ``errors.timeout``, ``errors.connection_refused``,
  ``errors.tls_error``;
- ``counters``: ``custom:sessions`` opened, ``custom:questions`` asked,
  ``custom:answers_ok`` answered in full (ok / questions is 003's success rate).
"""

from pathlib import Path

import horde

NAME = "chatbot"

QUESTIONS = horde.Feeder(Path(__file__).parent / "data" / "chatbot_questions.json", "random")


class Params(horde.Params):
    questions: int = 5  # per chat session, then a new session (003: 40 per session)
    stall_s: float = 2.0  # a gap between chunks longer than this is a stall
    answer_timeout_s: float = 30.0  # an answer not complete by then is a timeout
    think_s: float = 0.0  # pause between an answer and the next question (003: none)


THRESHOLDS = (
    "connections.success_rate >= 0.99",  # 003: connection error rate (502, refused, TLS, ...)
    "errors.rate < 1%",  # 003: 502/503/504 and timeout rates, all categories together
    "streams.answer.stalls == 0",  # 003: "Timeout Rate": no answer stops mid-stream
    "p95(stream_first{name=answer}) < 2s",  # 003: response time per question (ours: 2 s)
)

# 003's progressive ramp-up (10 → 500 by 50 every 3 min), scaled to a demo that takes 40 s:
# past the demo's 10 answer slots in the last stage, so queueing shows in the latencies.
OPTIONS = {"shape": "steps(start=2, increment=4, interval=10s, max=14)"}


@horde.on_start
async def open_session(user: horde.User) -> None:
    """003's setup phase: a token, a chat session, then its WebSocket."""
    user.state.asked = 0
    question = QUESTIONS.next(user)
    token = await user.http.post("/api/auth/token", json={"user_id": user.name}, name="token")
    token.raise_for_status()
    bearer = {"Authorization": f"Bearer {token.json()['token']}"}
    session = await user.http.post(
        "/api/chat/sessions", json={"course": question["course"]}, headers=bearer,
        name="chat session",
    )
    session.raise_for_status()
    user.state.ws = await user.websocket(session.json()["ws_url"], codec=horde.JSON)
    user.count("sessions")


@horde.behaviour
async def ask(user: horde.User) -> None:
    """One question, its answer streamed to the end; a new session after ``questions``."""
    if user.state.asked >= user.params.questions:
        await user.state.ws.close()
        await open_session(user)
    user.state.asked += 1
    question = QUESTIONS.next(user)
    message_id = f"{user.name}-q{user.state.asked}"
    user.count("questions")
    result = await user.state.ws.stream(
        {"action": "sendMessage", "question": question["question"],
         "message_id": message_id, "course": question["course"]},
        name="answer",
        match=lambda m: m.get("message_id") == message_id,
        until=lambda m: m.get("complete_response") is True,
        stall_after=user.params.stall_s,
        timeout=user.params.answer_timeout_s,
    )
    if result.completed:
        _answered(user, result.chunks[-1])
    await user.think(user.params.think_s)


def _answered(user: horde.User, last: dict) -> None:
    """An answer may end in the server's error message (503 queue full, 504 waited too
    long): count it under ``app_error`` with its status, 003's categories."""
    if last.get("type") == "error":
        raise horde.AppError(
            f"answer failed: {last.get('status')} {last.get('detail')}",
            detail=str(last.get("status")),
        )
    user.count("answers_ok")
