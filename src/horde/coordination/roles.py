"""Roles and groups a scenario declares, and the roster they make for one run.

A scenario lists them in ``ROLES``, in the order they are started::

    ROLES = (
        horde.role("dashboard", count=1),
        horde.group("team", count="teams", roles=("creator", "joiner")),
    )

A *role* is ``count`` users that act alone; a *group* is ``count`` groups whose members
(one per entry of ``roles``) are started, stopped and reported together. A count is a
number, the name of a scenario parameter (``"teams"``: ``--param teams=100``), or a
function of the parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from horde.errors import ScenarioError

Count = int | str | Callable[[Any], int]


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    count: Count = 1


@dataclass(frozen=True, slots=True)
class GroupSpec:
    name: str
    count: Count
    roles: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.roles)


Cast = Role | GroupSpec


def role(name: str, count: Count = 1) -> Role:
    """``count`` users of role ``name``, each acting alone."""
    return Role(name, count)


def group(
    name: str,
    count: Count,
    roles: Sequence[str] | None = None,
    *,
    size: int | None = None,
    role: str | None = None,
) -> GroupSpec:
    """``count`` groups named ``name``; each has one member per entry of ``roles`` — or
    ``size`` members all of role ``role`` (default: the group's name)."""
    if roles is None:
        if size is None:
            raise ScenarioError(f"group {name!r}: give roles=(...) or size=N")
        roles = (role or name,) * size
    if not roles:
        raise ScenarioError(f"group {name!r}: a group needs at least one member")
    return GroupSpec(name, count, tuple(roles))


@dataclass(frozen=True, slots=True)
class Slot:
    """One user of the roster: its role, and for a group member which group and place."""

    role: str
    group: GroupSpec | None = None
    group_index: int = 0
    member: int = 0

    @property
    def first_member(self) -> bool:
        return self.group is not None and self.member == 0


class Roster:
    """Every user a run will start, in order: each role's users, each group's members."""

    def __init__(self, cast: Sequence[Cast], params: Any) -> None:
        self.cast = tuple(cast)
        self.counts = {c.name: resolve_count(c, params) for c in self.cast}
        self.slots = tuple(self._slots())

    def _slots(self) -> list[Slot]:
        slots: list[Slot] = []
        for entry in self.cast:
            for index in range(self.counts[entry.name]):
                if isinstance(entry, Role):
                    slots.append(Slot(entry.name))
                else:
                    slots.extend(
                        Slot(r, entry, index, member) for member, r in enumerate(entry.roles)
                    )
        return slots

    @property
    def size(self) -> int:
        return len(self.slots)

    def role_names(self) -> set[str]:
        names: set[str] = set()
        for entry in self.cast:
            names.update(entry.roles if isinstance(entry, GroupSpec) else (entry.name,))
        return names

    def groups(self) -> tuple[GroupSpec, ...]:
        return tuple(c for c in self.cast if isinstance(c, GroupSpec))


def resolve_count(entry: Cast, params: Any) -> int:
    """The entry's count as a number: a parameter's value or a function's result."""
    count = entry.count
    if isinstance(count, str):
        if not hasattr(params, count):
            raise ScenarioError(f"{entry.name}: count {count!r} is not a scenario parameter")
        count = getattr(params, count)
    elif callable(count):
        count = count(params)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ScenarioError(f"{entry.name}: count must be a whole number >= 0, got {count!r}")
    return count


def check_cast(cast: object, where: str) -> tuple[Cast, ...]:
    """``ROLES`` as the loader finds it: a sequence of role()/group() with unique names."""
    if not isinstance(cast, list | tuple) or not all(isinstance(c, Role | GroupSpec) for c in cast):
        raise ScenarioError(f"{where}: ROLES must be a tuple of horde.role(...)/horde.group(...)")
    names = [c.name for c in cast]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScenarioError(f"{where}: ROLES names {', '.join(dupes)} more than once")
    return tuple(cast)
