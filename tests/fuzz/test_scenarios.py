"""Scenario files, fuzzed: sources assembled from plausible and broken fragments
(behaviours sync or async, weights, OPTIONS with random values, ROLES, Params, hooks,
statements that raise or exit at import) and random ``--param`` flags. Loading gives a
Scenario or a UsageError naming the file — never another exception."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

from horde.errors import UsageError
from horde.scenario.loader import load_scenario
from horde.scenario.params import make_params, parse_param_flags

from .settings import FUZZ
from .test_config import VALUES

_names = itertools.count()

FRAGMENTS = st.sampled_from([
    "@horde.behaviour\nasync def b{n}(user):\n    pass\n",
    "@horde.behaviour\ndef sync{n}(user):\n    pass\n",
    "@horde.behaviour(weight={w})\nasync def w{n}(user):\n    pass\n",
    "@horde.behaviour()\nasync def e{n}(user, extra):\n    pass\n",
    "@horde.on_start\nasync def start{n}(user):\n    pass\n",
    "@horde.setup\nasync def setup{n}(ctx):\n    return 1\n",
    "@horde.teardown\nasync def down{n}(ctx, shared):\n    pass\n",
    "@horde.shape\ndef shape{n}(t):\n    return {w}\n",
    "OPTIONS = {options}\n",
    "ROLES = {roles}\n",
    "class Params(horde.Params):\n    teams: int = 3\n    name: str\n",
    "raise RuntimeError('at import')\n",
    "import sys\nsys.exit({w})\n",
    "horde.behaviour(42)\n",
    "x = (\n",
    "import not_a_module_anywhere\n",
])
ROLES = st.sampled_from([
    "5", "[]", "{'a': horde.role(users=2)}", "{'a': 3}",
    "[horde.group('team', size=2, roles={'p': 1})]", "{'a': horde.role(users=-1)}",
])


@st.composite
def sources(draw: st.DrawFn) -> str:
    parts = ["import horde\n"]
    for fragment in draw(st.lists(FRAGMENTS, min_size=1, max_size=5)):
        parts.append(fragment.format(
            n=next(_names), w=draw(st.sampled_from(["1", "0", "-2", "'x'", "None", "2.5", "float('nan')", "True"])),
            options=repr(draw(st.dictionaries(st.sampled_from(
                ["users", "duration", "shape", "thresholds", "target", "scenario", "nope",
                 "params", "deny_hosts", "max_duration"]), VALUES, max_size=3))),
            roles=draw(ROLES)))
    return "\n".join(parts)


@FUZZ
@given(source=sources(), params=st.lists(st.sampled_from(["teams=4", "teams=x", "name=a",
                                                          "=", "other=1", "teams"]), max_size=3))
@example(source="import sys\nsys.exit(3)\n", params=[])  # found: ended horde with exit 3
def test_scenario_files(tmp_path_factory, source: str, params: list[str]) -> None:
    path = Path(tmp_path_factory.mktemp("scenario")) / "scenario.py"
    path.write_text(source)
    try:
        scenario = load_scenario(path)
        make_params(scenario.params_type, parse_param_flags(params), str(path))
    except UsageError as exc:
        assert str(path) in str(exc) or "param" in str(exc), exc
