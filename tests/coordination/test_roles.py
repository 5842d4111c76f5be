"""Rosters from ROLES: who is started, in which role, group and place."""

from types import SimpleNamespace

import pytest

import horde
from horde.coordination.roles import Roster, check_cast
from horde.errors import ScenarioError

PARAMS = SimpleNamespace(teams=3)


def test_a_roster_lists_roles_then_each_groups_members_in_order():
    roster = Roster(
        (horde.role("dashboard"), horde.group("team", "teams", roles=("creator", "joiner"))),
        PARAMS,
    )
    assert roster.size == 7
    assert [(s.role, s.group_index, s.member) for s in roster.slots] == [
        ("dashboard", 0, 0),
        ("creator", 0, 0), ("joiner", 0, 1),
        ("creator", 1, 0), ("joiner", 1, 1),
        ("creator", 2, 0), ("joiner", 2, 1),
    ]
    assert roster.slots[0].group is None
    assert roster.slots[1].first_member and not roster.slots[2].first_member
    assert roster.role_names() == {"dashboard", "creator", "joiner"}


def test_counts_from_a_function_and_groups_of_one_role():
    roster = Roster((horde.group("pair", lambda p: p.teams * 2, size=2),), PARAMS)
    assert roster.size == 12
    assert {s.role for s in roster.slots} == {"pair"}


@pytest.mark.parametrize(
    ("cast", "message"),
    [
        ((horde.role("x", "nope"),), "count 'nope' is not a scenario parameter"),
        ((horde.role("x", -1),), "count must be a whole number >= 0, got -1"),
        ((horde.role("x", lambda p: 1.5),), "count must be a whole number >= 0, got 1.5"),
    ],
)
def test_bad_counts_name_the_role(cast, message):
    with pytest.raises(ScenarioError, match=message):
        Roster(cast, PARAMS)


def test_roles_must_be_declared_once_with_role_and_group():
    with pytest.raises(ScenarioError, match="ROLES names x more than once"):
        check_cast((horde.role("x"), horde.role("x")), "s.py")
    with pytest.raises(ScenarioError, match="ROLES must be a tuple"):
        check_cast(("x",), "s.py")
    with pytest.raises(ScenarioError, match="give roles"):
        horde.group("team", 2)
