"""The composition root: which sinks a run gets, what surrounds it, and that the engine
leaves the process's collector alone (``gc.freeze`` is the CLI's, at the process edge)."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from horde.assembly import assemble, report_sinks
from horde.cli import main
from horde.config.model import RunConfig
from horde.scenario.loader import load_scenario
from horde.store.db import open_store

OFFLINE = """
import horde

@horde.behaviour
async def work(user):
    with user.timer("step"):  # one timed operation: a run that measured nothing fails
        user.count("done")
"""
TARGET = "http://127.0.0.1:9"  # never contacted


@pytest.fixture
def offline(tmp_path: Path) -> Path:
    path = tmp_path / "offline.py"
    path.write_text(OFFLINE)
    return path


@pytest.fixture
def thawed() -> Iterator[None]:
    """The collector as the test found it: a test that freezes it thaws it again."""
    yield
    gc.unfreeze()


def config(path: Path, **kw: object) -> RunConfig:
    return RunConfig(scenario=path, target=TARGET, users=2, iterations=3, **kw)


@pytest.mark.parametrize(("progress", "out", "formats", "expected"), [
    (False, False, (), ["ConsoleSummary"]),
    (True, False, (), ["TerminalMonitor", "ConsoleSummary"]),
    (False, True, (), ["ResultsJson", "ConsoleSummary"]),
    (False, True, ("json",), ["ResultsJson", "ConsoleSummary"]),
    (True, True, ("json", "md"), ["TerminalMonitor", "ResultsJson", "ConsoleSummary",
                                  "ReportFiles"]),
    (False, False, ("md",), ["ConsoleSummary"]),  # report files need an out_dir
])
def test_report_sinks_follow_the_options(
    tmp_path: Path, progress: bool, out: bool, formats: tuple[str, ...], expected: list[str]
) -> None:
    cfg = config(tmp_path / "s.py", progress=progress, out_dir=tmp_path if out else None)
    assert [type(s).__name__ for s in report_sinks(cfg, formats)] == expected


async def test_an_assembled_run_writes_its_files_and_history(offline: Path, tmp_path: Path,
                                                             thawed: None) -> None:
    out, history = tmp_path / "out", tmp_path / "runs.sqlite"
    gc.unfreeze()  # from nothing frozen: a frozen object an earlier test left may be freed now
    assembly = assemble(config(offline, progress=False, out_dir=out), load_scenario(offline),
                        formats=["json", "md"], history=history)
    results = await assembly.run()
    assert results["counters"]["custom:done"] == 6
    assert json.loads((out / "results.json").read_text())["counters"]["custom:done"] == 6
    assert [p.suffix for p in out.iterdir() if p.name != "results.json"] == [".md"]
    store = open_store(history, create=False)
    assert [r.status for r in store.runs(5)] == ["completed"]
    store.close()
    assert gc.get_freeze_count() == 0  # run() leaves the collector to the process


def test_the_command_line_freezes_what_it_loaded_before_the_load(offline: Path,
                                                                 thawed: None) -> None:
    gc.unfreeze()
    code = main(["run", str(offline), "--target", TARGET, "-u", "1", "-i", "1", "-q",
                 "--no-history"])
    assert code == 0
    assert gc.get_freeze_count() > 0
