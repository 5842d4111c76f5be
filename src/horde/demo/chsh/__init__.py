"""The CHSH demo server: teams of two answer A/B and X/Y questions over Socket.IO.

Modelled on the CHSH game that seed 000's load tester targets (Flask-SocketIO there;
python-socketio on aiohttp here): players ``create_team`` / ``join_team``, a dashboard
that has sent ``register_dashboard`` starts the game, each full team then plays rounds of
``new_question`` → ``submit_answer`` ×2 → ``round_complete``, and every answer lands in
SQLite. ``GET /stats`` says what the server counted, to check horde's numbers against.
The protocol is in ``docs/demos/chsh.md``; the rules are in :mod:`.game`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import tempfile
from typing import Any

import socketio
from aiohttp import web

from horde.demo.chsh.game import ChshGame, Config
from horde.demo.chsh.handlers import ChshDriver
from horde.demo.chsh.store import AnswerStore
from horde.demo.handlers import health
from horde.demo.options import DemoOptions

__all__ = ["FAULTS", "SETTINGS", "build_app"]

FAULTS: dict[str, str] = {
    "stale_round": "every Nth new_question is preceded by a replay of the team's previous "
                   "question, and every Nth answer_confirmed carries the previous round_id "
                   "(N = stale_every)",
}
SETTINGS: dict[str, str] = {
    "acks": "1: every event's answer also comes back as its ack (default); 0: like a "
            "Flask-SocketIO server whose handlers return nothing — replies and errors are "
            "events only, an ack carries no data, handlers check their argument count",
    "question_delay_ms": "pause between round_complete and the next new_question (default 0)",
    "max_rounds": "rounds per team before game_over (default 0: no limit)",
    "stale_every": "with fault stale_round: every Nth eligible message is stale (default 5)",
    "db": "SQLite file for answers (default: a new file in a temp dir; ':memory:' allowed)",
    "flush_ms": "how often queued SQLite rows are written in one batch (default 20)",
    "seed": "random seed for the questions (default: unseeded)",
}

DRIVER = web.AppKey("chsh_driver", ChshDriver)


def build_app(options: DemoOptions | None = None) -> web.Application:
    options = options or DemoOptions()
    config = Config(
        max_rounds=options.int("max_rounds", 0),
        stale_every=options.int("stale_every", 5) if options.fault("stale_round") else 0,
    )
    seed = options.str("seed", "")
    game = ChshGame(config, rng=random.Random(seed or None))
    store = AnswerStore(options.str("db", ""), flush_ms=options.float("flush_ms", 20.0))
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    driver = ChshDriver(sio, game, store, options.float("question_delay_ms", 0.0) / 1000.0,
                        acks=bool(options.int("acks", 1)))
    driver.attach()
    app = web.Application()
    app[DRIVER] = driver
    sio.attach(app)
    app.router.add_get("/health", health)
    app.router.add_get("/stats", _stats)
    app.router.add_get("/answers", _answers)
    app.router.add_get("/peers", _peers)
    app.cleanup_ctx.append(_store_lifetime(store, driver))
    return app


def _store_lifetime(store: AnswerStore, driver: ChshDriver) -> Any:
    """Without a ``db`` option the answers go to a temp dir made at start-up and removed
    at clean-up, so an app built but never started leaves nothing behind."""
    async def lifetime(app: web.Application) -> Any:
        tmp = "" if store.path else tempfile.mkdtemp(prefix="horde-chsh-")
        store.path = store.path or os.path.join(tmp, "chsh.sqlite")
        try:
            await store.open()
            flusher = asyncio.ensure_future(store.run())
            yield
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            driver.close()
            await store.close()
        finally:
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)

    return lifetime


async def _stats(request: web.Request) -> web.Response:
    """Everything the server counted; pending SQLite rows are written first."""
    driver = request.app[DRIVER]
    await driver.store.flush()
    return web.json_response({**driver.game.stats(), **driver.store.stats()})


async def _answers(request: web.Request) -> web.Response:
    """The stored answers (``?team=NAME`` for one team), oldest first, at most 1000."""
    store = request.app[DRIVER].store
    team = request.query.get("team")
    where, args = ("WHERE team = ?", (team,)) if team else ("", ())
    rows = await store.query(
        "SELECT round_id, team, player, item, answer, ts, sid FROM answers "
        f"{where} ORDER BY id LIMIT 1000", *args)
    keys = ("round_id", "team", "player", "item", "answer", "ts", "sid")
    return web.json_response({"answers": [dict(zip(keys, row, strict=True)) for row in rows]})


async def _peers(request: web.Request) -> web.Response:
    """Each connection's client address (``{sid: "host:port"}``): which process played."""
    return web.json_response(request.app[DRIVER].peers)
