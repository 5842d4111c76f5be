"""ROLES, THRESHOLDS and OPTIONS as the loader reads and checks them."""

import pytest

from horde.errors import ScenarioError
from horde.scenario.loader import load_scenario

ROLES = """
import horde
ROLES = (horde.role("dashboard"), horde.group("team", 2, roles=("creator", "joiner")))
"""


def test_each_role_gets_its_own_behaviours_and_hooks_or_the_unmarked_ones(write_scenario):
    scenario = load_scenario(write_scenario(ROLES + """
@horde.on_start(role="creator")
async def create(user): ...

@horde.on_start
async def connect(user): ...

@horde.behaviour(role="dashboard")
async def watch(user): ...

@horde.behaviour(weight=2)
async def play(user): ...
"""))
    assert [b.name for b in scenario.program("dashboard").behaviours] == ["watch"]
    assert [b.name for b in scenario.program("joiner").behaviours] == ["play"]
    assert scenario.program("creator").on_start.__name__ == "create"
    assert scenario.program("joiner").on_start.__name__ == "connect"
    assert scenario.program("dashboard").on_start.__name__ == "connect"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('@horde.behaviour(role="player")\nasync def b(user): ...\n',
         "unknown role 'player'; roles: creator, dashboard, joiner"),
        ('@horde.behaviour(role="dashboard")\nasync def b(user): ...\n',
         "role 'creator' has no @horde.behaviour(role=...)"),
        ('@horde.behaviour\nasync def b(user): ...\n@horde.on_start(role="joiner")\n'
         'async def s1(user): ...\n@horde.on_start(role="joiner")\nasync def s2(user): ...\n',
         "more than one @on_start for joiner"),
        ('@horde.behaviour\nasync def b(user): ...\nTHRESHOLDS = ("p95(x) <",)\n',
         "THRESHOLDS: bad threshold 'p95(x) <'"),
        ('@horde.behaviour\nasync def b(user): ...\nTHRESHOLDS = "errors.rate < 0.1"\n',
         "THRESHOLDS must be a tuple of expressions"),
        ('@horde.behaviour\nasync def b(user): ...\nOPTIONS = {"scenario": "x.py"}\n',
         "OPTIONS: scenario: a scenario cannot name another one"),
    ],
)
def test_mistakes_are_refused_with_the_file(write_scenario, body, message):
    with pytest.raises(ScenarioError, match=r"scenario\.py") as info:
        load_scenario(write_scenario(ROLES + body))
    assert message in str(info.value)


def test_roles_without_roles_declared_are_refused(write_scenario):
    with pytest.raises(ScenarioError, match="unknown role 'x'; roles: none"):
        load_scenario(write_scenario('import horde\n@horde.behaviour(role="x")\nasync def b(u): ...\n'))
