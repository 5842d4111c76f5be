"""The chatbot demo (seed 003): the capacity gate and messages as plain calls, then setup,
streamed answers, overload and the stall fault on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import Any

import aiohttp
import pytest
from tests.demo.support import demo_app

from horde.demo.chatbot import build_app
from horde.demo.chatbot.gate import CapacityGate, GateFullError, GateTimeoutError
from horde.demo.chatbot.protocol import Question, Sessions, answer_chunks, parse_question
from horde.demo.launcher import demo_server
from horde.demo.serve import options_for
from horde.errors import UsageError

# --- the capacity gate, without sockets ---------------------------------------------


async def test_gate_admits_capacity_then_queues_in_order() -> None:
    gate = CapacityGate(capacity=2, queue_max=10)
    await gate.acquire(1)
    await gate.acquire(1)
    order: list[int] = []

    async def wait(n: int) -> None:
        await gate.acquire(1)
        order.append(n)

    waiters = [asyncio.create_task(wait(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert (gate.active, gate.waiting, gate.busy, order) == (2, 3, True, [])
    gate.release()
    gate.release()
    await asyncio.sleep(0)
    assert (gate.active, gate.waiting, order) == (2, 1, [0, 1])  # slots changed hands
    gate.release()
    await asyncio.gather(*waiters)
    assert (order, gate.peak_active, gate.peak_waiting, gate.queued) == ([0, 1, 2], 2, 3, 3)


async def test_gate_refuses_at_once_when_the_queue_is_full() -> None:
    gate = CapacityGate(capacity=1, queue_max=1)
    await gate.acquire(1)
    queued = asyncio.create_task(gate.acquire(1))
    await asyncio.sleep(0)
    assert gate.full
    with pytest.raises(GateFullError):
        await gate.acquire(1)
    gate.release()
    await queued
    assert (gate.active, gate.waiting, gate.full) == (1, 0, False)


async def test_gate_times_out_a_long_wait_and_forgets_it() -> None:
    gate = CapacityGate(capacity=1, queue_max=5)
    await gate.acquire(1)
    with pytest.raises(GateTimeoutError):
        await gate.acquire(0.01)
    assert (gate.active, gate.waiting) == (1, 0)
    gate.release()
    assert gate.active == 0


async def test_a_cancelled_waiter_gives_back_what_it_held() -> None:
    gate = CapacityGate(capacity=1, queue_max=5)
    await gate.acquire(1)
    left = asyncio.create_task(gate.acquire(1))
    await asyncio.sleep(0)
    left.cancel()
    await asyncio.sleep(0)
    assert (gate.active, gate.waiting) == (1, 0)
    handed = asyncio.create_task(gate.acquire(1))
    await asyncio.sleep(0)
    gate.release()  # the slot is handed to `handed`...
    handed.cancel()  # ...which is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await handed
    assert (gate.active, gate.waiting) == (0, 0)


async def test_gate_slot_releases_on_error() -> None:
    gate = CapacityGate(capacity=1, queue_max=0)
    with pytest.raises(RuntimeError):
        async with gate.slot(1):
            raise RuntimeError
    assert gate.active == 0


# --- messages and sessions, without sockets ------------------------------------------


def test_parse_question_accepts_the_seed_shape_and_explains_refusals() -> None:
    text = '{"action": "sendMessage", "question": "Why?", "message_id": "q7", "course": "MED1060"}'
    assert parse_question(text, "m1") == Question("q7", "Why?", "MED1060")
    assert parse_question('{"question": "Why?"}', "m1") == Question("m1", "Why?", "")
    for bad, reason in [("nope", "not JSON"), ("[1]", "JSON object"), ('{"question": ""}', "non-empty"),
                        ('{"action": "ping", "question": "x"}', "unknown action")]:
        with pytest.raises(ValueError, match=reason):
            parse_question(bad, "m1")


def test_answers_have_the_configured_chunks_and_quote_the_question() -> None:
    chunks = answer_chunks(Question("q", "What is anatomy?", ""), 3)
    assert chunks == ["Answer to 'What is anatomy?'", " part 2 of 3.", " part 3 of 3."]


def test_sessions_need_a_bearer_token_and_a_matching_connection_id() -> None:
    sessions = Sessions()
    token = sessions.issue_token("ann")
    assert sessions.user_of(f"Bearer {token}") == "ann"
    assert sessions.user_of(token) is None and sessions.user_of("Bearer x") is None
    chat = sessions.open("ann", "MED1060")
    assert sessions.find(chat.session_id, chat.connection_id) == chat
    assert sessions.find(chat.session_id, "c-other") is None
    assert chat.as_json()["ws_url"] == f"/ws?session_id={chat.session_id}&connection_id={chat.connection_id}"


def test_settings_are_checked_all_at_once() -> None:
    options = options_for("chatbot", settings=["capacity=0", "chunk_ms=-1"])
    with pytest.raises(UsageError, match="capacity must be at least 1; chunk_ms must not be negative"):
        build_app(options)


# --- the server on a real socket ----------------------------------------------------


def chatbot_server(*faults: str, **settings: object) -> contextlib.AbstractAsyncContextManager[str]:
    """The chatbot app in-process on 127.0.0.1, with these faults and settings."""
    return demo_app("chatbot", *faults, **settings)


async def chat_session(http: aiohttp.ClientSession, url: str) -> dict[str, str]:
    """Seed 003's setup: a token, then a chat session naming the WebSocket."""
    async with http.post(f"{url}/api/auth/token", json={"user_id": "ann"}) as response:
        token = (await response.json())["token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{url}/api/chat/sessions", json={"course": "MED1060"}, headers=headers) as response:
        assert response.status == 200
        return await response.json()


async def connect(http: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    session = await chat_session(http, url)
    return await http.ws_connect(url + session["ws_url"])


async def ask(ws: aiohttp.ClientWebSocketResponse, question: str, message_id: str) -> list[tuple[float, dict[str, Any]]]:
    """Send a question; (seconds since sending, message) until ``complete_response``."""
    start = time.perf_counter()
    await ws.send_json({"action": "sendMessage", "question": question, "message_id": message_id})
    received = []
    while True:
        message = await asyncio.wait_for(ws.receive_json(), timeout=10)
        received.append((time.perf_counter() - start, message))
        if message["complete_response"]:
            return received


async def until_stats(http: aiohttp.ClientSession, url: str, **wanted: int) -> None:
    """Wait until the server's counts are ``wanted`` (up to 10 s: a busy machine is slow
    to get there, and a fixed sleep would test its speed)."""
    for _ in range(1000):
        counted = await stats(http, url)
        if all(counted[k] == v for k, v in wanted.items()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"server counts never reached {wanted}: {counted}")


async def stats(http: aiohttp.ClientSession, url: str) -> dict[str, int]:
    async with http.get(f"{url}/stats") as response:
        return await response.json()


async def test_setup_then_an_answer_streams_in_chunks_ending_with_the_flag() -> None:
    async with chatbot_server(chunks=4, chunk_ms=30) as url, aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/chat/sessions", headers={"Authorization": "Bearer nope"}) as response:
            assert response.status == 401
        session = await chat_session(http, url)
        assert set(session) == {"session_id", "connection_id", "course", "ws_url"}
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{url}/ws?session_id={session['session_id']}&connection_id=c-wrong")
        assert refused.value.status == 403
        async with http.ws_connect(url + session["ws_url"]) as ws:
            answer = await ask(ws, "How does anatomy work?", "q1")
            await ws.send_str("not json")
            bad = await ws.receive_json(timeout=5)
        counted = await stats(http, url)
    messages = [m for _, m in answer]
    assert [m["chunk_index"] for m in messages] == [0, 1, 2, 3]
    assert [m["complete_response"] for m in messages] == [False, False, False, True]
    assert {(m["type"], m["message_id"], m["session_id"]) for m in messages} == {("chunk", "q1", session["session_id"])}
    assert messages[0]["content"] == "Answer to 'How does anatomy work?'"
    assert answer[-1][0] >= 4 * 0.030  # each chunk takes chunk_ms
    assert (bad["type"], bad["status"], bad["complete_response"]) == ("error", 400, True)
    assert {k: counted[k] for k in ("tokens_issued", "sessions_created", "ws_connections", "questions",
                                     "answers_completed", "chunks_sent", "bad_messages", "ws_unknown_session")} == {
        "tokens_issued": 1, "sessions_created": 1, "ws_connections": 1, "questions": 2,
        "answers_completed": 1, "chunks_sent": 4, "bad_messages": 1, "ws_unknown_session": 1}


async def test_exactly_capacity_answers_stream_at_once_the_rest_wait() -> None:
    async with chatbot_server(capacity=3, chunks=2, chunk_ms=150) as url, aiohttp.ClientSession() as http:
        sockets = [await connect(http, url) for _ in range(5)]
        answers = await asyncio.gather(*(ask(ws, "q", f"q{i}") for i, ws in enumerate(sockets)))
        for ws in sockets:
            await ws.close()
        counted = await stats(http, url)
    took = sorted(answer[-1][0] for answer in answers)
    assert all(t < 0.6 for t in took[:3])  # streamed at once: 2 × 150 ms each
    assert all(t >= 0.6 for t in took[3:])  # waited for a slot, then 300 ms more
    assert (counted["peak_active"], counted["queued"], counted["peak_waiting"]) == (3, 2, 2)
    assert (counted["answers_completed"], counted["active"], counted["waiting"]) == (5, 0, 0)


async def test_a_queue_wait_past_the_limit_ends_with_a_504_error() -> None:
    settings = {"capacity": 1, "chunks": 2, "chunk_ms": 200, "queue_timeout_ms": 100}
    async with chatbot_server(**settings) as url, aiohttp.ClientSession() as http:
        sockets = [await connect(http, url) for _ in range(3)]
        answers = await asyncio.gather(*(ask(ws, "q", f"q{i}") for i, ws in enumerate(sockets)))
        for ws in sockets:
            await ws.close()
        counted = await stats(http, url)
    ends = sorted((m["type"], m.get("status")) for answer in answers for _, m in answer[-1:])
    assert ends == [("chunk", None), ("error", 504), ("error", 504)]
    timed_out = [answer[-1] for answer in answers if answer[-1][1]["type"] == "error"]
    assert all(0.1 <= t < 0.4 and m["error"] == "Gateway Timeout" and m["complete_response"] for t, m in timed_out)
    assert (counted["answers_completed"], counted["answers_timed_out"], counted["questions"]) == (1, 2, 3)


async def test_overload_gives_503_on_setup_502_on_handshake_and_503_errors() -> None:
    settings = {"capacity": 1, "queue_max": 1, "chunks": 1, "chunk_ms": 400}
    async with chatbot_server(**settings) as url, aiohttp.ClientSession() as http:
        spare = await chat_session(http, url)
        first, second = await connect(http, url), await connect(http, url)
        await first.send_json({"question": "a"})  # streams
        await second.send_json({"question": "b"})  # waits: the queue is now full
        await until_stats(http, url, active=1, waiting=1)
        async with http.post(f"{url}/api/auth/token") as response:
            token = (await response.json())["token"]
        async with http.post(f"{url}/api/chat/sessions", headers={"Authorization": f"Bearer {token}"}) as response:
            assert (response.status, response.headers["Retry-After"]) == (503, "1")
            assert (await response.json())["error"] == "Service Unavailable"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url + spare["ws_url"])
        assert refused.value.status == 502
        await first.send_json({"question": "c", "message_id": "q3"})
        refusal = await first.receive_json(timeout=5)
        assert (refusal["type"], refusal["status"], refusal["message_id"]) == ("error", 503, "q3")
        assert (await first.receive_json(timeout=5))["complete_response"]
        assert (await second.receive_json(timeout=5))["complete_response"]
        await first.close()
        await second.close()
        counted = await stats(http, url)
    assert (counted["sessions_refused"], counted["ws_refused"], counted["answers_refused"]) == (1, 1, 1)
    assert counted["answers_completed"] == 2


async def test_handshakes_are_slow_while_every_slot_is_busy() -> None:
    settings = {"capacity": 1, "chunks": 1, "chunk_ms": 800, "handshake_ms": 300}
    async with chatbot_server(**settings) as url, aiohttp.ClientSession() as http:
        idle, busy = await chat_session(http, url), await chat_session(http, url)
        start = time.perf_counter()
        first = await http.ws_connect(url + idle["ws_url"])
        fast = time.perf_counter() - start
        await first.send_json({"question": "a"})
        await until_stats(http, url, active=1)
        start = time.perf_counter()
        second = await http.ws_connect(url + busy["ws_url"])
        slow = time.perf_counter() - start
        await first.close()
        await second.close()
        counted = await stats(http, url)
    assert fast < 0.3 <= slow
    assert counted["slow_handshakes"] == 1


async def test_stall_fault_stops_every_nth_answer_mid_stream() -> None:
    settings = {"chunks": 4, "chunk_ms": 20, "stall_ms": 400, "stall_every": 2}
    async with chatbot_server("stall", **settings) as url, aiohttp.ClientSession() as http:
        ws = await connect(http, url)
        answers = [await ask(ws, "q", f"q{i}") for i in range(2)]
        await ws.close()
        counted = await stats(http, url)

    def gaps(answer: list[tuple[float, dict[str, Any]]]) -> list[float]:
        times = [0.0] + [t for t, _ in answer]
        return [b - a for a, b in itertools.pairwise(times)]

    assert max(gaps(answers[0])) < 0.4
    second = gaps(answers[1])
    assert second[2] >= 0.4 and max(second[:2] + second[3:]) < 0.4  # stalled before chunk 2 of 4
    assert [m["complete_response"] for _, m in answers[1]] == [False, False, False, True]
    assert (counted["stalls"], counted["answers_completed"]) == (1, 2)


async def test_horde_serve_runs_the_chatbot_with_its_settings() -> None:
    with demo_server("chatbot", ("--set", "capacity=2", "--set", "chunks=2", "--set", "chunk_ms=10")) as url:
        async with aiohttp.ClientSession() as http:
            ws = await connect(http, url)
            answer = await ask(ws, "q", "q1")
            await ws.close()
            counted = await stats(http, url)
    assert [m["chunk_index"] for _, m in answer] == [0, 1]
    assert (counted["capacity"], counted["answers_completed"]) == (2, 1)
