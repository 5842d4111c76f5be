"""horde's pytest plugin: load tests written as ordinary pytest tests (docs/pytest.md).

Installed with horde (entry point ``pytest11``: ``horde``); ``-p no:horde`` turns it off.

- ``horde_run``: ``results = await horde_run("examples/tasks.py", target=url, users=10,
  iterations=1)`` runs a scenario in the test's event loop and returns :class:`Results`.
  Options are the config file's keys; they override the scenario's ``OPTIONS``, and
  ``thresholds`` replace its ``THRESHOLDS``. ``horde_run.sync(...)`` is the same for a
  plain ``def`` test. Each run writes ``results.json`` under the test's ``tmp_path`` (or
  ``--horde-out DIR``), and a failing test's report names those files.
- ``horde_demo``: ``url = horde_demo("tasks", faults=["leak"])`` starts a built-in demo
  server in a child process, one per (name, faults, settings) for the whole session.
- ``@pytest.mark.load`` marks a load test; ``--no-load`` (or ``-m "not load"``) skips them.

Everything heavy is imported when a fixture is used, not when pytest loads the plugin.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

LOAD_MARKER = "load: a horde load test (skip them with --no-load or -m 'not load')"
_RUNS = pytest.StashKey[list["Results"]]()


# -- the results of one run ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Metric:
    """One latency metric's summary from results.json, in milliseconds."""

    label: str
    count: int
    rate_per_s: float
    min: float
    mean: float
    p50: float
    p90: float
    p95: float
    p99: float
    p999: float
    max: float

    @classmethod
    def from_summary(cls, label: str, summary: Mapping[str, Any]) -> Metric:
        ms = {k: summary.get(f"{k}_ms") for k in ("min", "mean", "p50", "p90", "p95", "p99",
                                                    "p999", "max")}
        return cls(label, summary.get("count", 0), summary.get("rate_per_s", 0.0), **ms)


class Results:
    """A run's results.json with helpers for assertions; ``.data`` is the whole dict.

    Its ``repr`` names the verdict, the failed thresholds and the file, so a bare
    ``assert results.passed`` explains itself in pytest's report.
    """

    def __init__(self, data: dict[str, Any], path: Path | None = None) -> None:
        self.data = data
        self.path = path

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def passed(self) -> bool:
        return bool(self.data.get("passed"))

    @property
    def status(self) -> str:
        return str(self.data.get("status"))

    @property
    def thresholds(self) -> list[dict[str, Any]]:
        return list(self.data.get("thresholds", []))

    @property
    def failed_thresholds(self) -> list[str]:
        return [f"{t['expression']} ({t.get('reason') or 'observed ' + str(t['observed'])})"
                for t in self.thresholds if not t["passed"]]

    @property
    def errors(self) -> dict[str, int]:
        """Error counts by category (``isolation_failure``, ``check_failed`` …)."""
        return dict(self.data.get("errors", {}))

    @property
    def duration_s(self) -> float:
        return float(self.data.get("duration_s") or 0.0)

    def metric(self, label: str) -> Metric:
        """A latency metric by its results.json label: ``ws_connect``, ``stream_first:task``."""
        metrics = self.data.get("metrics", {})
        if label not in metrics:
            known = ", ".join(sorted(metrics)) or "none"
            raise KeyError(f"no metric {label!r} in this run (metrics: {known})")
        return Metric.from_summary(label, metrics[label])

    def counter(self, label: str) -> int:
        """A counter by label (``custom:tasks_completed``, ``ws_msg_in``); 0 if it never
        counted — a counter that stayed at zero is simply absent from results.json."""
        return int(self.data.get("counters", {}).get(label, 0))

    def value(self, path: str) -> float | None:
        """A figure by the dotted path a threshold would use (``connections.success_rate``,
        ``isolation.failures``, ``checks.rate``, ``errors.rate``); None if absent."""
        from horde.metrics.thresholds import path_value

        return path_value(path, self.data)

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        parts = [f"horde {self.data.get('scenario')}: {verdict} ({self.status})"]
        reason = (self.data.get("verdict") or {}).get("reason")
        if reason and not self.failed_thresholds:  # else the failed thresholds say it
            parts.append(str(reason))
        if self.failed_thresholds:
            parts.append("failed: " + "; ".join(self.failed_thresholds))
        if self.errors:
            parts.append("errors: " + ", ".join(f"{k} {v}" for k, v in self.errors.items()))
        if self.path is not None:
            parts.append(f"results: {self.path}")
        return " | ".join(parts)

    def __repr__(self) -> str:
        return f"<Results {self.summary()}>"


# -- running a scenario ----------------------------------------------------------------------


class HordeRunner:
    """What the ``horde_run`` fixture returns: runs scenarios, keeps their results."""

    def __init__(self, out_root: Path, search: Sequence[Path]) -> None:
        self.out_root = out_root
        self.search = tuple(search)
        self.runs: list[Results] = []

    async def __call__(
        self, scenario: str | Path, *, target: str, progress: bool = False, **options: Any
    ) -> Results:
        """Run ``scenario`` against ``target`` in the running event loop.

        ``options`` are config-file keys (``users``, ``duration="5s"``, ``iterations``,
        ``connect``, ``params={...}``, ``thresholds=[...]`` …), checked like a config file.
        """
        from horde.assembly import assemble, files_shortfall

        config, loaded = self._prepare(scenario, target, options, progress)
        if (shortfall := files_shortfall(config, loaded)) is not None:
            # the session's limits are its own: said in pytest's warnings summary
            warnings.warn(f"horde: {shortfall}", UserWarning, stacklevel=2)
        # results.json, and the console summary pytest shows for a failing test
        data = await assemble(config, loaded).run()
        results = Results(data, config.out_dir / "results.json" if config.out_dir else None)
        self.runs.append(results)
        return results

    def sync(self, scenario: str | Path, *, target: str, **options: Any) -> Results:
        """The same, for a plain ``def`` test: runs on an event loop of its own."""
        import asyncio

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self(scenario, target=target, **options))
        raise RuntimeError("an event loop is running here: use 'await horde_run(...)'")

    def _prepare(
        self, scenario: str | Path, target: str, options: dict[str, Any], progress: bool
    ) -> tuple[Any, Any]:
        from horde.assembly import cast
        from horde.config.load import layer_values
        from horde.config.model import RunConfig
        from horde.scenario.loader import load_scenario

        path = self._find(Path(scenario))
        loaded = load_scenario(path)
        values = layer_values(loaded.options, _option_values(options))
        values.update(scenario=path, target=target, progress=progress,
                      out_dir=self._next_out_dir())
        config, _ = cast(RunConfig(**values), loaded)  # bad input fails before any load
        return config, loaded

    def _find(self, path: Path) -> Path:
        """As given, else next to the test file, else under pytest's rootdir."""
        if path.is_absolute() or path.is_file():
            return path
        for base in self.search:
            if (base / path).is_file():
                return base / path
        return path  # load_scenario names the missing file

    def _next_out_dir(self) -> Path:
        return self.out_root / f"run-{len(self.runs) + 1}"


def _option_values(options: dict[str, Any]) -> dict[str, Any]:
    """Config-file keys → RunConfig values, every problem reported at once."""
    from pydantic import ValidationError

    from horde.config.load import FileConfig, run_config_values
    from horde.errors import ConfigError

    for key in ("scenario", "target", "out"):
        if key in options:
            raise ConfigError(f"horde_run: {key!r} is set by horde_run itself")
    try:
        checked = FileConfig.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ConfigError(f"horde_run: {problems}") from None
    return run_config_values(checked.model_dump())


# -- demo servers --------------------------------------------------------------------------


class DemoServers:
    """What ``horde_demo`` returns: starts demo servers on demand, one per configuration,
    kept for the session (a server start costs about a second) and stopped at its end."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._urls: dict[tuple[Any, ...], str] = {}

    def __call__(
        self,
        name: str,
        *,
        faults: Iterable[str] = (),
        settings: Mapping[str, Any] | None = None,
    ) -> str:
        """The base URL of demo ``name`` with these faults and settings (``--set k=v``)."""
        from horde.demo.launcher import demo_server

        args = (*(f"--fault={f}" for f in faults),
                *(f"--set={k}={v}" for k, v in sorted((settings or {}).items())))
        key = (name, *args)
        if key not in self._urls:
            self._urls[key] = self._stack.enter_context(demo_server(name, args))
        return self._urls[key]

    def close(self) -> None:
        self._stack.close()


# -- pytest hooks and fixtures --------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("horde", "horde load tests")
    group.addoption("--no-load", action="store_true", default=False,
                    help="skip tests marked @pytest.mark.load")
    group.addoption("--horde-out", metavar="DIR", default=None,
                    help="write each test's results.json under DIR/<test> instead of tmp_path")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", LOAD_MARKER)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--no-load"):
        return
    skip = pytest.mark.skip(reason="load test (--no-load)")
    for item in items:
        if item.get_closest_marker("load") is not None:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing test that ran horde says where each run's results.json is."""
    report = yield
    runs = item.stash.get(_RUNS, [])
    if report.failed and runs:
        report.sections.append(("horde runs", "\n".join(r.summary() for r in runs)))
    return report


@pytest.fixture
def horde_run(request: pytest.FixtureRequest, tmp_path: Path) -> HordeRunner:
    """Run a horde scenario inside this test: ``await horde_run(path, target=url, ...)``."""
    out = request.config.getoption("--horde-out")
    root = Path(out) / _safe(request.node.nodeid) if out else tmp_path / "horde"
    test_dir = Path(str(request.node.path)).parent
    runner = HordeRunner(root, (test_dir, request.config.rootpath))
    request.node.stash[_RUNS] = runner.runs
    return runner


@pytest.fixture(scope="session")
def horde_demo() -> Iterator[DemoServers]:
    """Start built-in demo servers: ``url = horde_demo("tasks", faults=["leak"])``."""
    servers = DemoServers()
    try:
        yield servers
    finally:
        servers.close()


def _safe(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")
