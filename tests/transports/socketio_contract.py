"""What every Socket.IO server must see our client do, over each transport mode.

:class:`SocketIOContract` is inherited by one test class per real server (python-socketio
in ``test_socketio.py``, Node's socket.io in ``test_socketio_interop.py``); that class
provides the ``server`` fixture (``.url`` and ``async stats()``). Every test runs over
WebSocket only, polling upgraded to WebSocket, and polling only, and checks both what the
server got and what the :class:`Recorder` holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from horde.errors import AppError, OperationTimeoutError, PeerClosedError
from horde.metrics.names import (
    SIO_ACK,
    SIO_ACK_IN,
    SIO_CONNECT,
    SIO_EMIT,
    SIO_EVENT_IN,
    STREAM_TOTAL,
)
from horde.metrics.recorder import ConnectionCounts, Recorder, Window
from horde.transports.socketio import SocketIOConnection, SocketIOEvent

MODES: dict[str, tuple[str, ...]] = {
    "websocket": ("websocket",),
    "upgrade": ("polling", "websocket"),
    "polling": ("polling",),
}


def count(window: Window, metric: str, name: str | None = None) -> int:
    return window.counters.get((metric, name), 0)


def samples(window: Window, metric: str, name: str | None = None) -> int:
    hist = window.latencies.get((metric, name))
    return 0 if hist is None else hist.get_total_count()


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> None:
    """Poll a condition the server or the network makes true a little later."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class SocketIOContract:
    server: Any  # provided by the subclass as a fixture

    @pytest.fixture(params=list(MODES))
    def mode(self, request: pytest.FixtureRequest) -> str:
        return request.param

    async def open(self, server: Any, rec: Recorder, mode: str, **kw: Any) -> SocketIOConnection:
        return await SocketIOConnection.connect(server.url, recorder=rec,
                                                transports=MODES[mode], **kw)

    async def test_connect_two_namespaces_and_disconnect_cleanly(self, server, mode) -> None:
        rec = Recorder()
        before = (await server.stats()).get("disconnect", 0)
        c = await self.open(server, rec, mode, namespaces=("/", "/chat"))
        assert c.connected
        assert c.transport == ("polling" if mode == "polling" else "websocket")
        assert c.sid and set(c.sids) == {"/", "/chat"} and c.sid == c.sids["/"]
        assert rec.open_connections == 1
        await c.disconnect()
        assert not c.connected
        w = rec.take_window()
        assert samples(w, SIO_CONNECT) == 1
        assert rec.connections == ConnectionCounts(attempted=1, succeeded=1)
        assert rec.open_connections == 0
        assert w.errors == {}
        assert w.bytes_sent > 0 and w.bytes_received > 0
        await eventually(lambda: self._disconnects(server, before + 2))

    @staticmethod
    async def _disconnects(server: Any, n: int) -> bool:
        return (await server.stats()).get("disconnect", 0) >= n

    async def test_emit_and_call_with_acks(self, server, mode) -> None:
        rec = Recorder()
        before = await server.stats()
        c = await self.open(server, rec, mode, namespaces=("/", "/chat"))
        await c.emit("note", "hello", namespace="/chat")
        assert await c.wait_for("noted", namespace="/chat", timeout=5) == ["hello"]
        assert await c.call("echo", {"a": 1}) == {"a": 1}
        assert await c.call("echo", {"a": 1}, [1, 2], "x", namespace="/chat", name="echo3") == (
            {"a": 1}, [1, 2], "x")
        assert await c.call("echo") is None
        await c.disconnect()
        w = rec.take_window()
        assert samples(w, SIO_ACK, "echo") == 2 and samples(w, SIO_ACK, "echo3") == 1
        assert count(w, SIO_EMIT, "echo") == 3 and count(w, SIO_EMIT, "note") == 1
        assert count(w, SIO_EVENT_IN, "noted") == 1
        assert w.errors == {} and rec.in_flight == 0 and w.peak_in_flight == 1
        after = await server.stats()
        assert after.get("echo", 0) - before.get("echo", 0) == 3
        assert after.get("note", 0) - before.get("note", 0) == 1

    async def test_server_events_reach_on_and_wait_for(self, server, mode) -> None:
        rec = Recorder()
        c = await self.open(server, rec, mode, namespaces=("/", "/chat"))
        got: list[int] = []
        c.on("tick", lambda d: got.append(d["i"]), namespace="/chat")
        await c.emit("push", {"n": 5}, namespace="/chat")
        await c.emit("push", {"n": 5})  # "/" has no handler: the inbox keeps them
        assert await c.wait_for("tick", lambda d: d["i"] == 3, timeout=5) == {"i": 3}
        assert await c.wait_for("tick", timeout=5) == {"i": 0}  # skipped ones stay queued
        await eventually(lambda: len(got) == 5)
        assert got == [0, 1, 2, 3, 4]

        async def answer(q: int) -> int:  # the server asks, our async handler acks
            await asyncio.sleep(0)
            return q * 2

        c.on("question", answer)
        assert await c.call("ask", 21) == 42
        await c.disconnect()
        w = rec.take_window()
        assert count(w, SIO_EVENT_IN, "tick") == 10
        assert count(w, SIO_EVENT_IN, "question") == 1
        assert w.errors == {}

    async def test_binary_payloads(self, server, mode) -> None:
        rec = Recorder()
        c = await self.open(server, rec, mode)
        blob = bytes(range(256)) * 4
        assert await c.call("echo", blob, {"k": b"\x00\x01"}, "text") == (
            blob, {"k": b"\x00\x01"}, "text")
        await c.emit("note", b"\xff\xfe")
        assert await c.wait_for("noted", timeout=5) == [b"\xff\xfe"]
        await c.disconnect()
        w = rec.take_window()
        assert samples(w, SIO_ACK, "echo") == 1 and count(w, SIO_EVENT_IN, "noted") == 1
        assert count(w, SIO_ACK_IN, None) == 1  # an ack is a message received too
        assert w.bytes_sent > 1024 and w.bytes_received > 1024 and w.errors == {}

    async def test_server_disconnect_counts_as_dropped(self, server, mode) -> None:
        rec = Recorder()
        c = await self.open(server, rec, mode)
        waiting = asyncio.ensure_future(c.wait_for("never", timeout=5))
        await c.emit("bye")
        with pytest.raises(PeerClosedError):
            await waiting
        assert not c.connected
        with pytest.raises(PeerClosedError):
            await c.call("echo", 1)
        with pytest.raises(PeerClosedError):  # a stream too: the user must start over
            await c.stream("stream", {"n": 2}, chunk_event="chunk", until=bool, name="s")
        await c.disconnect()  # a no-op now: must not count a second close
        w = rec.take_window()
        assert rec.connections == ConnectionCounts(attempted=1, succeeded=1, dropped=1)
        assert rec.open_connections == 0 and rec.in_flight == 0
        # the drop, counted once (it failed the wait_for in flight); the call and the
        # stream asked of the dead connection afterwards fail and count on their own
        assert w.errors == {("closed_by_peer", None): 3}
        assert w.outcomes[(SIO_ACK, "echo")].failures == {("closed_by_peer", None): 1}
        assert w.outcomes[(STREAM_TOTAL, "s")].failures == {("closed_by_peer", None): 1}

    async def test_error_detail_names_the_kind_of_error(self, server, mode) -> None:
        rec = Recorder()
        c = await self.open(server, rec, mode, error_events="error",
                            error_detail=lambda data: data["message"].split(":")[0])
        for message in ("NoRoom: 7f3a", "NoRoom: 9c1e"):  # one kind, ids apart
            asked = asyncio.ensure_future(c.wait_for("error", timeout=10))
            await c.emit("fail", message)
            await asked
        await c.disconnect()
        assert rec.take_window().errors == {("app_error", "NoRoom"): 2}

    async def test_connect_error_is_app_error(self, server, mode) -> None:
        rec = Recorder()
        with pytest.raises(AppError, match="bad auth"):
            await self.open(server, rec, mode, namespaces=("/chat",), auth={"token": "bad"})
        w = rec.take_window()
        assert rec.connections == ConnectionCounts(attempted=1, failed=1)
        assert rec.open_connections == 0
        assert w.errors == {("app_error", None): 1}
        assert samples(w, SIO_CONNECT) == 0

    async def test_ack_timeout(self, server, mode) -> None:
        rec = Recorder()
        c = await self.open(server, rec, mode)
        with pytest.raises(OperationTimeoutError):
            await c.call("slow", timeout=0.3)
        assert await c.call("echo", 7) == 7  # the connection is still fine
        await c.disconnect()
        w = rec.take_window()
        assert w.errors == {("timeout", "slow"): 1}
        assert samples(w, SIO_ACK, "slow") == 0 and samples(w, SIO_ACK, "echo") == 1
        assert rec.in_flight == 0
        assert rec.connections == ConnectionCounts(attempted=1, succeeded=1)

    # -- issue 12: servers that never ack and report failures with an error event ---------

    async def test_error_event_fails_what_waits_and_counts_app_error(self, server, mode) -> None:
        rec = Recorder()
        c = await self.open(server, rec, mode, namespaces=("/", "/chat"), error_events="error")
        slow = asyncio.ensure_future(c.call("slow", timeout=10))
        waiting = asyncio.ensure_future(c.wait_for("never", timeout=10))
        elsewhere = asyncio.ensure_future(c.wait_for("never", namespace="/chat", timeout=10))
        asked = asyncio.ensure_future(c.wait_for("error", timeout=10))
        with pytest.raises(AppError, match="no such team") as info:
            await c.request("fail", "no such team", reply="never", name="join", timeout=10)
        assert info.value.detail == "no such team"
        with pytest.raises(AppError):
            await slow
        with pytest.raises(AppError):
            await waiting
        assert await asked == {"message": "no such team"}  # it asked for that very event
        assert not elsewhere.done()  # another namespace is not failed
        elsewhere.cancel()
        result = await c.stream("fail", "x" * 300, chunk_event="tick", until=bool,
                                name="tokens", timeout=10)
        assert (result.completed, result.reason) == (False, "failed")
        assert await c.call("echo", 1) == 1  # the connection itself is fine
        await c.disconnect()
        w = rec.take_window()
        long = "x" * 79 + "…"
        assert w.errors == {("app_error", "no such team"): 1, ("app_error", long): 1}
        assert w.outcomes[("sio_reply", "join")].failures == {("app_error", "no such team"): 1}
        assert w.outcomes[(SIO_ACK, "slow")].failures == {("app_error", "no such team"): 1}
        assert count(w, SIO_EVENT_IN, "error") == 2 and rec.in_flight == 0

    async def test_without_error_events_an_error_event_is_just_an_event(self, server, mode) -> None:
        rec = Recorder()
        c = await self.open(server, rec, mode)
        with pytest.raises(OperationTimeoutError):
            await c.request("fail", "nope", reply="never", name="join", timeout=0.5)
        assert await c.wait_for("error", timeout=5) == {"message": "nope"}  # queued
        await c.disconnect()
        assert rec.take_window().errors == {("timeout", "join"): 1}

    async def test_wait_for_and_request_take_the_first_of_several(self, server, mode) -> None:
        rec = Recorder()
        c = await self.open(server, rec, mode)
        await c.emit("note", "hi")
        got = await c.wait_for(("error", "noted"), timeout=5)
        assert isinstance(got, SocketIOEvent) and got == ("noted", ["hi"])
        event, data = await c.request("fail", "full", reply=("noted", "error"), name="join",
                                      timeout=5)
        assert (event, data) == ("error", {"message": "full"})
        assert await c.request("note", 1, reply=("noted", "error"), name="note") == (
            "noted", [1])
        await c.emit("note", "queued")
        await c.wait_for("noted", lambda d: d == ["queued"], timeout=5)
        await c.emit("push", {"n": 1})
        assert await c.wait_for(("pushed", "nothing"), timeout=5) == ("pushed", 1)
        assert await c.wait_for(("tick", "pushed")) == ("tick", {"i": 0})  # it was queued
        with pytest.raises(OperationTimeoutError):
            await c.wait_for(("never", "nor this"), timeout=0.2)
        await c.disconnect()
        w = rec.take_window()
        assert samples(w, "sio_reply", "join") == 1 == samples(w, "sio_reply", "note")
        assert w.errors == {} and rec.in_flight == 0
        assert c._inbox is not None and not any(c._inbox.waiters.values())  # none left over

    async def test_handlers_given_to_connect_see_events_sent_while_connecting(
            self, server, mode) -> None:
        rec = Recorder()
        early: list[int] = []
        chat: list[int] = []
        c = await self.open(server, rec, mode, namespaces=("/", "/chat"), auth={"welcome": 3},
                            on={"welcome": lambda d: early.append(d["i"]),
                                ("/chat", "welcome"): lambda d: chat.append(d["i"])})
        await eventually(lambda: len(early) == 3 and len(chat) == 3)
        assert early == chat == [0, 1, 2]
        d = await self.open(server, rec, mode, auth={"welcome": 3})  # no handler: queued
        assert [await d.wait_for("welcome", timeout=5) for _ in range(3)] == [
            {"i": 0}, {"i": 1}, {"i": 2}]
        e = await self.open(server, rec, mode, auth={"welcome": 3}, ignore=("welcome",))
        await e.emit("note", "after")  # the server answers in order: welcomes came first
        await e.wait_for("noted", timeout=5)
        assert e._inbox is not None and e._inbox.queued == 0  # ignored from the first
        await c.disconnect()
        await d.disconnect()
        await e.disconnect()
        w = rec.take_window()
        assert count(w, SIO_EVENT_IN, "welcome") == 12 and w.errors == {}
        assert count(w, "sio_unclaimed", "welcome") == 0

    async def test_unclaimed_events_are_bounded_counted_and_can_be_ignored(
            self, server, mode) -> None:
        rec = Recorder()
        c = await self.open(server, rec, mode, inbox_limit=20)
        await c.emit("push", {"n": 50})
        assert await c.wait_for("pushed", timeout=5) == 50
        c.ignore("tick")  # the 20 queued go, as unclaimed; later ones are never queued
        await c.emit("push", {"n": 50})
        assert await c.wait_for("pushed", timeout=5) == 50
        assert c._inbox is not None and c._inbox.queued == 0
        await c.emit("note", "left")  # nobody takes it: unclaimed when the connection ends
        await eventually(lambda: c._inbox.queued == 1)
        await c.disconnect()
        w = rec.take_window()
        assert count(w, SIO_EVENT_IN, "tick") == 100
        assert count(w, "sio_inbox_dropped", "tick") == 30
        assert count(w, "sio_unclaimed", "tick") == 50 and count(w, "sio_unclaimed", "noted") == 1
        assert w.values["sio_inbox_peak"].get_max_value() // 1000 == 20
