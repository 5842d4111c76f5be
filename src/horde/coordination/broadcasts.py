"""Broadcast fan-out: how long a message takes to reach every recipient, and whether it does.

One user triggers a broadcast (``sent``); every subscriber of its topic should then
receive it (``received``). Each receipt is a latency sample — metric ``broadcast``, name =
the topic — timed from the trigger or, when the trigger happened elsewhere (the server, or
another process), from the wall-clock timestamp the server put in the message. Per
broadcast the tracker also keeps the first and the last recipient's latency and its reach:
distinct expected recipients who got it ÷ recipients expected.

Memory is bounded: a broadcast is *closed* (its figures folded into the topic's totals)
once every expected recipient has it, once it is older than ``window_s``, or when a topic
holds more than ``max_open`` open broadcasts (the oldest goes). The report includes the
broadcasts still open as they stand, so it is the same whenever it is asked for; once the
run is over, an open broadcast is as complete as it will ever be.

A receipt for a closed broadcast is ``late``; a second receipt by the same user is a
``duplicate``; a receipt by a user that was not expected is ``unexpected`` (reach counts
only expected recipients). A user that stops is forgotten: unsubscribed everywhere, and
dropped from broadcasts sent less than ``grace_s`` before it left (the message could not
have reached it yet); an older broadcast it never received counts it as missing.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from horde.metrics import names
from horde.metrics.histogram import HIGHEST_US, Histogram, new_histogram, percentiles_ms

if TYPE_CHECKING:
    from horde.metrics.recorder import Recorder

WINDOW_S = 30.0
MAX_OPEN = 1000
GRACE_S = 1.0
MISSING_EXAMPLES = 20
MISSING_NAMES = 20
LATE_MEMORY = 10_000  # closed keys remembered per topic, to tell "late" from "never sent"


@dataclass(slots=True)
class _Broadcast:
    key: Hashable
    opened: float  # clock time it was first known here (for the window and the grace)
    start: float | None  # clock time of the trigger, when it happened in this process
    stamp: float | None  # server wall-clock time, when the trigger happened elsewhere
    expected: frozenset[str] | None  # None: only a count is known
    expected_count: int
    received: dict[str, int] = field(default_factory=dict)  # name → latency µs (0: untimed)
    reached: int = 0  # distinct expected recipients so far (kept, not counted: O(1) each)
    extra: set[str] = field(default_factory=set)  # recipients beyond those expected
    dropped: set[str] = field(default_factory=set)  # expected, but left before it could arrive

    def counted(self, name: str) -> bool:
        return name not in self.extra

    def is_complete(self) -> bool:
        return self.reached >= self.expected_count

    def expects(self, name: str) -> bool:
        """Would ``name`` count towards reach? (With only a count: the first ``count``.)"""
        if self.expected is None:
            return self.reached < self.expected_count
        return name in self.expected and name not in self.dropped

    def missing(self) -> list[str]:
        if self.expected is None:
            return []
        return sorted(self.expected - self.received.keys() - self.dropped)


@dataclass(slots=True)
class _Totals:
    """What the closed broadcasts of one topic add up to."""

    sent: int = 0
    deliveries: int = 0
    expected: int = 0
    complete: int = 0
    min_reach: float | None = None
    first: Histogram = field(default_factory=new_histogram)
    last: Histogram = field(default_factory=new_histogram)
    missing: list[dict[str, Any]] = field(default_factory=list)

    def fold(self, b: _Broadcast) -> None:
        reached = b.reached
        self.sent += 1
        self.deliveries += reached
        self.expected += b.expected_count
        reach = _reach(reached, b.expected_count)
        if reach is not None and (self.min_reach is None or reach < self.min_reach):
            self.min_reach = reach
        if reached >= b.expected_count:
            self.complete += 1
        elif len(self.missing) < MISSING_EXAMPLES:
            self.missing.append(_missing(b, reach))
        timed = [us for name, us in b.received.items() if us and b.counted(name)]
        if timed:
            self.first.record_value(min(timed))
            self.last.record_value(max(timed))

    def copy(self) -> _Totals:
        first, last = new_histogram(), new_histogram()
        first.add(self.first)
        last.add(self.last)
        return _Totals(
            self.sent, self.deliveries, self.expected, self.complete, self.min_reach,
            first, last, list(self.missing),
        )


@dataclass(slots=True)
class _Topic:
    subscribers: set[str] = field(default_factory=set)
    open: dict[Hashable, _Broadcast] = field(default_factory=dict)  # oldest first
    closed_keys: deque[Hashable] = field(default_factory=lambda: deque(maxlen=LATE_MEMORY))
    closed_set: set[Hashable] = field(default_factory=set)
    totals: _Totals = field(default_factory=_Totals)
    duplicates: int = 0
    unexpected: int = 0
    late: int = 0
    untimed: int = 0


class BroadcastTracker:
    """Every topic's broadcasts for one run. Users reach it through :meth:`view`.

    ``clock`` (monotonic seconds) and ``wall`` (epoch seconds) are injectable so tests
    need no real sleeps.
    """

    def __init__(
        self,
        recorder: Recorder,
        *,
        window_s: float = WINDOW_S,
        max_open: int = MAX_OPEN,
        grace_s: float = GRACE_S,
        clock: Callable[[], float] = time.perf_counter,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.recorder = recorder
        self.window_s = window_s
        self.max_open = max_open
        self.grace_s = grace_s
        self._clock = clock
        self._wall = wall
        self._topics: dict[str, _Topic] = {}
        self._views: dict[str, UserBroadcasts] = {}

    def view(self, user_name: str) -> UserBroadcasts:
        """The handle ``user.broadcasts`` returns: this tracker, bound to one user."""
        found = self._views.get(user_name)
        if found is None:
            found = self._views[user_name] = UserBroadcasts(self, user_name)
        return found

    # -- subscriptions ---------------------------------------------------------------------

    def subscribe(self, user_name: str, topic: str) -> None:
        self._topic(topic).subscribers.add(user_name)

    def unsubscribe(self, user_name: str, topic: str) -> None:
        self._topic(topic).subscribers.discard(user_name)

    def forget(self, user_name: str) -> None:
        """A user stopped: it expects nothing more, and broadcasts sent less than
        ``grace_s`` before now no longer expect it (they could not have reached it)."""
        self._views.pop(user_name, None)
        now = self._clock()
        for t in self._topics.values():
            t.subscribers.discard(user_name)
            recent = []
            for b in reversed(t.open.values()):  # newest first: only the last grace_s
                if now - b.opened >= self.grace_s:
                    break
                recent.append(b)
            for b in recent:
                self._release(t, b, user_name)

    def _release(self, t: _Topic, b: _Broadcast, user_name: str) -> None:
        if b.expected is None or not b.expects(user_name) or user_name in b.received:
            return
        b.dropped.add(user_name)
        b.expected_count -= 1
        if b.is_complete():
            self._close(t, b)

    # -- broadcasts ------------------------------------------------------------------------

    def sent(
        self, user_name: str, topic: str, key: Hashable, *,
        expected: int | Collection[str] | None = None,
    ) -> None:
        """Broadcast ``key`` on ``topic`` is triggered now. Call it just *before* sending,
        so that no receipt can arrive first. Expected recipients: the topic's subscribers
        now, or ``expected`` (a count, or the recipients' names)."""
        t = self._topic(topic)
        now = self._clock()
        self._expire(t, now)
        old = t.open.get(key)
        if old is not None:  # the same key again: the first one is over
            self._close(t, old)
        names_, count = _expectation(t, expected)
        self._open(t, _Broadcast(key, now, now, None, names_, count))

    def received(
        self, user_name: str, topic: str, key: Hashable, *, sent_at: float | None = None
    ) -> None:
        """``user_name`` received broadcast ``key``. Timed from its trigger here, else
        from ``sent_at`` (server epoch seconds); with neither it is counted, not timed."""
        t = self._topic(topic)
        self._expire(t, self._clock())
        b = t.open.get(key)
        if b is None:
            if key in t.closed_set:
                t.late += 1
                return
            b = self._first_seen(t, key, sent_at)
        if user_name in b.received:
            t.duplicates += 1
            return
        micros = self._latency(b, sent_at)
        b.received[user_name] = micros
        if micros:
            self.recorder.latency(names.BROADCAST, topic, micros)
        else:
            t.untimed += 1
        if not b.expects(user_name):
            t.unexpected += 1
            b.extra.add(user_name)
            return
        b.reached += 1
        if b.is_complete():
            self._close(t, b)

    # -- report ----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Per topic (results.json ``broadcasts``): closed broadcasts plus the open ones as
        they stand. Does not close anything but what the window has expired."""
        now = self._clock()
        out = {}
        for name, t in sorted(self._topics.items()):
            self._expire(t, now)
            out[name] = _topic_report(t)
        return out

    # -- internals -------------------------------------------------------------------------

    def _topic(self, topic: str) -> _Topic:
        found = self._topics.get(topic)
        if found is None:
            found = self._topics[topic] = _Topic()
        return found

    def _first_seen(self, t: _Topic, key: Hashable, sent_at: float | None) -> _Broadcast:
        """A receipt for a broadcast triggered elsewhere: expected = subscribers now."""
        names_, count = _expectation(t, None)
        b = _Broadcast(key, self._clock(), None, sent_at, names_, count)
        self._open(t, b)
        return b

    def _latency(self, b: _Broadcast, sent_at: float | None) -> int:
        """µs since the trigger (local clock first: it does not drift), 0 if unknown.
        A timed receipt is at least 1 µs, so 0 always means untimed."""
        if b.start is not None:
            return _micros(self._clock() - b.start)
        stamp = sent_at if sent_at is not None else b.stamp
        if stamp is None:
            return 0
        return _micros(self._wall() - stamp)

    def _open(self, t: _Topic, b: _Broadcast) -> None:
        t.open[b.key] = b
        while len(t.open) > self.max_open:
            self._close(t, next(iter(t.open.values())))
        if b.is_complete():  # nobody expected
            self._close(t, b)

    def _expire(self, t: _Topic, now: float) -> None:
        while t.open:
            oldest = next(iter(t.open.values()))
            if now - oldest.opened < self.window_s:
                return
            self._close(t, oldest)

    def _close(self, t: _Topic, b: _Broadcast) -> None:
        del t.open[b.key]
        t.totals.fold(b)
        if len(t.closed_keys) == t.closed_keys.maxlen:
            t.closed_set.discard(t.closed_keys[0])
        t.closed_keys.append(b.key)
        t.closed_set.add(b.key)


class UserBroadcasts:
    """``user.broadcasts``: fan-out latency and reach of server pushes (docs/push-checks.md).

    Recipients :meth:`subscribe`; whoever triggers a broadcast says so with :meth:`sent`
    (or the server's timestamp is passed as ``sent_at``); each recipient calls
    :meth:`received`. Results: latency ``broadcast:TOPIC``, reach, who missed which::

        user.broadcasts.subscribe("game_start")
        sio.on("game_start", lambda d: user.broadcasts.received("game_start", d["ts"],
                                                                 sent_at=d["ts"]))
    """

    __slots__ = ("_tracker", "user_name")

    def __init__(self, tracker: BroadcastTracker, user_name: str) -> None:
        self._tracker = tracker
        self.user_name = user_name

    def subscribe(self, topic: str) -> None:
        """From now on this user expects every broadcast on ``topic``."""
        self._tracker.subscribe(self.user_name, topic)

    def unsubscribe(self, topic: str) -> None:
        """Stop expecting ``topic``: later broadcasts do not count this user as missing."""
        self._tracker.unsubscribe(self.user_name, topic)

    def sent(
        self, topic: str, key: Hashable, *, expected: int | Collection[str] | None = None
    ) -> None:
        """Record the trigger of broadcast ``key`` (call it just before sending)."""
        self._tracker.sent(self.user_name, topic, key, expected=expected)

    def received(self, topic: str, key: Hashable, *, sent_at: float | None = None) -> None:
        """This user received broadcast ``key`` (``sent_at``: server epoch seconds)."""
        self._tracker.received(self.user_name, topic, key, sent_at=sent_at)


def _expectation(
    t: _Topic, expected: int | Collection[str] | None
) -> tuple[frozenset[str] | None, int]:
    if expected is None:
        return frozenset(t.subscribers), len(t.subscribers)
    if isinstance(expected, int):
        return None, expected
    names_ = frozenset(expected)
    return names_, len(names_)


def _micros(seconds: float) -> int:
    return min(max(1, round(seconds * 1e6)), HIGHEST_US)


def _reach(reached: int, expected: int) -> float | None:
    return round(reached / expected, 4) if expected else None


def _missing(b: _Broadcast, reach: float | None) -> dict[str, Any]:
    who = b.missing()
    key = b.key if isinstance(b.key, str | int | float) else str(b.key)
    return {"key": key, "reach": reach, "missing": who[:MISSING_NAMES]}


def _topic_report(t: _Topic) -> dict[str, Any]:
    totals = t.totals
    if t.open:
        totals = totals.copy()
        for b in t.open.values():
            totals.fold(b)
    return {
        "sent": totals.sent,
        "deliveries": totals.deliveries,
        "expected": totals.expected,
        "reach": _reach(totals.deliveries, totals.expected),
        "min_reach": totals.min_reach,
        "complete": totals.complete,
        "open": len(t.open),
        "first_ms": _percentiles(totals.first),
        "last_ms": _percentiles(totals.last),
        "duplicates": t.duplicates,
        "unexpected": t.unexpected,
        "late": t.late,
        "untimed": t.untimed,
        "missing": totals.missing,
    }


def _percentiles(hist: Histogram) -> dict[str, float | None]:
    p50, p95, p99 = percentiles_ms(hist)
    top = round(hist.get_max_value() / 1000.0, 3) if hist.get_total_count() else None
    return {"p50": p50, "p95": p95, "p99": p99, "max": top}
