"""Ordering: gaps, duplicates and out-of-order messages in numbered streams.

A scenario that receives messages carrying a sequence number calls
``user.ordering.observe(stream, seq)`` for each. Every (user, stream) pair is checked on
its own: the first number seen starts it (whatever it is), and the next number expected
is one more than the highest seen so far.

- ``seq`` is the next one: **in order**.
- ``seq`` is higher: in order too, but the numbers skipped are **gaps** (missing so far).
- ``seq`` is lower and fills a gap: **out of order** (and one gap fewer: it was late, not
  lost).
- ``seq`` was already seen: a **duplicate**.

So at the end of the run ``gaps`` is the count of numbers that never arrived. A stream
that legitimately restarts (a reconnect) calls ``user.ordering.reset(stream)``.

The numbers not yet seen are kept as ranges, not one by one, at most ``max_holes`` ranges
per pair (the oldest is given up as lost); a number arriving from a range given up counts
as a duplicate.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from horde.metrics.recorder import Recorder

EXAMPLES = 5
MAX_HOLES = 1000


@dataclass(slots=True)
class _Counts:
    messages: int = 0
    in_order: int = 0
    gaps: int = 0
    duplicates: int = 0
    out_of_order: int = 0

    def add(self, other: _Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(slots=True)
class _Stream:
    """One user's view of one stream: the highest number seen and the holes below it."""

    high: int | None = None
    starts: list[int] = field(default_factory=list)  # holes [start, end], sorted, disjoint
    ends: list[int] = field(default_factory=list)
    counts: _Counts = field(default_factory=_Counts)

    def observe(self, seq: int, max_holes: int) -> str:
        """Classify ``seq``: 'in_order', 'gap', 'out_of_order' or 'duplicate'."""
        c = self.counts
        c.messages += 1
        if self.high is None or seq == self.high + 1:
            self.high = seq
            c.in_order += 1
            return "in_order"
        if seq > self.high:
            self._add_hole(self.high + 1, seq - 1, max_holes)
            c.gaps += seq - self.high - 1
            self.high = seq
            c.in_order += 1
            return "gap"
        if self._fill(seq):
            c.gaps -= 1
            c.out_of_order += 1
            return "out_of_order"
        c.duplicates += 1
        return "duplicate"

    def _add_hole(self, start: int, end: int, max_holes: int) -> None:
        self.starts.append(start)
        self.ends.append(end)
        if len(self.starts) > max_holes:  # give up on the oldest: those numbers are lost
            del self.starts[0], self.ends[0]

    def _fill(self, seq: int) -> bool:
        i = bisect_right(self.starts, seq) - 1
        if i < 0 or seq > self.ends[i]:
            return False
        start, end = self.starts[i], self.ends[i]
        if start == end:
            del self.starts[i], self.ends[i]
        elif seq == start:
            self.starts[i] = seq + 1
        elif seq == end:
            self.ends[i] = seq - 1
        else:
            self.ends[i] = seq - 1
            self.starts.insert(i + 1, seq + 1)
            self.ends.insert(i + 1, end)
        return True


class OrderingTracker:
    """Every (user, stream) pair of a run; totals per stream name across users."""

    def __init__(
        self, recorder: Recorder, *, examples: int = EXAMPLES, max_holes: int = MAX_HOLES
    ) -> None:
        self.recorder = recorder
        self._streams: dict[tuple[str, str], _Stream] = {}
        self._done: dict[str, _Counts] = {}  # per stream name: pairs already forgotten
        self._sources: dict[str, int] = {}  # per stream name: (user, stream) sequences
        self._by_user: dict[str, list[str]] = {}  # user → its open streams (for forget)
        self._examples: list[dict[str, Any]] = []
        self._max_examples = examples
        self._max_holes = max_holes
        self._views: dict[str, UserOrdering] = {}

    def view(self, user_name: str) -> UserOrdering:
        """The handle ``user.ordering`` returns: this tracker, bound to one user."""
        found = self._views.get(user_name)
        if found is None:
            found = self._views[user_name] = UserOrdering(self, user_name)
        return found

    def observe(self, user_name: str, stream: str, seq: int) -> str:
        """``user_name`` received number ``seq`` of ``stream``; returns its kind."""
        key = (user_name, stream)
        state = self._streams.get(key)
        if state is None:
            state = self._streams[key] = _Stream()
            self._sources[stream] = self._sources.get(stream, 0) + 1
            self._by_user.setdefault(user_name, []).append(stream)
        expected = None if state.high is None else state.high + 1
        kind = state.observe(int(seq), self._max_holes)
        if kind != "in_order" and len(self._examples) < self._max_examples:
            self._examples.append(
                {"user": user_name, "stream": stream, "kind": kind, "seq": int(seq),
                 "expected": expected}
            )
        return kind

    def reset(self, user_name: str, stream: str) -> None:
        """The stream restarts for this user (e.g. after a reconnect): what it counted so
        far is kept, and the next number starts it afresh."""
        state = self._streams.pop((user_name, stream), None)
        if state is not None:
            self._done.setdefault(stream, _Counts()).add(state.counts)
            self._by_user[user_name].remove(stream)

    def forget(self, user_name: str) -> None:
        """A user stopped: its counts are folded into the totals, its state dropped."""
        self._views.pop(user_name, None)
        for stream in self._by_user.pop(user_name, ()):
            state = self._streams.pop((user_name, stream))
            self._done.setdefault(stream, _Counts()).add(state.counts)

    def snapshot(self) -> dict[str, Any]:
        """results.json ``ordering``: totals, per stream name, and a few examples."""
        per: dict[str, _Counts] = {}
        for name, counts in self._done.items():
            per.setdefault(name, _Counts()).add(counts)
        for (_, name), state in self._streams.items():
            per.setdefault(name, _Counts()).add(state.counts)
        total = _Counts()
        for counts in per.values():
            total.add(counts)
        streams = {
            name: {**per[name].as_dict(), "sources": self._sources.get(name, 0)}
            for name in sorted(per)
        }
        return {**total.as_dict(), "streams": streams, "examples": list(self._examples)}


class UserOrdering:
    """``user.ordering``: gaps, duplicates and reordering of sequence numbers per stream
    (docs/push-checks.md)::

        kind = user.ordering.observe("chat", message["seq"])  # "in_order", "gap", ...
    """

    __slots__ = ("_tracker", "user_name")

    def __init__(self, tracker: OrderingTracker, user_name: str) -> None:
        self._tracker = tracker
        self.user_name = user_name

    def observe(self, stream: str, seq: int) -> str:
        """This user received number ``seq`` of ``stream``. Returns 'in_order', 'gap',
        'out_of_order' or 'duplicate'."""
        return self._tracker.observe(self.user_name, stream, seq)

    def reset(self, stream: str) -> None:
        """``stream`` starts again from any number (after a reconnect, say)."""
        self._tracker.reset(self.user_name, stream)
