"""Timing one streamed reply: first chunk, gaps, stalls, total, and how it ended.

A transport makes a :class:`StreamMeter` when a stream starts (message sent, request
written), calls :meth:`StreamMeter.add_chunk` from its receive callback — so a chunk's time
is when it arrived, not when the scenario's task got round to it — and
:meth:`StreamMeter.finish` once, which records the totals and returns the
:class:`StreamResult` the scenario gets.

Samples, per stream ``name``: ``stream_first`` (start → first chunk), ``stream_gap`` (each
chunk → the next), ``stream_total`` (start → last chunk, completed streams only: a timed-out
stream's "total" is just its timeout), counters ``stream_chunks``, ``stream_stalls`` (a gap
longer than ``stall_after``) and ``stream_incomplete``. The ``streams`` section of
results.json (:mod:`horde.streams.section`) tallies the same streams by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any

from horde.metrics.names import (
    STREAM_CHUNKS,
    STREAM_FIRST,
    STREAM_GAP,
    STREAM_INCOMPLETE,
    STREAM_STALLS,
    STREAM_TOTAL,
)
from horde.metrics.recorder import Recorder
from horde.streams.section import tracker_for

__all__ = ["DEFAULT_STALL_AFTER", "StreamMeter", "StreamResult"]

DEFAULT_STALL_AFTER = 5.0  # seconds of silence between two chunks that count as a stall
COMPLETED, TIMEOUT, CLOSED = "completed", "timeout", "closed"


@dataclass(slots=True)
class StreamResult:
    """What one streamed reply looked like, for the scenario to check.

    ``completed`` is False when the stream ended early; ``reason`` then says why
    (``"timeout"`` or ``"closed"``). ``first_chunk_ms`` is None when no chunk came.
    ``response`` is the HTTP response head (status, headers; the body went to ``chunks``)
    for HTTP streams, else None.
    """

    name: str
    chunks: list[Any] = field(default_factory=list)
    first_chunk_ms: float | None = None
    total_ms: float = 0.0
    gaps_ms: list[float] = field(default_factory=list)
    stalls: int = 0
    completed: bool = False
    reason: str = COMPLETED
    response: Any = None

    @property
    def last(self) -> Any:
        """The last chunk (the one ``until`` accepted, for a completed stream), or None."""
        return self.chunks[-1] if self.chunks else None


class StreamMeter:
    """Times one stream into a :class:`Recorder`; single use."""

    __slots__ = ("_last_ns", "_recorder", "_stall_ns", "chunks", "first_ns", "gaps_ns",
                 "name", "stalls", "started_ns")

    def __init__(self, recorder: Recorder, name: str,
                 stall_after: float = DEFAULT_STALL_AFTER) -> None:
        """Starts the clock now: make it right before sending what asks for the stream."""
        self._recorder = recorder
        self._stall_ns = int(stall_after * 1e9)
        self.name = name
        self.chunks: list[Any] = []
        self.gaps_ns: list[int] = []
        self.stalls = 0
        self.started_ns = self._last_ns = perf_counter_ns()
        self.first_ns = 0

    def add_chunk(self, chunk: Any, at_ns: int = 0) -> None:
        """One chunk arrived (now, or at ``at_ns`` on the perf_counter_ns clock)."""
        now = at_ns or perf_counter_ns()
        if now < self._last_ns:  # queued before the stream started: it came "at once"
            now = self._last_ns
        recorder = self._recorder
        if not self.chunks:
            self.first_ns = now
            recorder.latency(STREAM_FIRST, self.name, (now - self.started_ns) // 1000)
        else:
            gap = now - self._last_ns
            self.gaps_ns.append(gap)
            recorder.latency(STREAM_GAP, self.name, gap // 1000)
            if gap > self._stall_ns:
                self.stalls += 1
                recorder.count(STREAM_STALLS, self.name)
        self.chunks.append(chunk)
        self._last_ns = now

    def finish(self, reason: str = COMPLETED, response: Any = None) -> StreamResult:
        """Record how the stream ended and hand back its :class:`StreamResult`."""
        completed = reason == COMPLETED
        recorder = self._recorder
        end = self._last_ns if completed else perf_counter_ns()
        total_ns = end - self.started_ns
        n = len(self.chunks)
        recorder.count(STREAM_CHUNKS, self.name, n)
        # Present even at 0, so a threshold like ``counters.stream_stalls:NAME < 1`` has a
        # value to compare (a counter never counted is absent from results.json).
        recorder.count(STREAM_STALLS, self.name, 0)
        if completed:
            recorder.latency(STREAM_TOTAL, self.name, total_ns // 1000)
        else:
            recorder.count(STREAM_INCOMPLETE, self.name)
        tracker_for(recorder).add(self.name, reason, n, self.stalls)
        return StreamResult(
            name=self.name,
            chunks=self.chunks,
            first_chunk_ms=(self.first_ns - self.started_ns) / 1e6 if n else None,
            total_ms=total_ns / 1e6,
            gaps_ms=[g / 1e6 for g in self.gaps_ns],
            stalls=self.stalls,
            completed=completed,
            reason=reason,
            response=response,
        )
