"""A loaded scenario: its behaviours with weights, its hooks, and its roles.

Each role gets a :class:`Program` — the behaviours and hooks its users run — chosen once
when the scenario is made, so the per-iteration path is a dict-free ``program.pick``.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from horde.coordination.roles import Cast

UserFn = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Behaviour:
    name: str
    fn: UserFn
    weight: float
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Program:
    """What the users of one role do: their behaviours (by weight) and hooks."""

    behaviours: tuple[Behaviour, ...]
    on_start: UserFn | None = None
    on_stop: UserFn | None = None
    _cum_weights: tuple[float, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        weights = accumulate(b.weight for b in self.behaviours)
        object.__setattr__(self, "_cum_weights", tuple(weights))

    def pick(self, rng: random.Random) -> Behaviour:
        """A behaviour chosen by weight (no randomness spent when there is only one)."""
        if len(self.behaviours) == 1:
            return self.behaviours[0]
        return rng.choices(self.behaviours, cum_weights=self._cum_weights)[0]


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
    cast: tuple[Cast, ...] = ()  # ROLES: roles and groups, in start order
    role_hooks: Mapping[tuple[str, str], UserFn] = field(default_factory=dict)  # (kind, role)
    thresholds: tuple[str, ...] = ()  # THRESHOLDS: used when a run gives none
    options: Mapping[str, Any] = field(default_factory=dict)  # OPTIONS, as RunConfig values
    hook_timeouts: Mapping[str, float] = field(default_factory=dict)  # "setup"/"teardown"
    _programs: dict[str | None, Program] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        roles: set[str | None] = {None}
        for entry in self.cast:
            roles.update(getattr(entry, "roles", (entry.name,)))
        for role in roles:
            self._programs[role] = self._program_for(role)

    def _program_for(self, role: str | None) -> Program:
        own = tuple(b for b in self.behaviours if role is not None and b.role == role)
        unmarked = tuple(b for b in self.behaviours if b.role is None)
        return Program(
            own or unmarked,
            self.role_hooks.get(("on_start", role or "")) or self.on_start,
            self.role_hooks.get(("on_stop", role or "")) or self.on_stop,
        )

    def program(self, role: str | None = None) -> Program:
        """The behaviours and hooks a user of ``role`` (``None``: no roles) runs."""
        return self._programs[role]

    def pick(self, rng: random.Random) -> Behaviour:
        """A behaviour of a role-less user, by weight."""
        return self._programs[None].pick(rng)
