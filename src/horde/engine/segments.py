"""Segments: each worker's fixed share of the run's plan (k6's execution segments).

A run on ``W`` workers gives worker ``k`` every ``W``-th *unit* of the plan, starting at
``k``: a unit is one user (by its index in the run), one open-model arrival (by its place
in the arrival schedule), or, with ``ROLES``, one whole group or one solo user — so a
group is never split across workers, and a role with count 1 lives on exactly one.

Because each worker follows the whole plan and starts only its own units, the shares add
up to the plan at every moment: when the plan wants ``n`` users, the workers hold
``share(n)`` each, and those sum to ``n`` (a group counts from its first member). User
indices are the run's, so ``user.id`` stays unique and ``--seed`` reproducible whatever the
number of workers. One worker (``Segment()``) owns everything: today's single process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from horde.coordination.roles import GroupSpec, Roster, Slot


@dataclass(frozen=True, slots=True)
class Segment:
    """Worker ``index`` of ``count``: the units ``index``, ``index + count``, ..."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"segment {self.index} of {self.count}")

    @property
    def whole(self) -> bool:
        """The single-process run: every unit is this worker's."""
        return self.count == 1

    def owns(self, unit: int) -> bool:
        """Whether unit number ``unit`` (a user, an arrival) is this worker's."""
        return unit % self.count == self.index

    def share(self, n: int) -> int:
        """How many of the first ``n`` units are this worker's."""
        return max(0, -(-(n - self.index) // self.count))

    def global_index(self, local: int) -> int:
        """The run-wide index of this worker's ``local``-th unit."""
        return self.index + local * self.count

    def split(self, total: int) -> int:
        """This worker's part of a whole-number budget (a concurrency cap): the parts of
        all workers add up to ``total``."""
        return total // self.count + (1 if self.index < total % self.count else 0)

    def of(self, roster: Roster) -> RosterShare:
        """This worker's part of a roster: whole groups and solo users, round-robin."""
        return RosterShare(roster, self)


def first_user_ids(segment: Segment, roster: Roster | None, started: int,
                   limit: int) -> list[int]:
    """The run-wide ids of the first ``started`` users ``segment``'s worker started (at
    most ``limit``): the users a lost worker took with it. With ``ROLES`` a worker's
    users are whole groups, not every ``count``-th id."""
    share: Segment | RosterShare = segment if roster is None else segment.of(roster)
    return [share.global_index(j) for j in range(min(started, limit))]


WHOLE = Segment()
"""The single-process run's segment: every unit."""


class RosterShare:
    """A worker's view of the run's roster: its own slots, in order, with the run-wide
    index of each; the user pool starts and retires them exactly as it does a roster."""

    def __init__(self, roster: Roster, segment: Segment) -> None:
        self.cast = roster.cast
        starts = _unit_starts(roster.slots)
        owned = [u for u in range(len(starts)) if segment.owns(u)]
        ends = [*starts[1:], roster.size]
        self.indices: tuple[int, ...] = tuple(
            i for u in owned for i in range(starts[u], ends[u]))
        self.slots: tuple[Slot, ...] = tuple(roster.slots[i] for i in self.indices)
        self._starts = starts
        self._owned_starts = [starts[u] for u in owned]
        self._owned_sizes = [ends[u] - starts[u] for u in owned]
        self.counts = {name: 0 for name in roster.counts}
        for slot in self.slots:
            key = slot.group.name if slot.group is not None else slot.role
            if slot.group is None or slot.member == 0:
                self.counts[key] = self.counts.get(key, 0) + 1

    @property
    def size(self) -> int:
        return len(self.slots)

    def groups(self) -> tuple[GroupSpec, ...]:
        from horde.coordination.roles import GroupSpec

        return tuple(c for c in self.cast if isinstance(c, GroupSpec))

    def share(self, n: int) -> int:
        """This worker's users among the run's first ``n``: each owned unit that has
        begun by then, whole (the pool starts a group's members together)."""
        return sum(size for start, size in zip(self._owned_starts, self._owned_sizes,
                                               strict=True) if start < n)

    def global_index(self, local: int) -> int:
        return self.indices[local]


def _unit_starts(slots: Sequence[Slot]) -> list[int]:
    """Where each unit (a solo user, a whole group) begins in the roster."""
    return [i for i, slot in enumerate(slots) if slot.group is None or slot.member == 0]
