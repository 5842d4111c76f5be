"""Segments: each worker's share of the plan adds up to the plan, and never splits a group."""

import pytest

from horde.coordination.roles import Roster, group, role
from horde.engine.segments import WHOLE, Segment, first_user_ids


@pytest.mark.parametrize("workers", [1, 2, 3, 7])
def test_the_shares_of_every_worker_add_up_to_the_plan_at_every_count(workers):
    segments = [Segment(k, workers) for k in range(workers)]
    for n in range(0, 200):
        assert sum(s.share(n) for s in segments) == n


@pytest.mark.parametrize("workers", [2, 3, 5])
def test_every_user_index_belongs_to_exactly_one_worker(workers):
    owned = [s.global_index(j) for k in range(workers) for s in [Segment(k, workers)]
             for j in range(s.share(100))]
    assert sorted(owned) == list(range(100))


def test_arrivals_and_budgets_are_split_without_remainder():
    segments = [Segment(k, 3) for k in range(3)]
    assert [sum(s.owns(n) for n in range(10)) for s in segments] == [4, 3, 3]
    assert [s.split(10) for s in segments] == [4, 3, 3]
    assert WHOLE.share(17) == 17 and WHOLE.split(5) == 5 and WHOLE.whole


def test_a_group_is_never_split_and_a_solo_role_lives_on_one_worker():
    roster = Roster((role("dashboard", 1), group("team", 5, ("creator", "joiner"))), None)
    shares = [Segment(k, 2).of(roster) for k in range(2)]
    assert sum(s.size for s in shares) == roster.size == 11
    assert sorted(i for s in shares for i in s.indices) == list(range(11))
    for share in shares:
        members = {}
        for slot in share.slots:
            if slot.group is not None:
                members.setdefault(slot.group_index, []).append(slot.member)
        assert all(m == [0, 1] for m in members.values())  # whole teams only
    assert [s.counts for s in shares] == [{"dashboard": 1, "team": 2}, {"dashboard": 0, "team": 3}]


def test_roster_shares_count_whole_groups_as_the_plan_reaches_them():
    roster = Roster((group("team", 4, ("a", "b")),), None)
    first, second = Segment(0, 2).of(roster), Segment(1, 2).of(roster)
    # slots 0-1 team 0 (first), 2-3 team 1 (second), 4-5 team 2 (first), ...
    assert [first.share(n) for n in range(9)] == [0, 2, 2, 2, 2, 4, 4, 4, 4]
    assert [second.share(n) for n in range(9)] == [0, 0, 0, 2, 2, 2, 2, 4, 4]
    assert [first.global_index(j) for j in range(4)] == [0, 1, 4, 5]


def test_a_segment_outside_its_run_is_refused():
    with pytest.raises(ValueError):
        Segment(2, 2)


def test_a_lost_workers_users_are_its_whole_groups_not_every_other_id():
    roster = Roster((role("dashboard", 1), group("team", 5, ("creator", "joiner"))), None)
    second = Segment(1, 2)
    # units: dashboard 0, teams at 1, 3, 5, 7, 9; the second worker has the 2nd and 4th
    assert first_user_ids(second, roster, 6, 1000) == [1, 2, 5, 6, 9, 10]
    assert first_user_ids(second, roster, 6, 3) == [1, 2, 5]
    assert first_user_ids(second, None, 3, 1000) == [1, 3, 5]  # no roster: every 2nd
