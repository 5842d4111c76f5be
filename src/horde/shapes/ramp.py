"""``ramp(to=N, over=T[, start=0, hold=0s])``: from ``start`` to N users over T, then hold."""

from __future__ import annotations

from dataclasses import dataclass

from horde.shapes.plan import Plan, build


@dataclass(frozen=True, slots=True)
class Ramp:
    to: int
    over: float
    start: int = 0
    hold: float = 0.0

    def plan(self) -> Plan:
        points = [(self.over, self.start, self.to, "ramp")]
        if self.hold > 0:
            points.append((self.hold, self.to, self.to, "hold"))
        return build("ramp", "users", points)
