"""Full garbage collections while the users grow.

CPython's collector runs a full collection each time the objects that outlived its young
collections have grown by a quarter, and a full collection walks every tracked object.
A ramp grows them the whole way: starting 10,000 WebSocket users in one process here
took 10 full collections, 1.1 s of a 4 s ramp, each stopping the event loop for up to
220 ms, and every one found nothing to free — the users were alive.

So from the start of the load, and until a reading (every half second) finds the users
and their open connections no more numerous than at the one before, the collector's own
rule may run at most one full collection every :data:`GAP_S`; the young collections run
as always, and they reclaim the short-lived cycles. Then the rule is back as it was, and
it runs the full collection the ramp put off when the next young ones ask. Only the
load's first ramp is held: a plan that starts flat, or a ramp slower than about two
users a second, is left to the collector from its first reading. Garbage in cycles among
long-lived objects (an object kept past two young collections, then dropped) waits up to
:data:`GAP_S` longer during that ramp: the price. This is CPython's generational
collector and its third threshold; a build whose collector has none holds nothing.

The thresholds are the process's: they are held for the span of a run and given back
as they were, also when runs overlap in one process (a test session, or a run on another
thread); the gap is then per run.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable

CHECK_S = 0.5  # how often the size is read: growth is what it gained since
GAP_S = 10.0  # at most one full collection this often while held: a quick ramp has none
HELD = 1 << 30  # a full-collection threshold no run reaches

_lock = threading.Lock()  # runs on other threads' loops share the process's thresholds
_holders = 0  # runs in this process pacing full collections now
_saved: tuple[int, int, int] = (0, 0, 0)  # the thresholds from before the first of them


async def pace_full_collections(size: Callable[[], int], check_s: float = CHECK_S) -> None:
    """Hold full collections from now while ``size()`` (the users and their open
    connections) grows, letting the collector's own rule run at most one each
    :data:`GAP_S`; return, its rule given back, once ``size()`` has not grown for
    ``check_s``. Only the load's first ramp is held: a later one, a stage of a shape, is
    left to the collector."""
    clock = asyncio.get_running_loop().time
    young = _hold()
    try:
        gc.set_threshold(*young, HELD)  # a run starts by growing
        seen = size()
        full, full_at = _full_collections(), clock()
        while True:
            await asyncio.sleep(check_s)
            if (now := size()) <= seen:
                return
            seen = now
            if (count := _full_collections()) != full:  # one ran: hold the next back
                full, full_at = count, clock()
                gc.set_threshold(*young, HELD)
            elif clock() - full_at >= GAP_S:
                gc.set_threshold(*_saved)  # the collector's rule may run one now
    finally:
        _release()


def _full_collections() -> int:
    return gc.get_stats()[2]["collections"]


def _hold() -> tuple[int, int]:
    """Count this run in; the young generations' thresholds, which it keeps."""
    global _holders, _saved
    with _lock:
        if _holders == 0:
            _saved = gc.get_threshold()
        _holders += 1
        return _saved[0], _saved[1]


def _release() -> None:
    global _holders
    with _lock:
        _holders -= 1
        if _holders == 0:
            gc.set_threshold(*_saved)
