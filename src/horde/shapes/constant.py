"""``constant(users=N, duration=30s[, spawn_rate=R])``: ramp up at R users/s, then hold N."""

from __future__ import annotations

from dataclasses import dataclass

from horde.shapes.plan import Plan, build


@dataclass(frozen=True, slots=True)
class Constant:
    users: int
    duration: float
    spawn_rate: float | None = None

    def plan(self) -> Plan:
        rise = self.users / self.spawn_rate if self.spawn_rate else 0.0
        rise = min(rise, self.duration)
        points = [(rise, 0, self.users, "ramp-up")] if rise > 0 else []
        points.append((self.duration - rise, self.users, self.users, "hold"))
        return build("constant", "users", points)
