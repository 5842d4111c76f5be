"""The ``streams`` section of results.json: every stream of the run, tallied by name.

Registered with :meth:`Recorder.add_section` the first time a recorder sees a stream, so a
run without streams has no such section. Latency percentiles stay in ``metrics``
(``stream_first:NAME``, ``stream_total:NAME``, ``stream_gap:NAME``); this adds what a
histogram cannot say: how many streams completed, why the others did not, chunk counts
and stalls. A threshold reads it by path, e.g. ``streams.answer.stalls < 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from horde.metrics.recorder import Recorder

__all__ = ["StreamTracker", "tracker_for"]


@dataclass(slots=True)
class _Tally:
    count: int = 0
    completed: int = 0
    incomplete: dict[str, int] = field(default_factory=dict)
    chunks: int = 0
    max_chunks: int = 0
    stalls: int = 0
    unfinished: int = 0  # cut off by the end of the run: neither completed nor failed


class StreamTracker:
    """Counts finished streams per name for one recorder (one run, one event loop)."""

    __slots__ = ("_tallies",)

    def __init__(self) -> None:
        self._tallies: dict[str, _Tally] = {}

    def add(self, name: str, reason: str, chunks: int, stalls: int) -> None:
        tally = self._tallies.get(name)
        if tally is None:
            tally = self._tallies[name] = _Tally()
        if reason == "unfinished":
            tally.unfinished += 1
            return
        tally.count += 1
        if reason == "completed":
            tally.completed += 1
        else:
            tally.incomplete[reason] = tally.incomplete.get(reason, 0) + 1
        tally.chunks += chunks
        tally.max_chunks = max(tally.max_chunks, chunks)
        tally.stalls += stalls

    def report(self) -> dict[str, Any]:
        """``{name: {count, completed, incomplete: {reason: n}, chunks: {...}, stalls,
        unfinished}}``: ``count`` streams ended, ``unfinished`` were cut off at the end."""
        return {
            name: {
                "count": t.count,
                "completed": t.completed,
                "incomplete": dict(sorted(t.incomplete.items())),
                "chunks": {
                    "total": t.chunks,
                    "mean": round(t.chunks / t.count, 2) if t.count else 0.0,
                    "max": t.max_chunks,
                },
                "stalls": t.stalls,
                "unfinished": t.unfinished,
            }
            for name, t in sorted(self._tallies.items())
        }


_TRACKERS: WeakKeyDictionary[Recorder, StreamTracker] = WeakKeyDictionary()


def tracker_for(recorder: Recorder) -> StreamTracker:
    """The recorder's stream tracker, made and registered as a section on first use."""
    tracker = _TRACKERS.get(recorder)
    if tracker is None:
        tracker = _TRACKERS[recorder] = StreamTracker()
        recorder.add_section("streams", tracker.report)
    return tracker
