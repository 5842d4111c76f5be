"""``burst(size=B, every=T, count=K)``: B more users at once every T, K times (000's
"burst" connection strategy); the last burst is held for T too."""

from __future__ import annotations

from dataclasses import dataclass

from horde.shapes.plan import Plan, build


@dataclass(frozen=True, slots=True)
class Burst:
    size: int
    every: float
    count: int

    def plan(self) -> Plan:
        points = [
            (self.every, self.size * (k + 1), self.size * (k + 1), f"burst {k + 1}")
            for k in range(self.count)
        ]
        return build("burst", "users", points)
