"""A loaded scenario: its behaviours with weights and its optional hooks."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

UserFn = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Behaviour:
    name: str
    fn: UserFn
    weight: float


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything the engine needs from a scenario file, as plain data."""

    name: str
    behaviours: tuple[Behaviour, ...]
    on_start: UserFn | None = None
    on_stop: UserFn | None = None
    setup: Callable[[Any], Awaitable[Any]] | None = None
    teardown: Callable[[Any, Any], Awaitable[Any]] | None = None
    path: str | None = None
    params_type: type | None = None  # the scenario's Params class, if it declares one
    shape: Callable[[float], float | None] | None = None  # a @horde.shape function
    _cum_weights: tuple[float, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        weights = accumulate(b.weight for b in self.behaviours)
        object.__setattr__(self, "_cum_weights", tuple(weights))

    def pick(self, rng: random.Random) -> Behaviour:
        """A behaviour chosen by weight (no randomness spent when there is only one)."""
        if len(self.behaviours) == 1:
            return self.behaviours[0]
        return rng.choices(self.behaviours, cum_weights=self._cum_weights)[0]
