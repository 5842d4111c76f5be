"""Shared fixtures: scenario files written on the fly, the echo demo server, and a run
history of the session's own (so no test ever writes horde-runs.sqlite into the repo)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from horde.demo.launcher import demo_server


@pytest.fixture(scope="session", autouse=True)
def run_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every ``horde run`` of the session — in process or a child — records its run here."""
    path = tmp_path_factory.mktemp("history") / "horde-runs.sqlite"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HORDE_HISTORY", str(path))
        yield path


@pytest.fixture
def write_scenario(tmp_path: Path) -> Callable[..., Path]:
    def write(source: str, name: str = "scenario.py") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source))
        return path

    return write


@pytest.fixture(scope="session")
def echo_server() -> Iterator[str]:
    """The built-in echo server, in its own process, for the whole session."""
    with demo_server("echo") as url:
        yield url
