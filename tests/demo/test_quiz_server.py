"""The quiz demo server: its scoring as plain calls, then its protocol over real WebSockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from horde.demo.launcher import demo_server
from horde.demo.options import DemoOptions
from horde.demo.quiz import build_app, leaderboard, parse_message, score_guess, valid_year

pytestmark = pytest.mark.timeout(30)
WAIT_S = 5.0


# -- the rules, no sockets -------------------------------------------------------------

@pytest.mark.parametrize(("guess", "points"), [
    (1975, 10), (1977, 5), (1973, 5), (1980, 2), (1970, 2), (1981, 0), (1900, 0),
])
def test_score_guess(guess: int, points: int) -> None:
    assert score_guess(guess, 1975) == points


@pytest.mark.parametrize(("value", "ok"), [
    (1990, True), (1900, True), (2100, True), (1899, False), (1990.0, False),
    ("1990", False), (True, False), (None, False),
])
def test_valid_year(value: object, ok: bool) -> None:
    assert valid_year(value) is ok


@pytest.mark.parametrize(("text", "result"), [
    ('{"type": "ping"}', ({"type": "ping"}, None)),
    ("not json", (None, "bad_json")),
    ("[1, 2]", (None, "bad_json")),
    ('{"type": 3}', (None, "bad_json")),
])
def test_parse_message(text: str, result: tuple[Any, Any]) -> None:
    assert parse_message(text) == result


def test_leaderboard_orders_by_score_then_session() -> None:
    board = leaderboard({"b": 5, "a": 5, "c": 9}, {"c": 10}, {"a": "Ann"}, 2)
    assert board == [{"session_id": "c", "name": "c", "score": 9, "points": 10},
                     {"session_id": "a", "name": "Ann", "score": 5, "points": 0}]


# -- over real WebSockets --------------------------------------------------------------

class Conn:
    """One WebSocket to ``/ws`` that remembers everything it received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, **msg: Any) -> None:
        await self.ws.send_json(msg)

    async def expect(self, kind: str) -> dict[str, Any]:
        """The next message of type ``kind``, skipping others; fails after WAIT_S."""
        async with asyncio.timeout(WAIT_S):
            while True:
                msg = await self.ws.receive_json()
                if msg["type"] == kind:
                    return msg

    async def ask(self, kind: str, **msg: Any) -> dict[str, Any]:
        await self.send(**msg)
        return await self.expect(kind)

    async def nothing_of(self, kind: str, wait_s: float = 0.3) -> bool:
        """True if no ``kind`` message arrives within ``wait_s``."""
        try:
            await asyncio.wait_for(self.expect(kind), wait_s)
        except TimeoutError:
            return True
        return False


class Quiz:
    """An in-process quiz server and a client session to it."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.http = http

    async def connect(self) -> Conn:
        return Conn(await self.http.ws_connect(f"{self.url}/ws", timeout=aiohttp.ClientWSTimeout(
            ws_close=WAIT_S)))

    async def player(self, session_id: str) -> Conn:
        conn = await self.connect()
        reply = await conn.ask("join_game_response", type="join_game", session_id=session_id)
        assert reply["ok"] and reply["session_id"] == session_id
        return conn

    async def admin(self, action: str) -> tuple[int, dict[str, Any]]:
        async with self.http.post(f"{self.url}/admin/{action}") as response:
            return response.status, await response.json()

    async def stats(self) -> dict[str, Any]:
        async with self.http.get(f"{self.url}/stats") as response:
            return await response.json()


@pytest.fixture
async def quiz(request: pytest.FixtureRequest) -> AsyncIterator[Quiz]:
    """An in-process quiz server; parametrize it indirectly with (faults, settings)."""
    faults, settings = getattr(request, "param", ((), {}))
    app = build_app(DemoOptions(frozenset(faults), settings))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    async with aiohttp.ClientSession() as http:
        yield Quiz(f"http://127.0.0.1:{port}", http)
    await runner.cleanup()


def settings(**values: str) -> Any:
    return pytest.mark.parametrize("quiz", [((), values)], indirect=True)


async def test_join_ping_and_a_round_ended_by_the_last_guess(quiz: Quiz) -> None:
    players = [await quiz.player(f"s{i}") for i in range(3)]
    pong = await players[0].ask("pong", type="ping", id=42)
    assert pong["id"] == 42 and abs(pong["ts"] - time.time()) < 2.0
    assert (await quiz.admin("start_game"))[1]["ok"]
    status, reply = await quiz.admin("next_song")
    assert status == 200 and reply["round"]["open"]
    starts = [await p.expect("round_started") for p in players]
    assert {s["round_id"] for s in starts} == {reply["round"]["round_id"]}
    assert starts[0]["sent_to"] == 3 and "year" not in str(starts[0]["song"])
    rid = starts[0]["round_id"]
    for i, player in enumerate(players):
        ack = await player.ask("guess_ack", type="submit_guess", round_id=rid, year=1960 + 10 * i)
        assert ack["round_id"] == rid
    results = [await p.expect("round_results") for p in players]
    assert all(r == results[0] for r in results)  # one encoding for everyone
    first = results[0]
    assert first["round_id"] == rid and first["guesses"] == 3 and first["sent_to"] == 3
    assert first["seq"] > starts[0]["seq"] and abs(first["ts"] - time.time()) < 2.0
    assert first["scoring_ms"] >= 0
    year = first["correct_year"]
    expect = {f"s{i}": score_guess(1960 + 10 * i, year) for i in range(3)}
    assert {row["session_id"]: row["points"] for row in first["leaderboard"]} == expect
    numbers = await quiz.stats()
    assert {k: numbers[k] for k in ("players", "players_connected", "joins", "guesses",
                                    "rounds_started", "rounds_completed",
                                    "round_results_sent", "results_dropped")} == {
        "players": 3, "players_connected": 3, "joins": 3, "guesses": 3, "rounds_started": 1,
        "rounds_completed": 1, "round_results_sent": 3, "results_dropped": 0}
    assert numbers["messages"] == {"join_game": 3, "ping": 1, "submit_guess": 3}


@settings(round_ms="300")
async def test_a_round_ends_on_its_timer(quiz: Quiz) -> None:
    guesser, idle = await quiz.player("g"), await quiz.player("idle")
    await quiz.admin("start_game")
    await quiz.admin("next_song")
    rid = (await guesser.expect("round_started"))["round_id"]
    began = time.perf_counter()
    await guesser.ask("guess_ack", type="submit_guess", round_id=rid, year=1990)
    results = await idle.expect("round_results")
    assert 0.2 <= time.perf_counter() - began < 2.0
    assert results["guesses"] == 1 and results["round_id"] == rid


@settings(scoring_ms_per_player="20")
async def test_scoring_time_is_measured_server_side(quiz: Quiz) -> None:
    players = [await quiz.player(f"s{i}") for i in range(3)]
    await quiz.admin("start_game")
    await quiz.admin("next_song")
    rid = (await players[0].expect("round_started"))["round_id"]
    for player in players:
        await player.send(type="submit_guess", round_id=rid, year=2000)
    results = await players[0].expect("round_results")
    assert 60 <= results["scoring_ms"] < 1000  # 3 guesses × 20 ms
    assert (await quiz.stats())["scoring_ms_max"] == results["scoring_ms"]


async def test_error_codes(quiz: Quiz) -> None:
    conn = await quiz.connect()
    await conn.ws.send_str("{nope")
    assert (await conn.expect("error"))["code"] == "bad_json"
    codes = [
        await conn.ask("error", type="dance"),
        await conn.ask("error", type="submit_guess", round_id=1, year=1990),
        await conn.ask("error", type="join_game", session_id=""),
    ]
    await conn.ask("join_game_response", type="join_game", session_id="me")
    other = await quiz.player("other")  # connected, so "me" guessing does not end the round
    codes += [
        await conn.ask("error", type="join_game", session_id="someone-else"),
        await conn.ask("error", type="submit_guess", round_id=1, year=1990),
    ]
    await quiz.admin("start_game")
    codes.append(await conn.ask("error", type="submit_guess", round_id=1, year=1990))
    await quiz.admin("next_song")
    rid = (await conn.expect("round_started"))["round_id"]
    codes += [
        await conn.ask("error", type="submit_guess", round_id=rid + 1, year=1990),
        await conn.ask("error", type="submit_guess", round_id=rid, year="1990"),
    ]
    await conn.send(type="submit_guess", round_id=rid, year=1990)
    codes.append(await conn.ask("error", type="submit_guess", round_id=rid, year=1991))
    assert [c["code"] for c in codes] == [
        "unknown_type", "not_joined", "bad_session", "already_joined", "game_not_started",
        "no_round", "bad_round", "bad_guess", "duplicate_guess"]
    assert (await other.ask("guess_ack", type="submit_guess", round_id=rid, year=2001))["ok"]
    numbers = await quiz.stats()
    assert sum(numbers["errors"].values()) == 10 and numbers["errors"]["bad_json"] == 1


async def test_admin_rules_over_http_and_websocket(quiz: Quiz) -> None:
    assert await quiz.admin("next_song") == (409, {
        "ok": False, "code": "game_not_started", "message": "start_game first"})
    assert (await quiz.admin("launch"))[1]["code"] == "bad_action"
    admin = await quiz.connect()
    reply = await admin.ask("admin_response", type="admin", action="start_game")
    assert reply["ok"] and reply["round"] is None
    assert (await admin.ask("admin_response", type="admin", action="end_round"))["code"] == (
        "no_round")
    await admin.ask("admin_response", type="admin", action="next_song")
    assert (await quiz.admin("next_song"))[1]["code"] == "round_active"
    await admin.send(type="admin", action="end_round")
    results = await admin.expect("round_results")  # an admin socket sees the broadcasts
    assert (await admin.expect("admin_response"))["round"]["open"] is False
    assert results["guesses"] == 0 and results["sent_to"] == 0


async def test_a_rejoin_keeps_the_score(quiz: Quiz) -> None:
    first = await quiz.player("keep")
    await quiz.admin("start_game")
    await quiz.admin("next_song")
    rid = (await first.expect("round_started"))["round_id"]
    await first.send(type="submit_guess", round_id=rid, year=1990)
    score = (await first.expect("round_results"))["leaderboard"][0]["score"]
    await first.ws.close()
    again = await quiz.connect()
    reply = await again.ask("join_game_response", type="join_game", session_id="keep")
    assert reply["rejoined"] and reply["player_count"] == 1
    await quiz.admin("next_song")
    rid = (await again.expect("round_started"))["round_id"]
    await again.send(type="submit_guess", round_id=rid, year=1990)
    results = await again.expect("round_results")
    row = results["leaderboard"][0]
    assert row["score"] == score + row["points"]


@pytest.mark.parametrize("quiz", [(("drop_player",), {})], indirect=True)
async def test_drop_player_fault_skips_the_second_player(quiz: Quiz) -> None:
    players = [await quiz.player(name) for name in ("first", "second", "third")]
    await quiz.admin("start_game")
    await quiz.admin("next_song")
    rid = (await players[1].expect("round_started"))["round_id"]  # other broadcasts do arrive
    for player in players:
        await player.send(type="submit_guess", round_id=rid, year=1999)
    assert (await players[0].expect("round_results"))["sent_to"] == 2
    assert (await players[2].expect("round_results"))["round_id"] == rid
    assert await players[1].nothing_of("round_results")
    numbers = await quiz.stats()
    assert (numbers["dropped_session"], numbers["results_dropped"],
            numbers["round_results_sent"]) == ("second", 1, 2)


async def test_served_by_the_cli_with_drop_session() -> None:
    """``horde serve quiz`` in a child process takes --fault and --set."""
    args = ("--fault", "drop_player", "--set", "drop_session=b", "--set", "round_ms=200")
    with demo_server("quiz", args) as url:
        async with aiohttp.ClientSession() as http:
            quiz = Quiz(url, http)
            a, b = await quiz.player("a"), await quiz.player("b")
            await quiz.admin("start_game")
            await quiz.admin("next_song")
            assert (await a.expect("round_results"))["sent_to"] == 1  # ended by its timer
            assert await b.nothing_of("round_results")
            numbers = await quiz.stats()
    assert (numbers["dropped_session"], numbers["results_dropped"]) == ("b", 1)
