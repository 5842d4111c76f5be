"""The quiz demo server: a party game of guessing a song's year, JSON over one WebSocket.

Modelled on the game seed 001's load test targets (Beatsy, a Home Assistant party game):
players ``join_game`` with a session id, an admin starts the game and each round ("next
song"), players ``submit_guess`` at random times, and when the round ends (its timer, every
player guessed, or the admin) the server scores it — timing that itself, ``scoring_ms`` —
and broadcasts ``round_results`` to every player at once (``asyncio.gather``, as the seed's
server does) with a server timestamp ``ts`` and a broadcast sequence number ``seq``.

``/ws`` speaks the protocol (``docs/demos/quiz.md``); ``POST /admin/{action}`` does what
an admin message does; ``GET /stats`` says what the server counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from horde.demo.handlers import health
from horde.demo.options import DemoOptions

FAULTS: dict[str, str] = {
    "drop_player": "one player (drop_session, else the second to join) never receives "
                   "round_results",
}
SETTINGS: dict[str, str] = {
    "round_ms": "how long a round lasts unless it ends sooner (default 5000)",
    "early_end": "1: a round ends once every connected player has guessed (default 1)",
    "scoring_ms_per_player": "CPU time scoring spends per guess, on the loop (default 0)",
    "leaderboard": "how many players round_results lists (default 10)",
    "heartbeat_s": "WebSocket ping interval; 0 = none (default 25, as the seed)",
    "drop_session": "with fault drop_player: the session id that misses results",
    "seed": "random seed for the songs (default: unseeded)",
}
ADMIN_ACTIONS = ("start_game", "next_song", "end_round", "reset")
SONGS = (
    ("Hey Jude", "The Beatles", 1968), ("Bohemian Rhapsody", "Queen", 1975),
    ("Billie Jean", "Michael Jackson", 1982), ("Smells Like Teen Spirit", "Nirvana", 1991),
    ("Wonderwall", "Oasis", 1995), ("Crazy in Love", "Beyoncé", 2003),
    ("Rolling in the Deep", "Adele", 2010), ("Blinding Lights", "The Weeknd", 2019),
)
YEARS = (1900, 2100)
Msg = dict[str, Any]


# -- the rules, without sockets -------------------------------------------------------

def score_guess(guess: int, year: int) -> int:
    """10 points for the exact year, 5 within 2 years, 2 within 5, else 0."""
    off = abs(guess - year)
    return 10 if off == 0 else 5 if off <= 2 else 2 if off <= 5 else 0


def valid_year(value: object) -> bool:
    return type(value) is int and YEARS[0] <= value <= YEARS[1]


def parse_message(text: str) -> tuple[Msg | None, str | None]:
    """(message, None), or (None, error code) for text that is not a JSON object with a
    string ``type``."""
    try:
        msg = json.loads(text)
    except ValueError:
        return None, "bad_json"
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        return None, "bad_json"
    return msg, None


def leaderboard(scores: dict[str, int], points: dict[str, int], names: dict[str, str],
                size: int) -> list[Msg]:
    """The top ``size`` players by total score (ties by session id), with this round's
    points."""
    top = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:size]
    return [{"session_id": sid, "name": names.get(sid, sid), "score": s,
             "points": points.get(sid, 0)} for sid, s in top]


def burn(seconds: float) -> None:
    """Busy the CPU (and so the loop) for ``seconds``: scoring that costs something."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


# -- state -------------------------------------------------------------------------------

@dataclass(slots=True)
class Player:
    session_id: str
    name: str
    ws: web.WebSocketResponse | None
    score: int = 0


@dataclass(slots=True)
class Round:
    round_id: int
    song: tuple[str, str, int]
    ends_at: float
    guesses: dict[str, int] = field(default_factory=dict)
    timer: asyncio.TimerHandle | None = None
    over: bool = False


class QuizServer:
    def __init__(self, options: DemoOptions) -> None:
        self.round_s = options.int("round_ms", 5000) / 1000.0
        self.early_end = options.int("early_end", 1) == 1
        self.cost_s = options.float("scoring_ms_per_player", 0.0) / 1000.0
        self.board_size = options.int("leaderboard", 10)
        self.heartbeat = options.float("heartbeat_s", 25.0) or None
        self.drop_fault = options.fault("drop_player")
        self.drop_session = options.str("drop_session", "")
        self.rng = random.Random(options.str("seed", "") or None)
        self.players: dict[str, Player] = {}
        self.started = False
        self.round: Round | None = None
        self.next_round_id = 1
        self.seq = 0
        self.counts: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.timing = {"scoring_ms_last": 0.0, "scoring_ms_max": 0.0,
                       "broadcast_ms_last": 0.0, "broadcast_ms_max": 0.0}
        self.admins: set[web.WebSocketResponse] = set()  # they see every broadcast too
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the WebSocket ------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=self.heartbeat)
        await ws.prepare(request)
        self.counts["connections"] += 1
        session: list[str] = []  # this connection's session id, once joined
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                await self.on_text(ws, session, frame.data)
        self.counts["disconnections"] += 1
        self.admins.discard(ws)
        if session and self.players[session[0]].ws is ws:
            self.players[session[0]].ws = None
        return ws

    async def on_text(self, ws: web.WebSocketResponse, session: list[str], text: str) -> None:
        msg, problem = parse_message(text)
        if msg is None:
            await self.error(ws, problem or "bad_json", "expected a JSON object with a type")
            return
        kind = msg["type"]
        self.received[kind] += 1
        if kind == "join_game":
            await self.join(ws, session, msg)
        elif kind == "submit_guess":
            await self.guess(ws, session, msg)
        elif kind == "ping":
            await self.send(ws, {"type": "pong", "id": msg.get("id"), "ts": time.time()})
        elif kind == "admin":
            self.admins.add(ws)
            reply = await self.admin(str(msg.get("action")))
            await self.send(ws, {"type": "admin_response", **reply})
        else:
            await self.error(ws, "unknown_type", f"unknown message type {kind!r}")

    async def send(self, ws: web.WebSocketResponse, msg: Msg) -> None:
        if not ws.closed:
            with contextlib.suppress(ConnectionError):
                await ws.send_str(json.dumps(msg))

    async def error(self, ws: web.WebSocketResponse, code: str, message: str) -> None:
        self.errors[code] += 1
        await self.send(ws, {"type": "error", "code": code, "message": message})

    # -- players ------------------------------------------------------------------------

    async def join(self, ws: web.WebSocketResponse, session: list[str], msg: Msg) -> None:
        sid = msg.get("session_id")
        if not isinstance(sid, str) or not sid or len(sid) > 100:
            await self.error(ws, "bad_session", "session_id must be a non-empty string")
            return
        if session and session[0] != sid:
            await self.error(ws, "already_joined", f"this connection is {session[0]!r}")
            return
        rejoined = sid in self.players
        if rejoined:
            self.players[sid].ws = ws
        else:
            self.players[sid] = Player(sid, str(msg.get("name") or sid)[:50], ws)
            if self.drop_fault and not self.drop_session and len(self.players) == 2:
                self.drop_session = sid
        session[:] = [sid]
        self.counts["joins"] += 1
        self.counts["rejoins"] += rejoined
        await self.send(ws, {
            "type": "join_game_response", "ok": True, "session_id": sid,
            "name": self.players[sid].name, "rejoined": rejoined,
            "player_count": len(self.players), "game_started": self.started,
            "round": self.round_info(), "ts": time.time(),
        })

    async def guess(self, ws: web.WebSocketResponse, session: list[str], msg: Msg) -> None:
        problem = self.guess_problem(session, msg)
        if problem:
            await self.error(ws, *problem)
            return
        assert self.round is not None
        self.round.guesses[session[0]] = msg["year"]
        self.counts["guesses"] += 1
        await self.send(ws, {"type": "guess_ack", "ok": True, "round_id": self.round.round_id,
                             "year": msg["year"], "ts": time.time()})
        if self.early_end and self.everyone_guessed():
            await self.end_round(self.round)

    def guess_problem(self, session: list[str], msg: Msg) -> tuple[str, str] | None:
        if not session:
            return "not_joined", "join_game first"
        if not self.started:
            return "game_not_started", "the game has not started"
        rnd = self.round
        if rnd is None or rnd.over:
            return "no_round", "no round is open"
        if msg.get("round_id") != rnd.round_id:
            return "bad_round", f"round_id {msg.get('round_id')!r} is not {rnd.round_id}"
        if not valid_year(msg.get("year")):
            return "bad_guess", f"year must be an integer in {YEARS[0]}..{YEARS[1]}"
        if session[0] in rnd.guesses:
            return "duplicate_guess", "already guessed this round"
        return None

    def everyone_guessed(self) -> bool:
        assert self.round is not None
        online = [sid for sid, p in self.players.items() if p.ws is not None and not p.ws.closed]
        return all(sid in self.round.guesses for sid in online)

    # -- the admin ----------------------------------------------------------------------

    async def admin(self, action: str) -> Msg:
        self.counts["admin_actions"] += 1
        if action not in ADMIN_ACTIONS:
            return self.refuse("bad_action", f"action must be one of {', '.join(ADMIN_ACTIONS)}")
        if action == "start_game":
            self.started = True
            await self.broadcast({"type": "game_started"})
        elif action == "reset":
            await self.reset()
        elif not self.started:
            return self.refuse("game_not_started", "start_game first")
        elif action == "next_song":
            if self.round is not None and not self.round.over:
                return self.refuse("round_active", f"round {self.round.round_id} is open")
            await self.start_round()
        elif self.round is None or self.round.over:
            return self.refuse("no_round", "no round is open")
        else:
            await self.end_round(self.round)
        return {"ok": True, "action": action, "round": self.round_info(), "ts": time.time()}

    def refuse(self, code: str, message: str) -> Msg:
        self.errors[code] += 1
        return {"ok": False, "code": code, "message": message}

    async def reset(self) -> None:
        if self.round and self.round.timer:
            self.round.timer.cancel()
        self.started, self.round = False, None
        for player in self.players.values():
            player.score = 0
        await self.broadcast({"type": "game_reset"})

    # -- rounds -------------------------------------------------------------------------

    async def start_round(self) -> None:
        rnd = Round(self.next_round_id, self.rng.choice(SONGS), time.time() + self.round_s)
        self.next_round_id += 1
        self.round = rnd
        self.counts["rounds_started"] += 1
        loop = asyncio.get_running_loop()
        rnd.timer = loop.call_later(self.round_s, self.spawn_end, rnd)
        await self.broadcast({"type": "round_started", **self.round_info()})

    def round_info(self) -> Msg | None:
        rnd = self.round
        if rnd is None:
            return None
        title, artist, _ = rnd.song
        return {"round_id": rnd.round_id, "song": {"title": title, "artist": artist},
                "round_ms": round(self.round_s * 1000), "ends_at": rnd.ends_at,
                "open": not rnd.over}

    def spawn_end(self, rnd: Round) -> None:
        task = asyncio.ensure_future(self.end_round(rnd))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def end_round(self, rnd: Round) -> None:
        if rnd.over or rnd is not self.round:
            return
        rnd.over = True
        if rnd.timer:
            rnd.timer.cancel()
        start = time.perf_counter()
        results = self.score(rnd)
        scoring_ms = (time.perf_counter() - start) * 1000.0
        self.timing["scoring_ms_last"] = scoring_ms
        self.timing["scoring_ms_max"] = max(self.timing["scoring_ms_max"], scoring_ms)
        self.counts["rounds_completed"] += 1
        await self.broadcast({"type": "round_results", **results,
                              "scoring_ms": round(scoring_ms, 3)}, results=True)

    def score(self, rnd: Round) -> Msg:
        year = rnd.song[2]
        points = {}
        for sid, guess in rnd.guesses.items():
            burn(self.cost_s)
            points[sid] = score_guess(guess, year)
            self.players[sid].score += points[sid]
        names = {sid: p.name for sid, p in self.players.items()}
        scores = {sid: p.score for sid, p in self.players.items()}
        return {"round_id": rnd.round_id, "correct_year": year, "guesses": len(rnd.guesses),
                "exact": sum(p == 10 for p in points.values()),
                "leaderboard": leaderboard(scores, points, names, self.board_size),
                "players": len(self.players)}

    # -- broadcasts ---------------------------------------------------------------------

    async def broadcast(self, msg: Msg, *, results: bool = False) -> None:
        """One encoding, sent to every connected player concurrently; a failed send is
        counted and skipped (the seed's ``gather(..., return_exceptions=True)``)."""
        self.seq += 1
        targets = [p for p in self.players.values() if p.ws is not None and not p.ws.closed]
        if results and self.drop_fault:
            dropped = [p for p in targets if p.session_id == self.drop_session]
            self.counts["results_dropped"] += len(dropped)
            targets = [p for p in targets if p.session_id != self.drop_session]
        start = time.perf_counter()
        text = json.dumps({**msg, "seq": self.seq, "ts": time.time(), "sent_to": len(targets)})
        sockets = [p.ws for p in targets if p.ws] + [a for a in self.admins if not a.closed]
        outcomes = await asyncio.gather(*(ws.send_str(text) for ws in sockets),
                                        return_exceptions=True)
        ms = (time.perf_counter() - start) * 1000.0
        failed = sum(isinstance(o, BaseException) for o in outcomes[:len(targets)])
        self.counts["broadcast_failures"] += failed
        self.counts[f"{msg['type']}_sent"] += len(targets) - failed
        if results:
            self.timing["broadcast_ms_last"] = ms
            self.timing["broadcast_ms_max"] = max(self.timing["broadcast_ms_max"], ms)

    # -- numbers --------------------------------------------------------------------------

    def stats(self) -> Msg:
        online = sum(p.ws is not None and not p.ws.closed for p in self.players.values())
        names = ("connections", "disconnections", "joins", "rejoins", "guesses",
                 "rounds_started", "rounds_completed", "round_results_sent",
                 "round_started_sent", "results_dropped", "broadcast_failures",
                 "admin_actions")
        return {
            "game_started": self.started, "players": len(self.players),
            "players_connected": online, "round_id": self.round.round_id if self.round else None,
            **{name: self.counts.get(name, 0) for name in names},
            **{k: round(v, 3) for k, v in self.timing.items()},
            "dropped_session": self.drop_session if self.drop_fault else None,
            "messages": dict(self.received), "errors": dict(self.errors),
        }

    def close(self) -> None:
        if self.round and self.round.timer:
            self.round.timer.cancel()
        for task in list(self._tasks):
            task.cancel()


QUIZ = web.AppKey("quiz", QuizServer)


def build_app(options: DemoOptions | None = None) -> web.Application:
    quiz = QuizServer(options or DemoOptions())
    app = web.Application()
    app[QUIZ] = quiz
    app.router.add_get("/ws", quiz.websocket)
    app.router.add_post("/admin/{action}", _admin)
    app.router.add_get("/stats", _stats)
    app.router.add_get("/health", health)
    app.on_cleanup.append(lambda app: _close(app[QUIZ]))
    return app


async def _stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[QUIZ].stats())



async def _admin(request: web.Request) -> web.Response:
    reply = await request.app[QUIZ].admin(request.match_info["action"])
    return web.json_response(reply, status=200 if reply["ok"] else 409)


async def _close(quiz: QuizServer) -> None:
    quiz.close()
