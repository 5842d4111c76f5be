"""``steps(start=10, increment=50, interval=3m, max=500)``: 003's progressive ramp-up.

Stage 1 runs ``start`` users for ``interval``, each next stage adds ``increment`` until
``max`` is reached; every stage is held for ``interval`` and reported on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from horde.shapes.plan import Plan, build


@dataclass(frozen=True, slots=True)
class Steps:
    start: int
    increment: int
    interval: float
    max: int

    def plan(self) -> Plan:
        points, users, stage = [], self.start, 1
        while True:
            points.append((self.interval, users, users, f"stage {stage}: {users} users"))
            if users >= self.max:
                break
            users = min(users + self.increment, self.max)
            stage += 1
        return build("steps", "users", points)
