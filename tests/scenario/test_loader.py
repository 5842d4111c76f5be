from pathlib import Path

import pytest

from horde.errors import ScenarioError
from horde.scenario.loader import load_scenario


def test_collects_behaviours_weights_and_hooks(write_scenario):
    path = write_scenario(
        """
        import horde

        @horde.on_start
        async def begin(user): ...

        @horde.behaviour(weight=3)
        async def often(user): ...

        @horde.behaviour
        async def rarely(user): ...

        @horde.setup
        async def prepare(ctx): return 1
        """
    )
    scenario = load_scenario(path)
    assert [(b.name, b.weight) for b in scenario.behaviours] == [("often", 3), ("rarely", 1)]
    assert scenario.on_start.__name__ == "begin"
    assert scenario.setup.__name__ == "prepare"
    assert scenario.on_stop is None


def test_weights_steer_the_pick(write_scenario):
    import random

    scenario = load_scenario(
        write_scenario(
            """
            import horde
            @horde.behaviour(weight=9)
            async def a(user): ...
            @horde.behaviour(weight=1)
            async def b(user): ...
            """
        )
    )
    rng = random.Random(1)
    picks = [scenario.pick(rng).name for _ in range(10_000)]
    assert 0.88 < picks.count("a") / len(picks) < 0.92


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import horde\n\ndef broken(:\n", "scenario.py:3: syntax error"),
        ("import horde\nx = 1\nraise RuntimeError('boom')\n", "scenario.py:3: RuntimeError: boom"),
        ("import horde\n", "no behaviour found"),
        ("import horde\n\n@horde.behaviour\ndef sync(user): ...\n", "scenario.py:3: sync must be 'async def'"),
        ("import nonexistent_module_xyz\n", "scenario.py:1: ModuleNotFoundError"),
    ],
)
def test_broken_files_name_file_and_line(write_scenario, source, message):
    path = write_scenario(source)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert message in str(info.value)


def test_missing_file():
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(Path("/nonexistent/scenario.py"))
