"""``stages(30s:100, 1m:100, 30s:0)``: a sequence, each stage moving linearly to its
target user count over its duration (k6's ``stages``, Artillery's phases)."""

from __future__ import annotations

from dataclasses import dataclass

from horde.shapes.plan import Plan, build


@dataclass(frozen=True, slots=True)
class Stages:
    stages: tuple[tuple[float, int], ...]

    def plan(self) -> Plan:
        points, current = [], 0
        for i, (duration, target) in enumerate(self.stages, 1):
            points.append((duration, current, target, f"stage {i}"))
            current = target
        return build("stages", "users", points)
