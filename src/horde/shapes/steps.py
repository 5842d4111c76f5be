"""``steps(start=10, increment=50, interval=3m, max=500)``: 003's progressive ramp-up.

Stage 1 runs ``start`` users for ``interval``, each next stage adds ``increment`` until
``max`` is reached; every stage is held for ``interval`` and reported on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from horde.shapes.plan import MAX_STAGES, Plan, build


@dataclass(frozen=True, slots=True)
class Steps:
    start: int
    increment: int
    interval: float
    max: int

    def __post_init__(self) -> None:
        """Refuse what would loop forever (no increment) or build millions of stages."""
        if self.max > self.start:
            if self.increment < 1:
                raise ValueError("increment must be at least 1 to reach max")
            stages = 1 + math.ceil((self.max - self.start) / self.increment)
            if stages > MAX_STAGES:
                raise ValueError(f"{stages} stages: at most {MAX_STAGES}")

    def plan(self) -> Plan:
        points, users, stage = [], self.start, 1
        while True:
            points.append((self.interval, users, users, f"stage {stage}: {users} users"))
            if users >= self.max:
                break
            users = min(users + self.increment, self.max)
            stage += 1
        return build("steps", "users", points)
