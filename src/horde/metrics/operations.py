"""Operations: every exchange a user times, and how each one ended.

An *operation* is one HTTP request, WebSocket request→reply, Socket.IO ack or emit→reply
event, stream, SSE subscription, ``user.timer``/``user.record`` timing or connect. Each has
a kind and a name, a start (and, for paced work, an intended start), an end, the bytes it
carried, and exactly one outcome:

- ``ok``: it got its answer; its latency is in the histogram of its metric;
- ``failed``: it got a wrong answer (an HTTP error status: its latency is kept), or none
  (a timeout, a drop, a refused connect), counted under an error category and detail;
- ``unfinished``: the run (or the retirement of its user) cut it off before it ended.

Requests/s, in-flight, ``errors.rate`` (failed ÷ finished), the per-stage latencies, the
analysis, ``horde runs`` and ``horde compare`` all read these outcomes, so nothing a user
timed can be missing from the headline figures.

An :class:`Operation` is made by :meth:`Recorder.begin <horde.metrics.recorder.Recorder.begin>`
when it starts and ended by the transport's own callback when the answer's frame is parsed,
so the event loop's delay before the waiting coroutine resumes is not in its latency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from horde.errors import TargetError
from horde.metrics import names

OK, FAILED, UNFINISHED = "ok", "failed", "unfinished"

# metric → kind: the metric is what a threshold names (p95(ws_reply)), the kind groups them.
# An HTTP connect (http_connect) is no operation of its own: it is a part of the request
# (or stream, or SSE connect) that needed it, which fails by its failure. Counted apart, a
# refused request was two failed operations, and the ok connect of each request a server
# refused (403) made every failed request read as half the error rate.
KINDS: dict[str, str] = {
    names.HTTP_REQ: "http",
    names.WS_REPLY: "ws_request",
    names.SIO_ACK: "sio_ack",
    names.SIO_REPLY: "sio_request",
    names.STREAM_TOTAL: "stream",
    names.USER_TIMER: "timer",
    names.WS_CONNECT: "connect",
    names.SIO_CONNECT: "connect",
    names.SSE_CONNECT: "connect",
}
OPERATION_METRICS = frozenset(KINDS)
CONNECT_METRICS = frozenset(m for m, kind in KINDS.items() if kind == "connect")
EXCHANGE_METRICS = OPERATION_METRICS - CONNECT_METRICS
"""The operations whose latencies the per-second and per-stage figures merge: everything
but connects, whose latency is a different quantity (shown on its own)."""


class Operation:
    """One operation in flight; the recorder fills in its end and outcome exactly once.

    Not a frozen dataclass: it is made on the hot path (a slotted class costs a third of
    one), and its end is written by the callback that parsed the answer.
    """

    __slots__ = ("end_ns", "intended_ns", "metric", "name", "outcome", "received", "sent",
                 "start_ns")

    def __init__(self, metric: str, name: str | None, start_ns: int, intended_ns: int) -> None:
        self.metric = metric
        self.name = name
        self.start_ns = start_ns
        self.intended_ns = intended_ns  # 0: the same as start_ns (see ``intended``)
        self.end_ns = self.sent = self.received = 0
        self.outcome: str | None = None

    @property
    def intended(self) -> int:
        """When it should have started: paced work that ran late started after this."""
        return self.intended_ns or self.start_ns

    @property
    def kind(self) -> str:
        return KINDS.get(self.metric, self.metric)

    def __repr__(self) -> str:
        label = self.metric if self.name is None else f"{self.metric}:{self.name}"
        return f"<Operation {label} {self.outcome or 'in flight'}>"


Failure = tuple[str, str | None]  # (error category, detail)


@dataclass(slots=True)
class Outcomes:
    """How the operations of one (metric, name) ended, in a window or over the run.

    Iterations (``iteration:BEHAVIOUR``) are tallied the same way, though they are not
    operations: an iteration that raised is ``failed``, one cut off is ``unfinished``.
    """

    ok: int = 0
    failed: int = 0
    unfinished: int = 0
    failures: dict[Failure, int] = field(default_factory=dict)
    sent: int = 0
    received: int = 0

    @property
    def finished(self) -> int:
        return self.ok + self.failed

    def add_failure(self, failure: Failure) -> None:
        self.failed += 1
        self.failures[failure] = self.failures.get(failure, 0) + 1

    def merge(self, other: Outcomes) -> None:
        self.ok += other.ok
        self.failed += other.failed
        self.unfinished += other.unfinished
        self.sent += other.sent
        self.received += other.received
        for failure, n in other.failures.items():
            self.failures[failure] = self.failures.get(failure, 0) + n


def failure_of(exc: BaseException) -> Failure:
    """The (category, detail) an exception is counted under: a target error's own, else
    the scenario's (``scenario_exception`` with the exception's type)."""
    if isinstance(exc, TargetError):
        return exc.category, exc.detail
    return "scenario_exception", type(exc).__name__
