"""The chsh demo server: its rules as plain calls, then its protocol over real Socket.IO."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web

from horde.demo.chsh import build_app
from horde.demo.chsh.game import ChshGame, Config, Schedule, Send, Store, chsh_win, valid_answer
from horde.demo.launcher import demo_server
from horde.demo.options import DemoOptions

pytestmark = pytest.mark.timeout(30)
WAIT_S = 5.0


# -- the rules, no sockets -------------------------------------------------------------

@pytest.mark.parametrize(("items", "answers", "win"), [
    (("A", "X"), (True, True), True), (("A", "X"), (True, False), False),
    (("A", "Y"), (False, False), True), (("B", "X"), (False, True), False),
    (("B", "Y"), (True, False), True), (("B", "Y"), (True, True), False),
])
def test_chsh_win_rule(items: tuple[str, str], answers: tuple[bool, bool], win: bool) -> None:
    assert chsh_win(items, answers) is win


@pytest.mark.parametrize(("value", "ok"), [
    (True, True), (False, True), (0, True), (1, True),
    (2, False), (1.0, False), ("true", False), (None, False), ([1], False),
])
def test_valid_answer(value: object, ok: bool) -> None:
    assert valid_answer(value) is ok


def sends(effects: list[Any], event: str) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and e.event == event]


def started_game(config: Config | None = None) -> ChshGame:
    """Team "t" of p1 and p2, dashboard d registered, game started; clock fixed at 100."""
    game = ChshGame(config, rng=random.Random(1), clock=lambda: 100.0)
    for sid in ("p1", "p2", "d"):
        game.connect(sid)
    assert game.create_team("p1", {"team_name": "t"}).ack["ok"]
    assert game.join_team("p2", {"team_name": "t"}).ack["player"] == 2
    game.register_dashboard("d")
    return game


def play_round(game: ChshGame) -> list[Any]:
    team = game.teams["t"]
    assert team.round is not None
    rid = team.round.round_id
    assert game.submit_answer("p1", {"round_id": rid, "answer": True}).ack["ok"]
    return game.submit_answer("p2", {"round_id": rid, "answer": 0}).effects


def test_start_sends_game_start_to_everyone_then_a_question_per_player() -> None:
    game = started_game()
    effects = game.start_game("d").effects
    (start,) = sends(effects, "game_start")
    assert start.to is None and start.data == {"game_started": True, "ts": 100.0}
    questions = {q.to: q.data for q in sends(effects, "new_question")}
    assert questions["p1"]["item"] in "AB" and questions["p2"]["item"] in "XY"
    assert questions["p1"]["round_id"] == questions["p2"]["round_id"] == 1
    assert [e.table for e in effects if isinstance(e, Store)] == ["rounds"]


def test_a_round_completes_when_both_answered() -> None:
    game = started_game()
    game.start_game("d")
    effects = play_round(game)
    done = sends(effects, "round_complete")
    assert {d.to for d in done} == {"p1", "p2"}
    assert done[0].data["round_id"] == 1 and done[0].data["round_number"] == 1
    assert Schedule("t", 1) in effects
    assert [e.row[5] for e in effects if isinstance(e, Store)] == [0]  # p2's answer, as 0
    nxt = sends(game.next_question("t", 1), "new_question")
    assert [q.data["round_id"] for q in nxt] == [2, 2]
    assert game.next_question("t", 1) == []  # a second timer for the same round: no-op
    assert game.stats()["rounds_completed"] == 1 and game.stats()["answers"] == 2


@pytest.mark.parametrize(("sid", "data", "code"), [
    ("p1", "not a dict", "bad_request"),
    ("d", {"round_id": 1, "answer": True}, "not_in_team"),
    ("p1", {"round_id": 99, "answer": True}, "bad_round"),
    ("p1", {"round_id": 1, "answer": "yes"}, "bad_answer"),
    ("p1", {"round_id": 1, "answer": 2}, "bad_answer"),
    ("p1", {"round_id": 1, "answer": True, "item": "Y"}, "bad_item"),
])
def test_invalid_answers_get_an_error_code(sid: str, data: object, code: str) -> None:
    game = started_game()
    game.start_game("d")
    result = game.submit_answer(sid, data)
    assert result.ack == {"ok": False, "code": code, "message": result.ack["message"]}
    assert [e.to for e in sends(result.effects, "error")] == [sid]
    assert game.stats()["errors"] == {code: 1}


def test_answers_before_start_while_paused_and_twice() -> None:
    game = started_game()
    assert game.submit_answer("p1", {"round_id": 1, "answer": 1}).ack["code"] == "game_not_started"
    game.start_game("d")
    assert game.submit_answer("p1", {"round_id": 1, "answer": 1}).ack["ok"]
    assert game.submit_answer("p1", {"round_id": 1, "answer": 1}).ack["code"] == "duplicate_answer"
    assert game.pause_game("d").ack["paused"] is True
    assert game.submit_answer("p2", {"round_id": 1, "answer": 1}).ack["code"] == "game_paused"
    assert game.pause_game("d").ack["paused"] is False


def test_team_errors() -> None:
    game = started_game()
    game.connect("p3")
    codes = [
        game.create_team("p3", {"team_name": "t"}).ack.get("code"),
        game.create_team("p3", {"team_name": "  "}).ack.get("code"),
        game.create_team("p3", None).ack.get("code"),
        game.join_team("p3", {"team_name": "t"}).ack.get("code"),
        game.join_team("p3", {"team_name": "nope"}).ack.get("code"),
        game.create_team("p1", {"team_name": "other"}).ack.get("code"),
        game.leave_team("p3").ack.get("code"),
    ]
    assert codes == ["team_exists", "invalid_team_name", "invalid_team_name", "team_full",
                     "team_not_found", "already_in_team", "not_in_team"]


def test_dashboard_must_register_first() -> None:
    game = ChshGame(clock=lambda: 1.0)
    game.connect("d")
    for action in (game.start_game, game.pause_game, game.restart_game):
        assert action("d").ack["code"] == "not_dashboard"
    game.register_dashboard("d")
    assert game.pause_game("d").ack["code"] == "game_not_started"
    assert game.start_game("d").ack["ok"]
    assert game.start_game("d").ack["code"] == "game_already_started"


def test_leaving_mid_round_cancels_it_and_a_new_partner_gets_a_fresh_round() -> None:
    game = started_game()
    game.start_game("d")
    effects = game.leave_team("p2").effects
    assert [s.event for s in effects if isinstance(s, Send) and s.to == "p1"] == [
        "player_left", "team_status_update"]
    assert game.submit_answer("p1", {"round_id": 1, "answer": 1}).ack["code"] == "no_round"
    game.connect("p3")
    joined = game.join_team("p3", {"team_name": "t"})
    assert joined.ack["player"] == 2
    assert {q.to: q.data["round_id"] for q in sends(joined.effects, "new_question")} == {
        "p1": 2, "p3": 2}
    game.disconnect("p1")
    game.disconnect("p3")
    assert "t" not in game.teams  # empty: the name is free again


def test_max_rounds_ends_with_game_over() -> None:
    game = started_game(Config(max_rounds=2))
    game.start_game("d")
    play_round(game)
    game.next_question("t", 1)
    effects = play_round(game)
    assert {s.to: s.data["rounds"] for s in sends(effects, "game_over")} == {"p1": 2, "p2": 2}
    assert not any(isinstance(e, Schedule) for e in effects)
    assert game.stats()["teams_finished"] == 1


def test_restart_forgets_rounds_but_keeps_teams() -> None:
    game = started_game()
    game.start_game("d")
    play_round(game)
    result = game.restart_game("d")
    assert [s.event for s in sends(result.effects, "game_reset")] == ["game_reset"]
    stats = game.stats()
    assert (stats["game_started"], stats["full_teams"], stats["rounds_completed"]) == (
        False, 1, 0)
    question = sends(game.start_game("d").effects, "new_question")[0]
    assert question.data["round_number"] == 1 and question.data["round_id"] == 2


def test_stale_round_fault_replays_the_old_question_and_confirms_an_old_round() -> None:
    game = started_game(Config(stale_every=1))
    game.start_game("d")
    first = game.teams["t"].round
    assert first is not None
    play_round(game)  # round 1 has no previous round: nothing stale yet
    assert game.stale == {}
    questions = sends(game.next_question("t", 1), "new_question")
    assert [q.data["round_id"] for q in questions] == [1, 1, 2, 2]  # the replay comes first
    ack = game.submit_answer("p1", {"round_id": 2, "answer": True}).ack
    assert ack["round_id"] == 1  # confirms round 2 under round 1's id
    assert game.stats()["stale_sent"] == {"new_question": 1, "answer_confirmed": 1}


# -- over real Socket.IO ---------------------------------------------------------------

class Player:
    """A python-socketio client that queues every event it receives."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.sio.on("*", self._any)

    async def _any(self, event: str, data: Any = None) -> None:
        await self.events.put((event, data))

    async def connect(self, url: str) -> Player:
        await self.sio.connect(url, transports=["websocket"], wait_timeout=WAIT_S)
        return self

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.sio.call(event, data, timeout=WAIT_S)

    async def expect(self, event: str) -> Any:
        """The next ``event``, skipping others; fails after WAIT_S."""
        async with asyncio.timeout(WAIT_S):
            while True:
                name, data = await self.events.get()
                if name == event:
                    return data

    def received(self) -> list[str]:
        names = []
        while not self.events.empty():
            names.append(self.events.get_nowait()[0])
        return names


async def start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def chsh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An in-process chsh server; parametrize it indirectly with (faults, settings)."""
    faults, settings = getattr(request, "param", ((), {}))
    settings = {"db": str(tmp_path / "chsh.sqlite"), **settings}
    runner, url = await start(build_app(DemoOptions(frozenset(faults), settings)))
    yield url
    await runner.cleanup()


@pytest.fixture
async def chsh_clients() -> AsyncIterator[list[Player]]:
    players: list[Player] = []
    yield players
    for player in players:
        await player.sio.disconnect()


async def stats(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/stats") as response:
        return await response.json()


async def team_and_dashboard(url: str, clients: list[Player]) -> tuple[Player, Player, Player]:
    p1, p2, dash = [await Player().connect(url) for _ in range(3)]
    clients += [p1, p2, dash]
    assert (await p1.call("create_team", {"team_name": "qubits"}))["ok"]
    assert (await p1.expect("team_created"))["player"] == 1
    assert (await p2.call("join_team", {"team_name": "qubits"}))["player"] == 2
    assert (await p2.expect("team_joined"))["team_name"] == "qubits"
    assert (await p1.expect("team_status_update"))["status"] == "full"
    assert (await dash.call("register_dashboard"))["full_teams"] == 1
    return p1, p2, dash


async def test_a_team_plays_a_round_and_sqlite_holds_the_answers(
    chsh_url: str, chsh_clients: list[Player], tmp_path: Path
) -> None:
    p1, p2, dash = await team_and_dashboard(chsh_url, chsh_clients)
    assert (await dash.call("start_game"))["ok"]
    for player in (p1, p2, dash):
        start = await player.expect("game_start")
        assert abs(start["ts"] - time.time()) < 2.0
    q1, q2 = await p1.expect("new_question"), await p2.expect("new_question")
    assert q1["round_id"] == q2["round_id"] and q1["item"] in "AB" and q2["item"] in "XY"
    ack = await p1.call("submit_answer", {"round_id": q1["round_id"], "answer": True})
    assert ack["ok"] and (await p1.expect("answer_confirmed"))["round_id"] == q1["round_id"]
    assert (await dash.expect("new_answer_for_dashboard"))["player"] == 1
    await p2.call("submit_answer", {"round_id": q2["round_id"], "answer": 0, "item": q2["item"]})
    done = [await p.expect("round_complete") for p in (p1, p2)]
    assert done[0] == done[1] and done[0]["win"] is chsh_win((q1["item"], q2["item"]),
                                                              (True, False))
    assert (await p1.expect("new_question"))["round_number"] == 2
    numbers = await stats(chsh_url)
    assert {k: numbers[k] for k in ("teams", "players", "dashboards", "rounds_completed",
                                    "answers", "answers_stored", "rounds_stored")} == {
        "teams": 1, "players": 2, "dashboards": 1, "rounds_completed": 1, "answers": 2,
        "answers_stored": 2, "rounds_stored": 2}
    assert numbers["events"]["submit_answer"] == 2
    with sqlite3.connect(tmp_path / "chsh.sqlite") as db:
        rows = db.execute("SELECT round_id, team, player, item, answer FROM answers").fetchall()
    assert rows == [(q1["round_id"], "qubits", 1, q1["item"], 1),
                    (q1["round_id"], "qubits", 2, q2["item"], 0)]


async def test_errors_over_the_wire(chsh_url: str, chsh_clients: list[Player]) -> None:
    p1, _, dash = await team_and_dashboard(chsh_url, chsh_clients)
    loner = await Player().connect(chsh_url)
    chsh_clients.append(loner)
    assert (await loner.call("join_team", {"team_name": "qubits"}))["code"] == "team_full"
    assert (await loner.expect("error"))["code"] == "team_full"
    assert (await loner.call("join_team", {"team_name": "nobody"}))["code"] == "team_not_found"
    assert (await p1.call("start_game"))["code"] == "not_dashboard"
    assert (await p1.call("submit_answer", {"round_id": 1, "answer": 1}))["code"] == (
        "game_not_started")
    await dash.call("start_game")
    rid = (await p1.expect("new_question"))["round_id"]
    bad = [({"round_id": rid + 7, "answer": 1}, "bad_round"),
           ({"round_id": rid, "answer": "maybe"}, "bad_answer"),
           ({"round_id": rid, "answer": 1}, None),
           ({"round_id": rid, "answer": 1}, "duplicate_answer")]
    for data, code in bad:
        assert (await p1.call("submit_answer", data)).get("code") == code
    assert (await loner.call("submit_answer", {"round_id": rid, "answer": 1}))["code"] == (
        "not_in_team")
    assert (await stats(chsh_url))["errors"] == {
        "team_full": 1, "team_not_found": 1, "not_dashboard": 1, "game_not_started": 1,
        "bad_round": 1, "bad_answer": 1, "duplicate_answer": 1, "not_in_team": 1}


@pytest.mark.parametrize("chsh_url", [((), {"question_delay_ms": "300"})], indirect=True)
async def test_question_delay(chsh_url: str, chsh_clients: list[Player]) -> None:
    p1, p2, dash = await team_and_dashboard(chsh_url, chsh_clients)
    await dash.call("start_game")
    rid = (await p1.expect("new_question"))["round_id"]
    await p1.call("submit_answer", {"round_id": rid, "answer": True})
    await p2.call("submit_answer", {"round_id": rid, "answer": True})
    done = time.perf_counter()
    await p1.expect("round_complete")
    nxt = await p1.expect("new_question")
    waited = time.perf_counter() - done
    assert nxt["round_id"] == rid + 1 and 0.29 <= waited < 2.0


@pytest.mark.parametrize("chsh_url", [(("stale_round",), {"stale_every": "1"})],
                         indirect=True)
async def test_stale_round_fault_over_the_wire(chsh_url: str, chsh_clients: list[Player]) -> None:
    p1, p2, dash = await team_and_dashboard(chsh_url, chsh_clients)
    await dash.call("start_game")
    first = (await p1.expect("new_question"))["round_id"]
    await p2.expect("new_question")
    for player in (p1, p2):
        await player.call("submit_answer", {"round_id": first, "answer": True})
    seen = [(await p1.expect("new_question"))["round_id"] for _ in range(2)]
    assert seen == [first, first + 1]  # a stale replay, then the real question
    await p1.call("submit_answer", {"round_id": first + 1, "answer": False})
    assert (await p1.expect("answer_confirmed"))["round_id"] == first  # should be first + 1
    assert (await stats(chsh_url))["stale_sent"] == {"new_question": 1, "answer_confirmed": 1}


async def test_served_by_the_cli_with_a_fault_and_settings() -> None:
    """``horde serve chsh`` in a child process takes --fault and --set."""
    args = ("--fault", "stale_round", "--set", "max_rounds=1", "--set", "db=:memory:")
    with demo_server("chsh", args) as url:
        players: list[Player] = []
        try:
            p1, p2, dash = await team_and_dashboard(url, players)
            await dash.call("start_game")
            rid = (await p1.expect("new_question"))["round_id"]
            for player in (p1, p2):
                await player.call("submit_answer", {"round_id": rid, "answer": True})
            assert (await p2.expect("game_over"))["rounds"] == 1
            numbers = await stats(url)
        finally:
            for player in players:
                await player.sio.disconnect()
    assert (numbers["teams_finished"], numbers["answers_stored"], numbers["db_path"]) == (
        1, 2, ":memory:")


@pytest.mark.parametrize("chsh_url", [((), {"acks": "0"})], indirect=True)
async def test_without_acks_answers_are_events_and_arity_is_checked(
        chsh_url: str, chsh_clients: list[Player]) -> None:
    """acks=0: a Flask-SocketIO-like server — acks carry nothing, replies and refusals
    are events, and a handler refuses a call with the wrong number of arguments."""
    p1 = await Player().connect(chsh_url)
    chsh_clients.append(p1)
    assert (await p1.expect("connection_established"))["game_started"] is False
    assert await p1.call("create_team", {"team_name": "qubits"}) is None  # an empty ack
    assert (await p1.expect("team_created"))["player"] == 1
    await p1.sio.emit("create_team", {"team_name": "again"})
    assert (await p1.expect("error"))["code"] == "already_in_team"
    await p1.sio.emit("register_dashboard")  # no argument: accepted
    assert (await p1.expect("dashboard_registered"))["teams"] == 1
    await p1.sio.emit("register_dashboard", (None,))  # one null argument: refused
    refused = await p1.expect("error")
    assert refused == {"code": "bad_arguments",
                       "message": "register_dashboard takes 0 argument(s), got 1"}
    await p1.sio.emit("join_team")  # a data event without its data
    assert (await p1.expect("error"))["code"] == "bad_arguments"
    assert (await stats(chsh_url))["errors"] == {"already_in_team": 1, "bad_arguments": 2}


async def test_the_answers_temp_dir_lives_as_long_as_the_server(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a ``db`` option the answers go to a temp dir: made when the server starts,
    gone when it stops, and never made for an app that is built but not started (a bad
    setting, a listing) — 300 empty ``horde-chsh-*`` dirs piled up in /tmp before."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    build_app(DemoOptions(frozenset(), {}))
    assert list(tmp_path.iterdir()) == []
    runner, url = await start(build_app(DemoOptions(frozenset(), {})))
    made = [p.name for p in tmp_path.iterdir()]
    assert [name.startswith("horde-chsh-") for name in made] == [True]
    assert (await stats(url))["db_path"].startswith(str(tmp_path / made[0]))
    await runner.cleanup()
    assert list(tmp_path.iterdir()) == []
