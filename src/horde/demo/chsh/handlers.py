"""Socket.IO events in, :class:`~.game.ChshGame` calls, effects out — the only I/O.

Each event handler calls the game, carries out the effects in order (emit, queue a
SQLite row, schedule the next question) and returns the game's ack, so a client may use
either the reply events or ``call()`` acks.

With ``acks=False`` it behaves like a Flask-SocketIO game server whose handlers return
nothing: an ack (when a client asks for one) carries no data, every answer is a reply
event, a refusal only an ``error`` event — and each handler checks how many arguments it
got, as a Python handler ``def on_start_game():`` does, so ``emit("start_game", None)``
is refused (``bad_arguments``) where ``emit("start_game")`` is not.
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

from horde.demo.chsh.game import ChshGame, Effect, Schedule, Send, Store
from horde.demo.chsh.store import AnswerStore

# The client events, each a ChshGame method of the same name taking (sid, data).
GAME_EVENTS = ("create_team", "join_team", "leave_team", "register_dashboard", "start_game",
               "pause_game", "restart_game", "submit_answer")
# What a strict (acks=False) server's handlers take: one data argument, or none.
TAKES_DATA = frozenset({"create_team", "join_team", "submit_answer"})


class ChshDriver:
    """Carries out a game's effects on one Socket.IO server and one store."""

    def __init__(self, sio: socketio.AsyncServer, game: ChshGame, store: AnswerStore,
                 question_delay_s: float, *, acks: bool = True) -> None:
        self.sio = sio
        self.game = game
        self.store = store
        self.question_delay_s = question_delay_s
        self.acks = acks
        self.peers: dict[str, str] = {}  # sid → the client's "host:port" (GET /peers)
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self) -> None:
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        for name in GAME_EVENTS:
            self.sio.on(name, self._handler(name))

    def _handler(self, name: str) -> Any:
        method = getattr(self.game, name)

        async def handle(sid: str, *args: Any) -> dict[str, Any] | None:
            self.game.received[name] += 1
            wanted = 1 if name in TAKES_DATA else 0
            if not self.acks and len(args) != wanted:
                result = self.game.bad_arguments(sid, name, wanted, len(args))
            else:
                result = method(sid, args[0] if args else None)
            await self.apply(result.effects)
            if name == "restart_game" and result.ack.get("ok"):
                await self.store.clear()
            return result.ack if self.acks else None

        return handle

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        self.peers[sid] = _peer(environ)
        await self.apply(self.game.connect(sid).effects)

    async def _disconnect(self, sid: str, *args: Any) -> None:
        await self.apply(self.game.disconnect(sid).effects)

    async def apply(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Send):
                await self._emit(effect)
            elif isinstance(effect, Store):
                self.store.add(effect.table, effect.row)
            elif isinstance(effect, Schedule):
                await self._schedule(effect)

    async def _emit(self, send: Send) -> None:
        try:
            await self.sio.emit(send.event, send.data, to=send.to)
        except Exception:  # a client that left mid-emit: the game learns it on disconnect
            self.game.counts["emit_failures"] += 1

    async def _schedule(self, effect: Schedule) -> None:
        if self.question_delay_s <= 0:  # inline: new_question follows round_complete
            await self.apply(self.game.next_question(effect.team, effect.after_round))
            return
        task = asyncio.ensure_future(self._later(effect))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _later(self, effect: Schedule) -> None:
        await asyncio.sleep(self.question_delay_s)
        await self.apply(self.game.next_question(effect.team, effect.after_round))

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()


def _peer(environ: dict[str, Any]) -> str:
    """The client's address and port, so a test can tell which process a player was."""
    request = environ.get("aiohttp.request")
    peer = request.transport.get_extra_info("peername") if request and request.transport else None
    return f"{peer[0]}:{peer[1]}" if peer else "?"
