"""``arrival-rate(rate=R, duration=T[, to=R2, max_concurrent=C])``: the open model.

New sessions (a user's start, one iteration, stop) begin at R per second, or ramp from R
to R2, whether or not earlier ones have finished — at most C at a time. Sessions that
could not start on time because C were busy are counted, not silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from horde.shapes.plan import Plan, build


@dataclass(frozen=True, slots=True)
class ArrivalRate:
    rate: float
    duration: float
    to: float | None = None
    max_concurrent: int = 1000

    def plan(self) -> Plan:
        end = self.rate if self.to is None else self.to
        plan = build("arrival-rate", "sessions/s", [(self.duration, self.rate, end, "arrivals")])
        return replace(plan, max_concurrent=self.max_concurrent)
