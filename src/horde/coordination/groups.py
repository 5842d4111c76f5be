"""Groups at run time: members that share state, meet at barriers and succeed or fail
together — and the ``groups`` section of results.json that counts them.

A group is *started* when its members are; *formed* once every member's ``@on_start``
has succeeded; *completed* when a member calls ``complete()`` or every member has done
its iterations without an error; *failed* when a member's ``@on_start`` fails, a barrier
times out, or a member calls ``fail(reason)``. A failed group's members stop: whoever
waits at one of its barriers gets :class:`GroupBrokenError`, which ends that user without
counting an error twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from horde.coordination.roles import GroupSpec
from horde.errors import GroupBrokenError, OperationTimeoutError

STARTED, FORMED, COMPLETED, FAILED = "started", "formed", "completed", "failed"


@dataclass(slots=True)
class _Barrier:
    arrived: int = 0
    waiters: list[asyncio.Future[None]] = field(default_factory=list)


class Group:
    """One group of a run, as its members see it (``user.group``; docs/groups.md).

    Members share :attr:`state`, meet at :meth:`barrier`, and end the group with
    :meth:`complete` or :meth:`fail`; results.json's ``groups`` counts formed, completed
    and failed groups (``groups.completed_rate > 0.9`` is a threshold)::

        user.group.state.team_name = name                 # the creator
        await user.group.barrier("created", timeout=30)   # everyone, before joining
        user.group.complete()
    """

    def __init__(self, spec: GroupSpec, index: int) -> None:
        self.name = spec.name
        self.index = index
        self.id = f"{spec.name}-{index}"
        self.size = spec.size
        self.roles = spec.roles
        self.members: list[str] = []  # user names, in member order
        self.state = SimpleNamespace()
        self.status = STARTED
        self.reason: str | None = None
        self._ready = 0
        self._finished = 0
        self._barriers: dict[str, _Barrier] = {}

    @property
    def failed(self) -> bool:
        """Whether a member called :meth:`fail`, or one could not start."""
        return self.status == FAILED

    @property
    def formed(self) -> bool:
        """Whether every member has started (a completed group was formed too)."""
        return self.status in (FORMED, COMPLETED)

    @property
    def was_formed(self) -> bool:
        """Every member got through ``@on_start`` (even if the group failed later)."""
        return self._ready >= self.size

    async def barrier(self, name: str, timeout: float | None = 30.0) -> None:
        """Wait until every member has reached barrier ``name`` (reusable: the next round
        of arrivals forms the next crossing). Times out as an error that fails the group."""
        if self.failed:
            raise GroupBrokenError(f"{self.id} failed: {self.reason}")
        barrier = self._barriers.setdefault(name, _Barrier())
        barrier.arrived += 1
        if barrier.arrived % self.size == 0:
            waiters, barrier.waiters = barrier.waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        barrier.waiters.append(fut)
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            self.fail(f"barrier {name!r} timed out")
            raise OperationTimeoutError(
                f"{self.id}: barrier {name!r} timed out after {timeout:g}s",
                detail=f"barrier:{name}",
            ) from None

    def complete(self) -> None:
        """Mark the group's work done (idempotent; a failed group stays failed)."""
        if self.status in (STARTED, FORMED):
            self.status = COMPLETED

    def fail(self, reason: str) -> None:
        """Mark the group failed with ``reason``; its members stop at their next step."""
        if self.status in (COMPLETED, FAILED):
            return
        self.status, self.reason = FAILED, reason
        broken = GroupBrokenError(f"{self.id} failed: {reason}")
        for barrier in self._barriers.values():
            for fut in barrier.waiters:
                if not fut.done():
                    fut.set_exception(broken)
            barrier.waiters.clear()

    # -- engine ----------------------------------------------------------------------------

    def member_ready(self) -> None:
        """A member's ``@on_start`` succeeded; with all of them, the group is formed."""
        self._ready += 1
        if self._ready == self.size and self.status == STARTED:
            self.status = FORMED

    def member_finished(self) -> None:
        """A member did all its iterations; with all of them, the group is completed."""
        self._finished += 1
        if self._finished == self.size:
            self.complete()


class GroupTracker:
    """Every group of a run, and the counts results.json reports for them."""

    def __init__(self, planned: dict[str, int]) -> None:
        self.planned = planned
        self._groups: dict[tuple[str, int], Group] = {}

    def get(self, spec: GroupSpec, index: int) -> Group:
        """The group ``index`` of ``spec``, made when its first member is."""
        key = (spec.name, index)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = Group(spec, index)
        return group

    def report(self) -> dict[str, Any]:
        members: dict[str, list[Group]] = {name: [] for name in self.planned}
        for (name, _), group in self._groups.items():
            members.setdefault(name, []).append(group)
        by_name = {name: _counts(self.planned.get(name, 0), g) for name, g in members.items()}
        total = _counts(sum(self.planned.values()), list(self._groups.values()))
        return {**total, "by_name": by_name}


def _counts(planned: int, groups: list[Group]) -> dict[str, Any]:
    status = Counter(g.status for g in groups)
    formed = status[FORMED] + status[COMPLETED] + sum(
        1 for g in groups if g.status == FAILED and g._ready == g.size
    )
    reasons = Counter(g.reason for g in groups if g.status == FAILED)
    return {
        "planned": planned,
        "started": len(groups),
        "formed": formed,
        "completed": status[COMPLETED],
        "failed": status[FAILED],
        "incomplete": status[STARTED] + status[FORMED],
        "formed_rate": _rate(formed, planned),
        "completed_rate": _rate(status[COMPLETED], planned),
        "failures": dict(reasons.most_common()),
    }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
