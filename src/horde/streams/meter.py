"""Timing one streamed reply: first chunk, gaps, stalls, rate, total, and how it ended.

A transport makes a :class:`StreamMeter` when a stream starts (message sent, request
written) — which begins its operation (``stream_total``, see
:mod:`horde.metrics.operations`) — calls :meth:`StreamMeter.add_chunk` from its receive
callback, so a chunk's time is when it arrived, not when the scenario's task got round to
it, :meth:`StreamMeter.end_at` when a closing control message ends the stream without
being a chunk, and :meth:`StreamMeter.finish` once, which ends the operation and returns
the :class:`StreamResult` the scenario gets.

Samples, per stream ``name``: ``stream_first`` (start → first chunk, or the first one a
``first`` predicate accepts), ``stream_gap`` (each chunk → the next), ``stream_total``
(start → the end: completed streams only; a timed-out stream's "total" is just its
timeout), counters ``stream_chunks``, ``stream_stalls`` (a gap longer than
``stall_after``) and ``stream_incomplete``; and per completed stream two values (not
times, see :mod:`horde.metrics.values`): ``stream_rate:NAME`` (chunks/s from the first
chunk to the last, higher is better) and ``stream_chunks:NAME`` (chunks in the answer).
The ``streams`` section of results.json (:mod:`horde.streams.section`) tallies the same
streams by name and reason.

Each chunk's arrival is kept as one 8-byte int (ns after the start) in an ``array``: a
1,000-token answer costs 8 KB, not a list of floats.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from time import perf_counter_ns
from typing import Any

from horde.errors import AppError, OperationTimeoutError, TargetError, UsageError
from horde.metrics.names import (
    STREAM_CHUNKS,
    STREAM_FIRST,
    STREAM_GAP,
    STREAM_INCOMPLETE,
    STREAM_RATE,
    STREAM_STALLS,
    STREAM_TOTAL,
)
from horde.metrics.operations import failure_of
from horde.metrics.recorder import Recorder
from horde.metrics.values import ValueSpec
from horde.streams.section import tracker_for

__all__ = ["DEFAULT_STALL_AFTER", "StreamMeter", "StreamResult", "clock_start"]

DEFAULT_STALL_AFTER = 5.0  # seconds of silence between two chunks that count as a stall
COMPLETED, TIMEOUT, CLOSED, FAILED = "completed", "timeout", "closed", "failed"
"""How a stream ended: all of it arrived; the timeout struck first; the connection went
away mid-answer; or there was no answer to stream (a refused connect, an error status)."""

RATE_SPEC = ValueSpec("chunks/s", "higher")
SIZE_SPEC = ValueSpec("chunks", None)


@dataclass(slots=True)
class StreamResult:
    """What one streamed reply looked like, for the scenario to check.

    ``completed`` is False when the stream ended early; ``reason`` then says why
    (``"timeout"``, ``"closed"`` or ``"failed"``) and ``error`` names the error it was
    counted under (``"timeout"``, ``"closed_by_peer:1006"``, ``"http_404"``,
    ``"connection_refused"``). ``first_chunk_ms`` is start → the first chunk (the first
    one ``first`` accepted, if given); None when none came. ``arrivals_ms`` holds each
    chunk's arrival, in ms after the start; ``rate`` is chunks per second from the first
    chunk to the last (None with fewer than two). ``response`` is the HTTP response head
    (status, headers; the body went to ``chunks``, or to ``response.body`` for an error
    status) for HTTP streams, else None. ``message`` is the error's text (a timeout's says
    how many chunks had arrived).
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
    error: str | None = None
    message: str | None = None
    arrivals_ms: list[float] = field(default_factory=list)
    rate: float | None = None
    _exc: BaseException | None = field(default=None, repr=False, compare=False)

    @property
    def last(self) -> Any:
        """The last chunk (the one ``until`` accepted, for a completed stream), or None."""
        return self.chunks[-1] if self.chunks else None

    def raise_for_status(self) -> StreamResult:
        """End the scenario's step when the stream did not complete: raises the error it
        was counted under (a :class:`~horde.errors.TargetError`, never counted again), so
        the iteration fails — and a user whose connection was dropped starts over.
        Returns the result itself when it completed, so calls can be chained."""
        if self.completed or self._exc is None:
            return self
        raise self._exc


class StreamMeter:
    """Times one stream into a :class:`Recorder`; single use."""

    __slots__ = ("_failed_as", "_failed_example", "_first", "_first_index", "_last_ns",
                 "_pinned", "_recorder", "_stall_ns", "arrivals", "chunks", "end_ns", "first_ns",
                 "name", "op", "stalls", "started_ns")

    def __init__(self, recorder: Recorder, name: str,
                 stall_after: float = DEFAULT_STALL_AFTER,
                 first: Callable[[Any], bool] | None = None,
                 started_at: float | None = None) -> None:
        """Starts the clock now: make it right before sending what asks for the stream —
        or at ``started_at``, a ``time.perf_counter()`` reading taken earlier, when an
        earlier request asked for it (see :func:`clock_start`). ``first`` picks the chunk
        that counts as the first (e.g. the first with content, not a role-only one);
        chunks before it still count as chunks and gaps."""
        self._recorder = recorder
        self._stall_ns = int(stall_after * 1e9)
        self._first = first
        self._first_index = -1  # the index of the first chunk (``first`` accepted), if any
        self.name = name
        self.chunks: list[Any] = []
        self.arrivals = array("q")  # each chunk's arrival, ns after started_ns
        self.stalls = 0
        self._pinned = started_at is not None
        self.op = recorder.begin(STREAM_TOTAL, name, clock_start(started_at))
        self.started_ns = self._last_ns = self.op.start_ns
        self.first_ns = 0
        self.end_ns = 0
        self._failed_as: str | None = None  # the error status it failed with, if any
        self._failed_example = ""

    def restart(self) -> None:
        """Start the clock again (a retry on a fresh connection, nothing received yet),
        unless the scenario set the start: the retry is then part of what it waited."""
        if self._pinned:
            return
        self.started_ns = self._last_ns = self.op.start_ns = perf_counter_ns()

    def add_chunk(self, chunk: Any, at_ns: int = 0) -> None:
        """One chunk arrived (now, or at ``at_ns`` on the perf_counter_ns clock)."""
        now = at_ns or perf_counter_ns()
        if now < self._last_ns:  # queued before the stream started: it came "at once"
            now = self._last_ns
        recorder = self._recorder
        if self.chunks:
            gap = now - self._last_ns
            recorder.latency(STREAM_GAP, self.name, gap // 1000)
            if gap > self._stall_ns:
                self.stalls += 1
                recorder.count(STREAM_STALLS, self.name)
        if self._first_index < 0 and (self._first is None or self._first(chunk)):
            self._first_index = len(self.chunks)
            self.first_ns = now
            recorder.latency(STREAM_FIRST, self.name, (now - self.started_ns) // 1000)
        self.arrivals.append(now - self.started_ns)
        self.chunks.append(chunk)
        self._last_ns = now

    def count(self, metric: str, n: int = 1) -> None:
        """Count ``n`` under ``metric`` and this stream's name (e.g. the SSE events an HTTP
        stream parsed: messages received, as a feed's are)."""
        self._recorder.count(metric, self.name, n)

    def timeout_message(self) -> str:
        """What a timeout of this stream says: how many chunks had arrived by then."""
        n = len(self.chunks)
        return f"stream {self.name!r} not over in time: {n} chunk{'' if n == 1 else 's'} " \
               "had arrived"

    def end_at(self, at_ns: int = 0) -> None:
        """The stream's end arrived (a closing control message): not a chunk, no gap."""
        self.end_ns = max(at_ns or perf_counter_ns(), self._last_ns)

    def rate(self) -> float | None:
        """Chunks per second from the first chunk to the last: the chunks after the first
        over the time they took (None with fewer than two, or all at once)."""
        i = self._first_index
        if i < 0 or len(self.arrivals) - i < 2:
            return None
        span = self.arrivals[-1] - self.arrivals[i]
        return (len(self.arrivals) - 1 - i) * 1e9 / span if span > 0 else None

    def finish(self, reason: str = COMPLETED, response: Any = None,
               error: BaseException | None = None) -> StreamResult:
        """End the stream's operation — ok when ``reason`` is completed, else failed by
        ``error`` (counted once) — and hand back its :class:`StreamResult`."""
        completed = reason == COMPLETED
        recorder = self._recorder
        n = len(self.chunks)
        end = (self.end_ns or (self._last_ns if n else perf_counter_ns())) if completed \
            else perf_counter_ns()
        label = message = None
        rate = self.rate()
        if completed:
            recorder.succeed(self.op, end)
            recorder.value(f"{STREAM_CHUNKS}:{self.name}", n, SIZE_SPEC)
            if rate is not None:
                recorder.value(f"{STREAM_RATE}:{self.name}", rate, RATE_SPEC)
        else:
            error = error or self._status_error()
            label, message = self._fail(error), str(error)
            if isinstance(error, TargetError):
                error.recorded = True  # counted above: raise_for_status never counts it again
        recorder.count(STREAM_CHUNKS, self.name, n)
        # Present even at 0, so a threshold like ``counters.stream_stalls:NAME < 1`` has a
        # value to compare (a counter never counted is absent from results.json).
        recorder.count(STREAM_STALLS, self.name, 0)
        if not completed:
            recorder.count(STREAM_INCOMPLETE, self.name)
        tracker_for(recorder).add(self.name, reason, n, self.stalls)
        arrivals = [a / 1e6 for a in self.arrivals]
        return StreamResult(
            name=self.name,
            chunks=self.chunks,
            first_chunk_ms=(self.first_ns - self.started_ns) / 1e6 if self.first_ns else None,
            total_ms=(end - self.started_ns) / 1e6,
            gaps_ms=[b - a for a, b in pairwise(arrivals)],
            stalls=self.stalls,
            completed=completed,
            reason=reason,
            response=response,
            error=label,
            message=message,
            arrivals_ms=arrivals,
            rate=rate,
            _exc=error,
        )

    def _status_error(self) -> TargetError:
        """The error a stream failed by an answer (:meth:`fail_status`) stands for."""
        error = TargetError(self._failed_example or "stream ended early")
        if self._failed_as is not None:
            error.category = self._failed_as
        return error

    def fail_status(self, category: str, example: str) -> None:
        """The answer was an error status: the stream failed under ``category`` (counted
        once here); :meth:`finish` with ``FAILED`` then only reports it."""
        self._recorder.fail_answered(self.op, category, 0, example, latency=False)
        self._failed_as, self._failed_example = category, example

    def interrupt(self, exc: BaseException) -> None:
        """Something other than the target ended the stream: a cancellation leaves it
        unfinished, a scenario exception (a broken predicate) fails it."""
        self._recorder.end(self.op, exc)
        tracker_for(self._recorder).add(self.name, FAILED if self.op.outcome == "failed"
                                        else "unfinished", len(self.chunks), self.stalls)

    def _fail(self, error: BaseException) -> str:
        """Fail the operation by ``error`` (unless :meth:`fail_status` already did)."""
        if self._failed_as is not None:
            return self._failed_as
        self._recorder.fail(self.op, error)
        category, detail = failure_of(error)
        return f"{category}:{detail}" if detail else category


def clock_start(started_at: float | None) -> int:
    """``started_at`` (a ``time.perf_counter()`` reading, or None: now) on the recorder's
    ``perf_counter_ns`` clock. A start later than now is no perf_counter() reading —
    most likely ``time.time()`` — and would time every chunk as negative: refused."""
    if started_at is None:
        return 0
    now = perf_counter_ns()
    ns = int(started_at * 1e9)
    if ns > now + 1000:  # a float's rounding, not a wrong clock
        raise UsageError(f"started_at={started_at!r} is later than now: give a "
                         "time.perf_counter() reading taken before the request that asked "
                         "for the stream")
    return min(ns, now) or 1  # 0 means "now" to the recorder


def reason_for(exc: TargetError, *, sent: bool) -> str:
    """How a stream that raised ``exc`` ended: a timeout, a drop after the request was sent
    (closed mid-answer), or no stream at all (``failed``: also an application's error
    event or message in its place)."""
    if isinstance(exc, OperationTimeoutError):
        return TIMEOUT
    return CLOSED if sent and not isinstance(exc, AppError) else FAILED
