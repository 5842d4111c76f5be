"""Connection strategies (000): how a fixed population of users connects.

``--connect gradual(rate=20)`` starts 20 users per second; ``burst(size=10, every=1s)``
starts them in batches of 10, one batch per second; ``immediate`` starts all at once.
Each turns the run's user count (``--users``, or a scenario's roster) and duration into
a plan, like a load shape — but the population comes from the run, not the spec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from horde.errors import ConfigError
from horde.shapes.constant import Constant
from horde.shapes.plan import Plan, build
from horde.shapes.registry import build_from_args, split_spec


class Strategy(Protocol):
    def plan(self, users: int, duration: float) -> Plan: ...


@dataclass(frozen=True, slots=True)
class Gradual:
    rate: float

    def plan(self, users: int, duration: float) -> Plan:
        return _named("gradual", Constant(users, duration, self.rate).plan())


@dataclass(frozen=True, slots=True)
class Batches:
    size: int
    every: float = 1.0

    def plan(self, users: int, duration: float) -> Plan:
        batches = max(math.ceil(users / self.size), 1)
        points: list[tuple[float, float, float, str]] = []
        elapsed = 0.0
        for k in range(batches):
            value = min(self.size * (k + 1), users)
            step = self.every if k < batches - 1 else max(duration - elapsed, 0.0)
            step = min(step, max(duration - elapsed, 0.0))
            points.append((step, value, value, f"batch {k + 1}"))
            elapsed += step
        return build("burst", "users", points)


@dataclass(frozen=True, slots=True)
class Immediate:
    def plan(self, users: int, duration: float) -> Plan:
        return _named("immediate", Constant(users, duration).plan())


STRATEGIES: dict[str, type] = {"gradual": Gradual, "burst": Batches, "immediate": Immediate}


def parse_connect(spec: str) -> Strategy:
    name, args = split_spec(spec, "connection strategy")
    cls = STRATEGIES.get(name)
    if cls is None:
        raise ConfigError(
            f"unknown connection strategy {name!r}; choose from: {', '.join(STRATEGIES)}"
        )
    strategy = build_from_args(spec, cls, args)
    if getattr(strategy, "rate", 1) <= 0 or getattr(strategy, "size", 1) < 1:
        raise ConfigError(f"bad connection strategy {spec!r}: rate and size must be > 0")
    return strategy


def _named(name: str, plan: Plan) -> Plan:
    return Plan(name, plan.unit, plan.segments, plan.max_concurrent)
