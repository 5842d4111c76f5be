"""EventInbox: where received Socket.IO events go, without any socket."""

from __future__ import annotations

import asyncio

import pytest

from horde.errors import AppError, OperationTimeoutError, PeerClosedError
from horde.metrics.recorder import Recorder
from horde.transports.socketio_inbox import EMPTY, EventInbox, SocketIOEvent, unwrap

K = ("/", "tick")


def make(limit: int = 3) -> tuple[EventInbox, Recorder, list[Exception]]:
    errors: list[Exception] = []
    rec = Recorder()
    return EventInbox(limit, errors.append, rec), rec, errors


def test_unwrap() -> None:
    assert (unwrap([]), unwrap([1]), unwrap([1, 2])) == (None, 1, (1, 2))


def test_queue_is_bounded_and_drops_oldest() -> None:
    inbox, rec, _ = make(limit=2)
    for i in range(4):
        inbox.put(K, i)
    assert rec.take_window().counters == {("sio_inbox_dropped", "tick"): 2,
                                          ("sio_unclaimed", "tick"): 2}
    assert inbox.take(K, lambda v: v == 3) == 3
    assert inbox.take(K, None) == 2
    assert inbox.take(K, None) is EMPTY
    assert inbox.take(("/", "other"), None) is EMPTY
    assert (inbox.queued, inbox.peak) == (0, 2)


def test_the_bound_is_per_connection_and_drops_from_the_name_piling_up() -> None:
    inbox, rec, _ = make(limit=4)
    lobby = ("/", "lobby")
    inbox.put(K, "reply")
    for i in range(10):
        inbox.put(lobby, i)
    assert inbox.queued == 4 and inbox.take(K, None) == "reply"  # the rare one survives
    assert list(inbox.queues[lobby]) == [7, 8, 9]
    inbox.count_unclaimed()
    inbox.count_unclaimed()  # once
    w = rec.take_window()
    assert w.counters == {("sio_inbox_dropped", "lobby"): 7, ("sio_unclaimed", "lobby"): 10}
    assert w.values["sio_inbox_peak"].get_max_value() // 1000 == 4  # type: ignore[index]


def test_ignored_events_are_not_queued() -> None:
    inbox, rec, _ = make()
    lobby = ("/", "lobby")
    inbox.put(lobby, 0)
    inbox.ignore(lobby)
    inbox.deliver(lobby, [1], None)
    assert inbox.take(lobby, None) is EMPTY and inbox.queued == 0
    assert rec.take_window().counters == {("sio_unclaimed", "lobby"): 1}


async def test_waiters_get_matching_values_first_come_first_served() -> None:
    inbox, _, _ = make()
    loop = asyncio.get_running_loop()
    odd, anything = loop.create_future(), loop.create_future()
    inbox.wait(K, odd, lambda v: v % 2 == 1, 10**18, "odd")
    inbox.wait(K, anything, None, 10**18, "any")
    assert inbox.offer(K, 2) and anything.result() == 2 and not odd.done()
    assert inbox.offer(K, 3) and odd.result() == 3
    assert not inbox.offer(K, 4)


async def test_a_raising_predicate_fails_its_own_waiter() -> None:
    inbox, _, _ = make()
    fut = asyncio.get_running_loop().create_future()
    inbox.wait(K, fut, lambda v: v["missing"], 10**18, "bad")
    assert not inbox.offer(K, {})
    with pytest.raises(KeyError):
        fut.result()


async def test_expire_fails_overdue_and_reports_the_next_deadline() -> None:
    inbox, _, _ = make()
    loop = asyncio.get_running_loop()
    early, late = loop.create_future(), loop.create_future()
    inbox.wait(K, early, None, 100, "early")
    inbox.wait(("/", "x"), late, None, 500, "late")
    assert inbox.expire(200) == 500
    with pytest.raises(OperationTimeoutError) as info:
        early.result()
    assert info.value.detail == "early" and not late.done()
    inbox.fail(PeerClosedError("gone"), namespace="/")
    with pytest.raises(PeerClosedError):
        late.result()
    assert inbox.expire(10**18) == 0


async def test_deliver_runs_handlers_and_acks_with_their_result() -> None:
    inbox, _, errors = make()
    acks: list[object] = []
    inbox.handlers[K] = lambda *args: sum(args)
    inbox.deliver(K, [1, 2], acks.append)
    assert acks == [3] and inbox.take(K, None) is EMPTY  # handled: not queued

    async def slow(x: int) -> int:
        await asyncio.sleep(0)
        return x * 10

    inbox.handlers[K] = slow
    inbox.deliver(K, [4], acks.append)
    await asyncio.sleep(0.01)
    assert acks == [3, 40]

    def broken(*_: object) -> None:
        raise RuntimeError("scenario bug")

    inbox.handlers[K] = broken
    inbox.deliver(K, [1], acks.append)
    assert acks == [3, 40, None] and isinstance(errors[0], RuntimeError)
    inbox.deliver(("/", "unhandled"), [7, 8], None)
    assert inbox.take(("/", "unhandled"), None) == (7, 8)


async def test_one_of_several_gets_which_came_and_an_error_spares_who_asked() -> None:
    inbox, _, _ = make()
    loop = asyncio.get_running_loop()
    either, other = loop.create_future(), loop.create_future()
    keys = (("/", "joined"), ("/", "error"))
    inbox.wait(keys, either, None, 10**18, "either")
    inbox.wait(("/", "left"), other, None, 10**18, "other")
    inbox.fail(AppError("error event"), "/", keep=("/", "error"))
    assert isinstance(other.exception(), AppError) and not either.done()
    assert inbox.offer(("/", "error"), {"message": "full"})
    assert either.result() == SocketIOEvent("error", {"message": "full"})
    inbox.put(("/", "joined"), 1)
    assert inbox.take_first(keys, None) == ("joined", 1)
    assert inbox.take_first(keys, None) is EMPTY
