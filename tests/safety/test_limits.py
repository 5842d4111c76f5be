"""A run cannot go on forever: a duration by default, a hard maximum over everything
(``--max-duration``, 6 h unless raised), checked against what the user asked for."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from horde.cli import main
from horde.config.load import read_config_file
from horde.config.model import HARD_MAX_DURATION_S, RunConfig

pytestmark = pytest.mark.timeout(60)

ENDLESS = """
import horde

@horde.behaviour
async def forever(user):
    while True:
        await user.think(0.05)
"""


def test_defaults_bound_every_run() -> None:
    plain = RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:1")
    assert plain.duration_s == 30 and plain.max_duration_s == HARD_MAX_DURATION_S == 6 * 3600
    counted = RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:1", iterations=10**9)
    assert counted.duration_s is None and counted.deadline_s == 6 * 3600


def test_a_duration_beyond_the_maximum_is_refused(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "s.py"
    scenario.write_text(ENDLESS)
    code = main(["run", str(scenario), "--target", "http://127.0.0.1:1", "--duration", "7h",
                 "--no-history"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "duration 7h is longer than max-duration 6h: raise --max-duration" in err


def test_max_duration_from_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "h.toml"
    config.write_text('max_duration = "8h"\nduration = "7h"\n')
    values = read_config_file(config)
    assert values["max_duration_s"] == 8 * 3600 and values["duration_s"] == 7 * 3600


def test_max_duration_stops_an_endless_iteration_run(tmp_path: Path, capsys) -> None:
    """Iterations that never end, no --duration: --max-duration ends the load phase."""
    scenario = tmp_path / "s.py"
    scenario.write_text(ENDLESS)
    started = time.monotonic()
    code = main(["run", str(scenario), "--target", "http://127.0.0.1:1", "--iterations", "1",
                 "--max-duration", "1s", "--quiet", "--no-history"])
    elapsed = time.monotonic() - started
    out = capsys.readouterr().out
    assert code == 1, out  # it ended, but measured nothing: no pass by accident
    assert "nothing was measured" in out and "10 cut off at the end" in out
    assert elapsed < 15  # 1 s of load, the stop grace, imports
