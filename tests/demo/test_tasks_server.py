"""The tasks demo (seed 004): messages and routing as plain calls, then tasks, isolation
and the leak fault on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import random
import string
from typing import Any

import aiohttp
import pytest
from tests.demo.support import demo_app

from horde.demo.launcher import demo_server
from horde.demo.serve import options_for
from horde.demo.tasks import build_app
from horde.demo.tasks.protocol import Router, TaskRequest, parse_task, rounds_for
from horde.errors import UsageError

# --- messages and routing, without sockets --------------------------------------------


def test_parse_task_accepts_the_seed_shape_and_explains_refusals() -> None:
    seed = '{"task": "Echo test message 1", "config": {"mode": "one-shot", "maxRounds": 5}}'
    assert parse_task(seed) == TaskRequest("Echo test message 1", "one-shot", 5)
    assert parse_task('{"task": "t"}') == TaskRequest("t", "one-shot", None)
    for bad, reason in [("x", "not JSON"), ('{"task": ""}', "expected"), ('{"task": "t", "config": 1}', "config"),
                        ('{"task": "t", "config": {"maxRounds": 0}}', "maxRounds")]:
        with pytest.raises(ValueError, match=reason):
            parse_task(bad)


@pytest.mark.parametrize(("max_rounds", "rounds"), [(None, 3), (5, 3), (2, 2), (1, 1)])
def test_max_rounds_caps_the_servers_rounds(max_rounds: int | None, rounds: int) -> None:
    assert rounds_for(TaskRequest("t", "one-shot", max_rounds), 3) == rounds


def test_router_sends_output_home_and_without_the_fault_nowhere_else() -> None:
    router: Router[str] = Router()
    router.add("a", "conn-a")
    router.add("b", "conn-b")
    assert [router.route("a") for _ in range(4)] == [("conn-a", None)] * 4


def test_router_leaks_every_nth_output_to_the_next_open_session() -> None:
    router: Router[str] = Router(leak_every=2)
    for name in "abc":
        router.add(name, f"conn-{name}")
    routes = [router.route(s) for s in "aacc"]
    assert routes == [("conn-a", None), ("conn-a", "conn-b"), ("conn-c", None), ("conn-c", "conn-a")]
    router.remove("a")
    router.remove("b")
    assert [router.route("c") for _ in range(2)] == [("conn-c", None)] * 2  # alone: nobody to leak to


def test_settings_are_checked_all_at_once() -> None:
    with pytest.raises(UsageError, match="rounds must be at least 1; output_ms must not be negative"):
        build_app(options_for("tasks", settings=["rounds=0", "output_ms=-5"]))


# --- the server on a real socket ----------------------------------------------------


def tasks_server(*faults: str, **settings: object) -> contextlib.AbstractAsyncContextManager[str]:
    """The tasks app in-process on 127.0.0.1, with these faults and settings."""
    return demo_app("tasks", *faults, **settings)


async def until_complete(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Events until ``complete`` or ``error``, as seed 004's client reads them."""
    events = []
    while True:
        events.append(await ws.receive_json(timeout=10))
        if events[-1]["event_type"] in ("complete", "error"):
            return events


async def stats(http: aiohttp.ClientSession, url: str) -> dict[str, int]:
    async with http.get(f"{url}/stats") as response:
        return await response.json()


async def test_concurrent_tasks_each_get_their_outputs_then_complete() -> None:
    async with tasks_server(rounds=3, output_ms=20) as url, aiohttp.ClientSession() as http:

        async def one(i: int) -> tuple[str, list[dict[str, Any]]]:
            async with http.ws_connect(f"{url}/ws/load_test_{i}") as ws:
                max_rounds = 2 if i == 0 else 5
                await ws.send_json({"task": f"Echo test message {i}", "config": {"mode": "one-shot", "maxRounds": max_rounds}})
                return f"load_test_{i}", await until_complete(ws)

        results = await asyncio.gather(*(one(i) for i in range(10)))
        await asyncio.sleep(0.05)  # let the server see the closes
        counted = await stats(http, url)
    for task_id, events in results:
        rounds = 2 if task_id == "load_test_0" else 3
        assert [e["event_type"] for e in events] == ["output"] * rounds + ["complete"]
        assert {e["task_id"] for e in events} == {task_id}
        assert len({e["session_id"] for e in events}) == 1
        n = task_id.rsplit("_", 1)[1]
        assert [e["data"] for e in events[:-1]] == [
            {"message": f"[round {r}/{rounds}] Echo test message {n}", "round": r} for r in range(1, rounds + 1)]
        assert events[-1]["data"] == {"status": "success", "rounds": rounds}
    assert {k: counted[k] for k in ("connections", "closed", "tasks_started", "tasks_completed", "outputs_sent")} == {
        "connections": 10, "closed": 10, "tasks_started": 10, "tasks_completed": 10, "outputs_sent": 29}
    assert (counted["peak_sessions"], counted["active_sessions"]) == (10, 0)


async def test_a_bad_message_gets_an_error_and_the_session_goes_on() -> None:
    async with tasks_server(rounds=1, output_ms=0) as url, aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{url}/ws/t1") as ws:
            await ws.send_str("{}")
            error = await until_complete(ws)
            await ws.send_json({"task": "again"})
            again = await until_complete(ws)
        counted = await stats(http, url)
    assert error == [{"event_type": "error", "task_id": "t1", "session_id": again[0]["session_id"],
                      "data": {"message": 'expected {"task": "...", "config": {...}}'}}]
    assert [e["event_type"] for e in again] == ["output", "complete"]
    assert (counted["errors"], counted["tasks_completed"], counted["messages_received"]) == (1, 1, 2)


async def isolation_run(url: str, tasks: int) -> dict[str, list[dict[str, Any]]]:
    """Seed 004's isolation test: concurrent tasks with unique markers. Every session stays
    open until all tasks are complete, then drains, so each output sent is counted once."""
    received: dict[str, list[dict[str, Any]]] = {}
    all_done = asyncio.Event()
    finished = 0

    async def one(task_id: str, marker: str, http: aiohttp.ClientSession) -> None:
        nonlocal finished
        async with http.ws_connect(f"{url}/ws/{task_id}") as ws:
            await ws.send_json({"task": f"Print exactly: MARKER_{marker}", "config": {"mode": "one-shot"}})
            received[task_id] = await until_complete(ws)
            finished += 1
            if finished == tasks:
                all_done.set()
            await all_done.wait()
            with contextlib.suppress(asyncio.TimeoutError):
                while True:
                    received[task_id].append(await ws.receive_json(timeout=0.2))

    markers = {f"isolation_test_{i}": "".join(random.choices(string.ascii_uppercase, k=8)) for i in range(tasks)}
    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(one(t, m, http) for t, m in markers.items()))
    for events in received.values():  # every output is intact: its marker matches its task_id
        for e in events:
            if e["event_type"] == "output":
                assert f"MARKER_{markers[e['task_id']]}" in e["data"]["message"]
    return received


def foreign(received: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Per task: outputs it got that belong to another task (seed 004's cross-contamination)."""
    return {t: sum(e["task_id"] != t for e in events) for t, events in received.items()}


async def test_outputs_stay_isolated_without_the_fault() -> None:
    async with tasks_server(rounds=3, output_ms=10) as url:
        received = await isolation_run(url, 5)
    assert foreign(received) == dict.fromkeys(received, 0)
    assert all(len(events) == 4 for events in received.values())


async def test_leak_fault_sends_every_nth_output_to_another_session() -> None:
    async with tasks_server("leak", rounds=3, output_ms=10, leak_every=3) as url:
        received = await isolation_run(url, 5)
        async with aiohttp.ClientSession() as http:
            counted = await stats(http, url)
    leaks = foreign(received)
    assert sum(leaks.values()) == 5 == counted["leaked"]  # outputs 3, 6, 9, 12, 15 of 15
    assert counted["outputs_sent"] == 15  # each owner still got all of its own
    for task_id, events in received.items():
        own = [e for e in events if e["task_id"] == task_id]
        assert [e["event_type"] for e in own] == ["output"] * 3 + ["complete"]


async def test_horde_serve_runs_tasks_with_the_leak_fault() -> None:
    with demo_server("tasks", ("--fault", "leak", "--set", "leak_every=1", "--set", "rounds=1")) as url:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{url}/ws/a") as a,
            http.ws_connect(f"{url}/ws/b") as b,
        ):
            await asyncio.sleep(0.1)  # both sessions registered before a's output is routed
            await a.send_json({"task": "secret of a"})
            own = await until_complete(a)
            leaked = await b.receive_json(timeout=5)
    assert [e["event_type"] for e in own] == ["output", "complete"]
    assert (leaked["task_id"], leaked["data"]["message"]) == ("a", "[round 1/1] secret of a")
