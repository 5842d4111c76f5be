"""The command line: parse, build typed config, run, map the outcome to an exit code.

This is the only place that turns errors into exit codes: a :class:`UsageError` becomes
one line on stderr and exit 2; a run's verdict becomes 0 or 1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from horde import exitcodes
from horde.config.durations import parse_duration
from horde.errors import ConfigError, UsageError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line and a UsageError, never a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="horde", description="Load testing for real-time web apps.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run a scenario file against a target")
    run.add_argument("scenario", nargs="?", help="path to a scenario .py file")
    run.add_argument("--target", "-t", help="base URL, e.g. http://127.0.0.1:8000")
    _add_run_options(run)

    serve = commands.add_parser("serve", help="run a built-in demo server")
    serve.add_argument("name", help="demo server: echo, chsh, quiz, chatrooms, chatbot, tasks")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    _add_demo_options(serve)

    capacity = commands.add_parser(
        "capacity", help="raise the load step by step until a threshold fails"
    )
    capacity.add_argument("scenario", nargs="?", help="path to a scenario .py file")
    capacity.add_argument("--target", "-t", help="base URL, e.g. http://127.0.0.1:8000")
    capacity.add_argument("--start", type=int, default=10, help="users in the first step")
    capacity.add_argument("--step", type=int, default=10, help="users added per step")
    capacity.add_argument("--max", type=int, default=1000, help="stop searching here")
    capacity.add_argument("--step-duration", default="10s", help="length of each step")
    capacity.add_argument("--bisect", type=int, default=0,
                          help="halve the gap between pass and fail this many times")
    _add_run_options(capacity)

    plan = commands.add_parser("plan", help="print what a load shape will do, without running")
    plan.add_argument(
        "shape", help="e.g. 'steps(start=10, increment=50, interval=3m, max=500)', "
                      "or a scenario file with a @horde.shape function"
    )

    demo = commands.add_parser("demo", help="start a demo server and run its example scenario")
    demo.add_argument("name", help="demo: echo, chsh, quiz, chatrooms, chatbot, tasks")
    _add_run_options(demo)
    _add_demo_options(demo)
    return parser


def _add_demo_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="switch on one of the demo server's faults (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="a demo server setting, e.g. capacity=5 (repeatable)")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", default=None, metavar="FILE",
                   help="YAML or TOML file holding any of these options; flags override it")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a scenario parameter (repeatable)")
    p.add_argument("--users", "-u", type=int, default=None, help="virtual users (default 10)")
    p.add_argument("--spawn-rate", "-r", type=float, default=None, help="users started per second")
    p.add_argument("--duration", "-d", default=None, help="e.g. 30s, 5m (default 30s)")
    p.add_argument("--iterations", "-i", type=int, default=None, help="behaviour runs per user")
    p.add_argument("--out", "-o", default=None, help="directory for results.json")
    p.add_argument("--timeout", default=None, help="default per-operation timeout (30s)")
    p.add_argument("--seed", type=int, default=None, help="random seed for reproducible runs")
    p.add_argument("--shape", default=None, metavar="SPEC",
                   help="load shape instead of --users, e.g. 'ramp(to=100, over=1m)'; "
                        "see 'horde plan'")
    p.add_argument("--connect", default=None, metavar="STRATEGY",
                   help="how the users connect: 'gradual(rate=20)', 'burst(size=10, every=1s)' "
                        "or 'immediate'")
    p.add_argument("--circuit-breaker", type=float, default=None, metavar="RATE",
                   help="stop adding users once more than RATE (0-1) of connections failed")
    p.add_argument("--threshold", action="append", default=[], metavar="EXPR",
                   help="pass/fail criterion, e.g. 'p95(latency) < 200ms' (repeatable)")
    p.add_argument("--abort-on-fail", action="store_true", default=None,
                   help="check thresholds every second and stop the run when one fails")
    p.add_argument("--abort-grace", default=None, metavar="DURATION",
                   help="no live abort during the first DURATION of load (default 10s)")
    p.add_argument("--quiet", "-q", action="store_true", default=None,
                   help="no live progress line")
    p.add_argument("--log-level", default=None, choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="horde's own log messages (default WARNING)")
    p.add_argument("--no-uvloop", action="store_true", help="use asyncio's default event loop")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "serve":
            return _serve(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "plan":
            return _plan(args)
        if args.command == "capacity":
            return _capacity(args)
        return _run(args, Path(args.scenario) if args.scenario else None, args.target)
    except UsageError as exc:
        print(f"horde: error: {exc}", file=sys.stderr)
        return exitcodes.USAGE


def _run_config(
    args: argparse.Namespace, scenario: Path | None, target: str | None
) -> tuple[Any, Any]:
    """The scenario's ``OPTIONS``, overridden by the config file, overridden by every flag
    given, as a typed RunConfig — and the loaded scenario."""
    from horde.config.load import layer_values, read_config_file
    from horde.config.model import RunConfig
    from horde.scenario.loader import load_scenario

    values = read_config_file(args.config) if args.config else {}
    flags = _flag_values(args)
    if scenario is not None:
        flags["scenario"] = scenario
    if target is not None:
        flags["target"] = target
    path = flags.get("scenario") or values.get("scenario")
    if path is None:
        where = f" or 'scenario:' in {args.config}" if args.config else ""
        raise ConfigError(f"missing scenario: give a scenario file{where}")
    loaded = load_scenario(path)
    values = layer_values(loaded.options, values, flags)
    if "target" not in values:
        where = f" or 'target:' in {args.config}" if args.config else ""
        raise ConfigError(f"missing target: give --target URL{where}")
    try:
        return RunConfig(**values), loaded
    except ValidationError as exc:
        raise ConfigError(_first_problem(exc)) from None


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """Only the flags actually given: they override the config file."""
    from horde.config.load import run_config_values
    from horde.scenario.params import parse_param_flags

    options = {key: getattr(args, key) for key in (
        "users", "spawn_rate", "iterations", "seed", "shape", "connect", "circuit_breaker",
        "abort_on_fail", "log_level", "duration", "timeout", "abort_grace", "out", "quiet",
    )}
    options["thresholds"] = args.threshold
    options["params"] = parse_param_flags(args.param)
    return run_config_values(options)


def _first_problem(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "config"
        msg = err["msg"].removeprefix("Value error, ")
        problems.append(f"{where.replace('_s', '').replace('_', '-')}: {msg}")
    return "; ".join(problems)


def _run(args: argparse.Namespace, scenario_path: Path, target: str) -> int:
    from horde.engine.loop import run_with_signals
    from horde.engine.runner import cast_config, run
    from horde.scenario.params import make_params

    config, scenario = _run_config(args, scenario_path, target)
    logging.basicConfig(level=config.log_level, format=LOG_FORMAT)
    params = make_params(scenario.params_type, config.params, str(config.scenario))
    config, _ = cast_config(config, scenario, params)  # bad input fails here, before load
    sinks = _sinks(config)

    async def main(stop: asyncio.Event) -> dict[str, Any]:
        return await run(config, scenario, sinks, stop)

    results = run_with_signals(main, use_uvloop=not args.no_uvloop)
    return exitcodes.OK if results["passed"] else exitcodes.FAILED


def _sinks(config: Any) -> list[Any]:
    from horde.sinks.progress import ProgressLine
    from horde.sinks.results_json import ResultsJson
    from horde.sinks.summary import ConsoleSummary

    sinks: list[Any] = []
    if config.progress:
        sinks.append(ProgressLine(config.users))
    if config.out_dir is not None:
        sinks.append(ResultsJson(config.out_dir))
    sinks.append(ConsoleSummary())
    return sinks


def _capacity(args: argparse.Namespace) -> int:
    from horde.engine.capacity import SearchPlan, StopSearch, search
    from horde.engine.loop import run_with_signals
    from horde.engine.runner import run
    from horde.scenario.params import make_params
    from horde.sinks.capacity import print_capacity, print_step, write_capacity

    base, scenario = _run_config(
        args, Path(args.scenario) if args.scenario else None, args.target
    )
    if not (base.thresholds or scenario.thresholds):
        raise UsageError("capacity needs at least one --threshold: it defines 'held'")
    if min(args.start, args.step, args.max) < 1:
        raise UsageError("--start, --step and --max must be at least 1")
    make_params(scenario.params_type, base.params, str(base.scenario))
    plan = SearchPlan(args.start, args.step, args.max, args.bisect)
    step_s = parse_duration(args.step_duration)

    async def main(stop: asyncio.Event) -> Any:
        async def run_step(users: int) -> dict[str, Any]:
            if stop.is_set():
                raise StopSearch
            config = base.model_copy(update={
                "users": users, "spawn_rate": float(users), "duration_s": step_s,
                "shape": None, "iterations": None, "out_dir": None, "progress": False,
            })
            results = await run(config, scenario, (), stop)
            if results["status"] == "interrupted":
                raise StopSearch
            print_step(users, results)
            return results

        return await search(plan, run_step)

    capacity = run_with_signals(main, use_uvloop=not args.no_uvloop)
    print_capacity(capacity)
    if base.out_dir is not None:
        write_capacity(capacity, base.out_dir)
    return exitcodes.OK


def _plan(args: argparse.Namespace) -> int:
    from horde.config.model import HARD_MAX_DURATION_S
    from horde.scenario.loader import load_scenario
    from horde.shapes import parse_shape
    from horde.shapes.custom import sample_plan
    from horde.shapes.render import render_plan

    if args.shape.endswith(".py"):  # a scenario file with its own @horde.shape
        scenario = load_scenario(args.shape)
        if scenario.shape is None:
            raise UsageError(f"{args.shape}: no @horde.shape function in this scenario")
        plan = sample_plan(scenario.shape, HARD_MAX_DURATION_S, args.shape)
    else:
        plan = parse_shape(args.shape).plan()
    print(render_plan(plan))
    return exitcodes.OK


def _serve(args: argparse.Namespace) -> int:
    import uvloop

    from horde.demo.serve import build, options_for, serve

    options = options_for(args.name, args.fault, args.settings)
    build(args.name, options)  # bad names and options fail here, before a socket is opened
    try:
        uvloop.run(serve(args.name, args.host, args.port, options))
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    return exitcodes.OK


def _demo(args: argparse.Namespace) -> int:
    from horde.demo.launcher import demo_server, example_path
    from horde.demo.serve import options_for

    options_for(args.name, args.fault, args.settings)  # refuse bad flags before starting
    scenario = example_path(args.name)
    server_args = [*(f"--fault={f}" for f in args.fault), *(f"--set={s}" for s in args.settings)]
    with demo_server(args.name, tuple(server_args)) as url:
        print(f"horde demo {args.name}: server on {url}, scenario {scenario}", file=sys.stderr)
        return _run(args, scenario, url)
