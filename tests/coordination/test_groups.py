"""Groups: barriers, formation, completion, failure, and what results.json says."""

import asyncio

import pytest

import horde
from horde.coordination.groups import GroupTracker
from horde.errors import GroupBrokenError, OperationTimeoutError

TEAM = horde.group("team", 2, roles=("creator", "joiner"))


async def test_a_barrier_opens_when_every_member_arrives_and_can_be_reused():
    group = GroupTracker({"team": 1}).get(TEAM, 0)
    crossed = []

    async def member(i):
        for round_ in range(3):
            await asyncio.sleep(0.01 * i)
            await group.barrier("round", timeout=2)
            crossed.append((round_, i))

    await asyncio.gather(member(0), member(1))
    assert [r for r, _ in crossed] == [0, 0, 1, 1, 2, 2]


async def test_a_barrier_timeout_fails_the_group_and_breaks_the_other_waiters():
    group = GroupTracker({"team": 1}).get(TEAM, 0)
    with pytest.raises(OperationTimeoutError, match="team-0: barrier 'formed' timed out"):
        await group.barrier("formed", timeout=0.05)
    assert group.failed and group.reason == "barrier 'formed' timed out"
    with pytest.raises(GroupBrokenError):
        await group.barrier("formed", timeout=1)


async def test_failing_a_group_wakes_its_waiting_members_with_group_broken():
    group = GroupTracker({"team": 1}).get(TEAM, 0)
    waiter = asyncio.create_task(group.barrier("ready", timeout=5))
    await asyncio.sleep(0.01)
    group.fail("joiner could not join")
    with pytest.raises(GroupBrokenError, match="joiner could not join"):
        await waiter


def test_the_report_counts_each_outcome_against_the_planned_groups():
    tracker = GroupTracker({"team": 4})
    formed, completed, failed_late, failed_early = (tracker.get(TEAM, i) for i in range(4))
    for group in (formed, completed, failed_late):
        group.member_ready()
        group.member_ready()
    completed.complete()
    failed_late.fail("barrier 'round' timed out")
    failed_early.member_ready()
    failed_early.fail("on_start of joiner: connect_error")
    report = tracker.report()
    assert report["planned"] == 4 and report["started"] == 4
    assert report["formed"] == 3  # the late failure had formed first
    assert report["completed"] == 1 and report["failed"] == 2 and report["incomplete"] == 1
    assert report["completed_rate"] == 0.25 and report["formed_rate"] == 0.75
    assert report["failures"] == {
        "barrier 'round' timed out": 1, "on_start of joiner: connect_error": 1
    }
    assert report["by_name"]["team"]["completed"] == 1


def test_every_member_finishing_completes_the_group_and_a_failure_is_final():
    group = GroupTracker({"team": 1}).get(TEAM, 0)
    group.member_ready()
    group.member_ready()
    group.member_finished()
    assert group.status == "formed"
    group.member_finished()
    assert group.status == "completed"
    group.fail("too late")
    assert group.status == "completed"
