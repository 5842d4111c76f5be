"""``burst(size=B, every=T, count=K)``: B more users at once every T, K times (000's
"burst" connection strategy); the last burst is held for T too."""

from __future__ import annotations

from dataclasses import dataclass

from horde.shapes.plan import MAX_STAGES, Plan, build


@dataclass(frozen=True, slots=True)
class Burst:
    size: int
    every: float
    count: int

    def __post_init__(self) -> None:
        if self.count > MAX_STAGES:
            raise ValueError(f"count={self.count}: at most {MAX_STAGES} bursts")

    def plan(self) -> Plan:
        points = [
            (self.every, self.size * (k + 1), self.size * (k + 1), f"burst {k + 1}")
            for k in range(self.count)
        ]
        return build("burst", "users", points)
