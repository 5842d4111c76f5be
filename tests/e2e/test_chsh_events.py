"""examples/chsh_events.py against the chsh demo without acks (``--set acks=0``, a
Flask-SocketIO-like server: replies and refusals are events): every team completes at
100 teams, every exchange is a counted operation, a refusal is an app error with the
server's message — and the example is much shorter than the same game written with the
API horde had before (kept below, and run too, to show it is the same game)."""

from __future__ import annotations

import ast
import asyncio
import io
import tokenize
from pathlib import Path
from typing import Any

import pytest
import socketio
from tests.support import ROOT, horde_cli, read_results, server_stats

from horde.demo.launcher import demo_server

pytestmark = pytest.mark.timeout(120)
EXAMPLE = ROOT / "examples" / "chsh_events.py"
NO_ACKS = ("--set", "acks=0", "--set", "max_rounds=5")  # 5 rounds, then game_over

# The same game with horde's API before issue 12: no sio.request, no error_events, no
# ignore — a hand-made emit → reply-or-error race, timed with user.timer, no-op handlers.
OLD_API = """'''The same game written with horde's API before issue 12 (kept to compare): no
sio.request, no error events, no ignore — a request helper and no-op handlers instead.'''

import asyncio
import contextlib
import uuid

import horde

NAME = "chsh-events-old"


class Params(horde.Params):
    teams: int = 100
    rounds: int = 10
    think: float = 0.05


ROLES = (horde.role("dashboard", count=1),
         horde.group("team", count="teams", roles=("creator", "joiner")))
THRESHOLDS = ("groups.completed_rate > 0.9", "errors.rate < 1%", "p95(timer) < 500ms")
OPTIONS = {"iterations": 1, "connect": "gradual(rate=50)", "timeout": "30s"}
QUIET = ("connection_established", "team_status_update", "answer_confirmed", "game_start",
         "new_answer_for_dashboard", "game_over")


@horde.setup
async def setup(ctx):
    return uuid.uuid4().hex[:6]


async def first(user, event, match=None, timeout=30):
    '''The next ``event`` (matching ``match``), or AppError at once if the server's error
    event comes first: the server never acks, it answers and refuses with events.'''
    sio = user.state.sio
    answer = asyncio.ensure_future(sio.wait_for(event, match, timeout=timeout))
    error = asyncio.ensure_future(sio.wait_for("error", timeout=timeout))
    await asyncio.sleep(0)  # both waiters in place before anything is sent
    done, pending = await asyncio.wait({answer, error}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, horde.OperationTimeoutError):
            await task
    if error in done and not error.exception():
        raise horde.AppError(f"waiting for {event}: {error.result().get('message')}")
    return answer.result()


async def request(user, event, data, reply, match=None):
    '''Emit ``event`` and wait for ``reply``, timed by hand as an operation.'''
    with user.timer(event):
        waiting = asyncio.ensure_future(first(user, reply, match))
        await asyncio.sleep(0)
        if data is None:  # emit(ev, None) would send one null argument
            await user.state.sio.emit(event)
        else:
            await user.state.sio.emit(event, data)
        return await waiting


async def connect(user):
    user.state.sio = await user.socketio()
    for event in QUIET:  # drained, or they pile up in the inbox for the whole run
        user.state.sio.on(event, lambda *args: None)
    # error events are counted nowhere unless a handler does it
    user.state.sio.on("error", lambda d: user.count(f"error_event:{d.get('code')}"))
    return user.state.sio


@horde.on_start(role="creator")
async def create_team(user):
    user.group.state.name = name = f"ev-{user.shared}-{user.group.index}"
    await connect(user)
    await request(user, "create_team", {"team_name": name}, "team_created")
    await user.group.barrier("created", timeout=30)


@horde.on_start(role="joiner")
async def join_team(user):
    await connect(user)
    await user.group.barrier("created", timeout=30)
    await request(user, "join_team", {"team_name": user.group.state.name}, "team_joined")
    user.events.signal("team_formed")


@horde.behaviour(role="dashboard")
async def run_game(user):
    sio = await connect(user)
    await request(user, "register_dashboard", None, "dashboard_registered")
    await user.events.wait("team_formed", count=user.params.teams, timeout=60)
    await sio.emit("start_game")


@horde.behaviour
async def play(user):
    sio, rounds = user.state.sio, 0
    while rounds < user.params.rounds:
        rid = (await first(user, "new_question", timeout=90))["round_id"]
        await user.think(user.params.think)
        answer = {"round_id": rid, "answer": user.rng.random() < 0.5}
        done = await request(user, "submit_answer", answer, "round_complete",
                             lambda d, rid=rid: d["round_id"] == rid)
        rounds = done["round_number"]
    if user.member == 0:
        user.group.complete()
"""


def _run(scenario: Path, url: str, out: Path, teams: int) -> dict[str, Any]:
    result = horde_cli("run", str(scenario), "--target", url, "--param", f"teams={teams}",
                       "--param", "rounds=5", "--out", str(out), "-q", "--no-history",
                       timeout=110)
    assert result.returncode in (0, 1), result.stderr
    return read_results(out)


def test_100_teams_complete_and_every_exchange_is_an_operation(tmp_path: Path) -> None:
    with demo_server("chsh", NO_ACKS) as url:
        results = _run(EXAMPLE, url, tmp_path, 100)
        server = server_stats(url)
    assert results["passed"] is True, results["verdict"]
    groups = results["groups"]
    assert (groups["formed"], groups["completed"], groups["failed"]) == (100, 100, 0)
    assert server["teams_created"] == server["teams_joined"] == 100
    assert server["errors"] == {} and results["errors"] == {}
    replies = {k: m for k, m in results["metrics"].items() if m["metric"] == "sio_reply"}
    assert replies["sio_reply:submit_answer"]["count"] == server["answers"] == 100 * 2 * 5
    assert replies["sio_reply:create_team"]["ok"] == 100 == replies["sio_reply:join_team"]["ok"]
    assert replies["sio_reply:register_dashboard"]["ok"] == 1
    # the operations (requests/s, errors.rate) are the game's exchanges, and the connects
    ops = results["operations"]
    assert ops["by_kind"]["sio_request"]["finished"] == sum(m["count"] for m in replies.values())
    assert set(ops["by_kind"]) == {"sio_request", "connect"}
    assert ops["failed"] == 0 and ops["error_rate"] == 0.0 and ops["rate_per_s"] > 0
    # broadcasts nobody reads were ignored: counted, never left queued
    assert not any(k.startswith("sio_unclaimed:") for k in results["counters"])


async def _start_the_game_first(url: str) -> socketio.AsyncClient:
    """A dashboard that starts the game before the run: the run's own start is refused."""
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(url, transports=["websocket"])
    await sio.emit("register_dashboard")
    await sio.emit("start_game")
    await asyncio.sleep(0.3)
    return sio


def test_a_refusal_is_an_app_error_with_the_server_s_message(tmp_path: Path) -> None:
    with demo_server("chsh", NO_ACKS) as url:
        loop = asyncio.new_event_loop()
        first = loop.run_until_complete(_start_the_game_first(url))
        try:
            results = _run(EXAMPLE, url, tmp_path, 3)
        finally:
            loop.run_until_complete(first.disconnect())
            loop.close()
        server = server_stats(url)
    assert server["errors"] == {"game_already_started": 1}
    assert results["errors"] == {"app_error": 1}
    assert results["error_details"]["app_error"] == {"the game is already running": 1}
    assert results["groups"]["completed"] == 3  # the game was running: the teams played


def _code_lines(source: str) -> int:
    """Lines holding code: no blank lines, comments or docstrings."""
    docs: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and ast.get_docstring(node) is not None):
            docs.update(range(node.body[0].lineno, node.body[0].end_lineno + 1))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENDMARKER}
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in skip:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - docs)


def test_the_old_api_version_plays_the_same_game_in_far_more_code(tmp_path: Path) -> None:
    old = tmp_path / "chsh_events_old.py"
    old.write_text(OLD_API)
    with demo_server("chsh", NO_ACKS) as url:
        results = _run(old, url, tmp_path / "old", 10)
    assert results["groups"]["completed"] == 10 and results["errors"] == {}
    new_lines, old_lines = _code_lines(EXAMPLE.read_text()), _code_lines(OLD_API)
    # measured: 50 against 76. The helper code is gone entirely; what is left in both is
    # the game itself (teams, barriers, rounds), which no client API shortens.
    assert new_lines <= 2 / 3 * old_lines, (new_lines, old_lines)
    assert "asyncio" not in EXAMPLE.read_text() and "user.timer" not in EXAMPLE.read_text()


def test_the_guide_shows_the_whole_example() -> None:
    guide = (ROOT / "docs" / "socketio.md").read_text()
    assert f"```python\n{EXAMPLE.read_text()}```\n" in guide, "paste examples/chsh_events.py"
