"""The CHSH game load test written by hand on python-socketio's AsyncClient (seed 000).

Why it exists: a benchmark peer for ``examples/chsh.py``. Seed 000 describes a
hand-written CHSH load tester built on python-socketio's ``AsyncClient``; this is that
tool doing exactly the work horde's example does with its default parameters, so the
two can be compared for CPU and memory per run against ``horde serve chsh``.

What it mirrors (examples/chsh.py, defaults):

- 1 dashboard + ``--teams`` (100) teams of a creator and a joiner, one Socket.IO
  connection each (websocket transport only, no reconnection), started in horde's
  roster order (dashboard, creator 0, joiner 0, creator 1, ...) at ``gradual(rate=50)``:
  user ``i`` starts ``i / 50`` s after the run starts;
- every connection records the ``game_start`` broadcast's latency from the server's
  ``ts``; ``answer_confirmed`` is ignored (the ack carries the same data);
- the creator ``call``s ``create_team`` with a run-unique name (``load-{run}-{i}``),
  the joiner waits for it (30 s, horde's group barrier) and ``call``s ``join_team``;
  the team is formed once both are done (30 s);
- the dashboard ``call``s ``register_dashboard`` and counts ``new_answer_for_dashboard``,
  waits for every team to form (60 s; the teams formed by then play), ``call``s
  ``start_game``, then waits for both players of each formed team to finish (300 s);
- each player plays ``--rounds`` (10) rounds: takes the next ``new_question`` (90 s for
  the first, 30 s after; a ``round_id`` not newer than the last is a stale error and
  skipped), thinks for 000's ``human_like`` pattern sped up 4x and clipped —
  ``min(max(lognormvariate(0.5, 0.3) / 4, 0.05), 3.0)`` s, stdlib ``random`` — answers
  ``random() < 0.5`` with ``call("submit_answer")`` (timed: the answer-ack latency),
  checks the ack is ok and names its round, and waits for that round's
  ``round_complete`` (30 s).

Latencies go into a plain list of floats and percentiles are taken at the end, as seed
000's tool does. The run ends on its own once every player is done (or ``--timeout``
passes) and prints one line: ``RESULT {json}``. Exit status 0 when every team played
every round with no error.

    .venv/bin/horde serve chsh --port 0      # prints its URL
    .venv/bin/python bench/peers/chsh_python_socketio.py --url http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import sys
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import socketio

CONNECT_RATE = 50.0  # users per second: OPTIONS["connect"] = "gradual(rate=50)"
OP_TIMEOUT = 30.0  # horde's default per-operation timeout (acks, waits)
CONNECT_TIMEOUT = 10.0  # horde's Socket.IO connect timeout
BARRIER_TIMEOUT = 30.0  # the team's "created" and "formed" barriers
FORM_TIMEOUT = 60.0  # Params.form_timeout
GAME_TIMEOUT = 300.0  # Params.game_timeout
MEDIAN, SIGMA = math.exp(0.5), 0.3  # 000's human_like pattern: log-normal, median e^0.5 s
SPEED, MIN_DELAY, MAX_DELAY = 4.0, 0.05, 3.0  # Params.speed, min_delay, max_delay


def think_time(rng: random.Random) -> float:
    """examples/chsh.py's Scaled(response_pattern("human_like"), 4, 0.05, 3.0)."""
    return min(max(rng.lognormvariate(math.log(MEDIAN), SIGMA) / SPEED, MIN_DELAY), MAX_DELAY)


class Inbox:
    """Pushed events kept until awaited: the next one matching a predicate, queued first."""

    def __init__(self) -> None:
        self.queued: deque[Any] = deque()
        self.waiter: tuple[asyncio.Future[Any], Callable[[Any], bool] | None] | None = None

    def put(self, data: Any) -> None:
        if self.waiter is not None:
            fut, pred = self.waiter
            if not fut.done() and (pred is None or pred(data)):
                self.waiter = None
                fut.set_result(data)
                return
        self.queued.append(data)

    async def get(self, pred: Callable[[Any], bool] | None, timeout: float) -> Any:
        for i, data in enumerate(self.queued):
            if pred is None or pred(data):
                del self.queued[i]
                return data
        fut = asyncio.get_running_loop().create_future()
        self.waiter = (fut, pred)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.waiter = None


class Run:
    """What every user shares: counters, latencies, team rendezvous and the run's events."""

    def __init__(self, url: str, teams: int, rounds: int) -> None:
        self.url, self.teams, self.rounds = url, teams, rounds
        self.prefix = uuid.uuid4().hex[:6]
        self.ack_ms: list[float] = []  # submit_answer: the answer-ack latency
        self.game_start_ms: list[float] = []  # game_start receipt, from the server's ts
        self.counts: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.team_names: list[str | None] = [None] * teams
        self.created = [asyncio.Event() for _ in range(teams)]
        self.joined = [asyncio.Event() for _ in range(teams)]
        self.formed = asyncio.Event()
        self.finished = asyncio.Event()
        self.formed_teams = 0
        self.expected_done: int | None = None  # 2 x teams formed, known at start_game
        self.players_done = 0
        self.clients: list[socketio.AsyncClient] = []

    def check(self, ok: Any, name: str) -> bool:
        if not ok:
            self.errors[f"check_failed:{name}"] += 1
        return bool(ok)

    def team_formed(self) -> None:
        self.formed_teams += 1
        if self.formed_teams >= self.teams:
            self.formed.set()

    def player_done(self) -> None:
        self.players_done += 1
        if self.expected_done is not None and self.players_done >= self.expected_done:
            self.finished.set()


class Fatal(Exception):
    """A failed fatal check: the user stops (horde's ``check(..., fatal=True)``)."""


async def connect(run: Run) -> tuple[socketio.AsyncClient, dict[str, Inbox]]:
    sio = socketio.AsyncClient(reconnection=False)
    run.clients.append(sio)
    inboxes = {"new_question": Inbox(), "round_complete": Inbox()}

    async def on_game_start(data: dict[str, Any]) -> None:
        run.game_start_ms.append((time.time() - data["ts"]) * 1000.0)

    async def on_confirmed(data: Any) -> None:  # the ack carries the same data
        pass

    sio.on("game_start", on_game_start)
    sio.on("answer_confirmed", on_confirmed)
    for event, inbox in inboxes.items():
        sio.on(event, _pusher(inbox))
    await sio.connect(run.url, transports=["websocket"], wait_timeout=CONNECT_TIMEOUT)
    run.counts["connected"] += 1
    return sio, inboxes


def _pusher(inbox: Inbox) -> Callable[[Any], Any]:
    async def handler(data: Any) -> None:
        inbox.put(data)

    return handler


async def call(sio: socketio.AsyncClient, event: str, data: Any = None) -> dict[str, Any]:
    if data is None:
        return await sio.call(event, timeout=OP_TIMEOUT)
    return await sio.call(event, data, timeout=OP_TIMEOUT)


# -- the users --------------------------------------------------------------------------------

async def dashboard(run: Run) -> None:
    sio, _ = await connect(run)

    async def on_answer(data: Any) -> None:
        run.counts["dashboard_answers"] += 1

    sio.on("new_answer_for_dashboard", on_answer)
    reply = await call(sio, "register_dashboard")
    if not run.check(reply.get("ok"), "dashboard_registered"):
        raise Fatal("dashboard_registered")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.formed.wait(), FORM_TIMEOUT)
    formed = run.formed_teams
    run.check(formed >= run.teams, "all_team_formed")
    run.expected_done = 2 * formed
    if run.players_done >= run.expected_done:
        run.finished.set()
    reply = await call(sio, "start_game")
    run.check(reply.get("ok"), "game_started")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.finished.wait(), GAME_TIMEOUT)
    run.check(run.players_done >= run.expected_done, "all_player_done")


async def creator(run: Run, team: int) -> None:
    sio, inboxes = await connect(run)
    name = f"load-{run.prefix}-{team}"
    reply = await call(sio, "create_team", {"team_name": name})
    if not run.check(reply.get("ok") and reply.get("player") == 1, "team_created"):
        raise Fatal("team_created")
    run.counts["teams_created"] += 1
    run.team_names[team] = name
    run.created[team].set()
    await asyncio.wait_for(run.joined[team].wait(), BARRIER_TIMEOUT)  # barrier "formed"
    run.team_formed()
    await play(run, team, 0, sio, inboxes)


async def joiner(run: Run, team: int) -> None:
    sio, inboxes = await connect(run)
    await asyncio.wait_for(run.created[team].wait(), BARRIER_TIMEOUT)  # barrier "created"
    name = run.team_names[team]
    reply = await call(sio, "join_team", {"team_name": name})
    if not run.check(reply.get("ok") and reply.get("team_name") == name, "team_joined"):
        raise Fatal("team_joined")
    run.counts["teams_joined"] += 1
    run.joined[team].set()
    await play(run, team, 1, sio, inboxes)


async def play(run: Run, team: int, member: int, sio: socketio.AsyncClient,
               inboxes: dict[str, Inbox]) -> None:
    """All of the team's rounds, as examples/chsh.py's ``play``/``play_round``."""
    rng = random.Random()
    last_round = rounds = 0
    timeout = FORM_TIMEOUT + 30  # the game starts late
    try:
        while rounds < run.rounds:
            while True:  # next_question: skip a replayed (stale) one
                question = await inboxes["new_question"].get(None, timeout)
                if run.check(question["round_id"] > last_round, "question_round_is_new"):
                    last_round = question["round_id"]
                    run.counts["questions_received"] += 1
                    break
                run.counts["stale_round_id"] += 1
            timeout = OP_TIMEOUT
            rid = question["round_id"]
            await asyncio.sleep(think_time(rng))
            answer = {"round_id": rid, "item": question["item"], "answer": rng.random() < 0.5}
            sent = time.perf_counter()
            ack = await sio.call("submit_answer", answer, timeout=OP_TIMEOUT)
            run.ack_ms.append((time.perf_counter() - sent) * 1000.0)
            if run.check(ack.get("ok"), "answer_accepted"):
                run.counts["answers_submitted"] += 1
                if not run.check(ack.get("round_id") == rid, "confirmation_names_own_round"):
                    run.counts["stale_round_id"] += 1
            ours = lambda d, r=rid: d["round_id"] == r  # noqa: E731
            done = await inboxes["round_complete"].get(ours, OP_TIMEOUT)
            if member == 0:  # once per team
                run.counts["rounds_completed"] += 1
                run.counts["wins"] += int(done["win"])
            rounds = done["round_number"]
    finally:
        if rounds >= run.rounds and member == 0:
            run.counts["teams_completed"] += 1
        elif rounds < run.rounds:
            run.counts["teams_failed" if member == 0 else "joiners_short"] += 1
        run.player_done()


async def user(run: Run, start_at: float, body: Callable[[], Any], name: str) -> None:
    """Start at its turn of the gradual ramp; an exception is one error, by kind."""
    delay = start_at - time.perf_counter()
    if delay > 0:
        await asyncio.sleep(delay)
    try:
        await body()
    except Fatal:
        pass  # already counted as a failed check
    except Exception as exc:  # every failure is a counted error
        run.errors[f"{name}:{type(exc).__name__}"] += 1


# -- the run ----------------------------------------------------------------------------------

async def main(args: argparse.Namespace) -> int:
    run = Run(args.url, args.teams, args.rounds)
    t0 = time.perf_counter()
    jobs: list[tuple[str, Callable[[], Any]]] = [("dashboard", lambda: dashboard(run))]
    for team in range(args.teams):
        jobs.append(("creator", lambda team=team: creator(run, team)))
        jobs.append(("joiner", lambda team=team: joiner(run, team)))
    tasks = [asyncio.create_task(user(run, t0 + i / CONNECT_RATE, body, name))
             for i, (name, body) in enumerate(jobs)]
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), args.timeout)
    except TimeoutError:
        timed_out = True
        run.errors["run_timeout"] += 1
    wall = time.perf_counter() - t0
    await asyncio.gather(*(sio.disconnect() for sio in run.clients), return_exceptions=True)
    result = report(run, wall, timed_out)
    print("RESULT " + json.dumps(result), flush=True)
    return 0 if result["teams_completed"] == args.teams and not result["errors"] else 1


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of a sorted list."""
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))], 3)


def report(run: Run, wall: float, timed_out: bool) -> dict[str, Any]:
    acks = sorted(run.ack_ms)
    starts = sorted(run.game_start_ms)
    c = run.counts
    return {
        "tool": "python-socketio",
        "teams": run.teams,
        "rounds": run.rounds,
        "connections": c["connected"],
        "teams_formed": run.formed_teams,
        "teams_completed": c["teams_completed"],
        "rounds_completed": c["rounds_completed"],
        "answers": c["answers_submitted"],
        "questions": c["questions_received"],
        "dashboard_answers": c["dashboard_answers"],
        "wins": c["wins"],
        "stale_round_id": c["stale_round_id"],
        "errors": sum(run.errors.values()),
        "errors_by": dict(run.errors),
        "ack_ms_p50": percentile(acks, 0.50),
        "ack_ms_p95": percentile(acks, 0.95),
        "ack_ms_mean": round(sum(acks) / len(acks), 3) if acks else None,
        "game_start_ms_p50": percentile(starts, 0.50),
        "wall_s": round(wall, 3),
        "timed_out": timed_out,
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the chsh server")
    p.add_argument("--teams", type=int, default=100)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--timeout", type=float, default=420.0,
                   help="overall limit, seconds (form 60 + game 300 + ramp and margin)")
    p.add_argument("--uvloop", action="store_true",
                   help="run on uvloop, as horde does by default (000's tool: plain asyncio)")
    return p.parse_args(argv)


if __name__ == "__main__":
    ARGS = parse()
    if ARGS.uvloop:
        import uvloop

        sys.exit(uvloop.run(main(ARGS)))
    sys.exit(asyncio.run(main(ARGS)))
