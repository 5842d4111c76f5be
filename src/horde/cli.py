"""The command line: parse, build typed config, run, map the outcome to an exit code.

This is the only place that turns errors into exit codes: a :class:`UsageError` becomes
one line on stderr and exit 2; a run's verdict becomes 0 or 1.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from horde import exitcodes
from horde.durations import parse_duration
from horde.errors import ConfigError, ScenarioError, UsageError
from horde.version import __version__

if TYPE_CHECKING:  # the engine, pydantic and the rest load when a command needs them
    import asyncio

    from pydantic import ValidationError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DEFAULT_REPORT_DIR = "horde-results"  # where --format writes when --out is not given


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line and a UsageError, never a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="horde", description="Load testing for real-time web apps.")
    parser.add_argument("--version", action="version", version=f"horde {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run a scenario file against a target")
    run.add_argument("scenario", nargs="?", help="path to a scenario .py file")
    run.add_argument("--target", "-t", help="base URL, e.g. http://127.0.0.1:8000")
    _add_run_options(run)
    _add_ui_options(run)
    _add_monitor_options(run)
    _add_output_options(run)

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
                      "or a scenario file with a @horde.shape function or a shape in its "
                      "OPTIONS"
    )

    demo = commands.add_parser("demo", help="start a demo server and run its example scenario")
    demo.add_argument("name", help="demo: echo, chsh, quiz, chatrooms, chatbot, tasks")
    _add_run_options(demo)
    _add_ui_options(demo)
    _add_monitor_options(demo, demo=True)
    _add_output_options(demo)
    _add_demo_options(demo)
    examples = commands.add_parser(
        "examples", help="list the example scenarios the demos run, or copy them to edit"
    )
    examples.add_argument("--copy", default=None, metavar="DIR",
                          help="copy them, with their data folder, into DIR (never overwrites)")
    _add_history_commands(commands)
    return parser


def _add_history_commands(commands: Any) -> None:
    """``runs``, ``report`` and ``compare``: they read the run history (docs/history.md)."""
    runs = commands.add_parser("runs", help="list the runs in the run history")
    runs.add_argument("--limit", "-n", type=int, default=20, help="newest N runs (default 20)")
    _add_history_option(runs)

    report = commands.add_parser("report", help="write a stored run's report files")
    report.add_argument("run", help="run id from 'horde runs', 'latest', or -1, -2, ...")
    report.add_argument("--format", "-f", action="append", default=[], metavar="LIST",
                        help="json,html,md,csv,junit (default html)")
    report.add_argument("--out", "-o", default=None, metavar="DIR",
                        help="directory for the files (default horde-results/run-ID)")
    _add_history_option(report)

    compare = commands.add_parser(
        "compare", help="per-metric deltas between two runs; exit 1 on a regression"
    )
    compare.add_argument("run_a", metavar="RUN_A", help="the baseline run")
    compare.add_argument("run_b", metavar="RUN_B", help="the run to judge against it")
    compare.add_argument("--tolerance", default="10%",
                         help="least change that matters: B's median second worse than A's "
                              "by more than this (default 10%%)")
    compare.add_argument("--latency-floor", default="1ms", metavar="DURATION",
                         help="latency changes smaller than this are noise (default 1ms)")
    compare.add_argument("--confidence", default="99%",
                         help="how sure the significance test must be that a change is not "
                              "noise (default 99%%)")
    compare.add_argument("--force", action="store_true",
                         help="compare runs of different scenarios anyway")
    compare.add_argument("--metric", "-m", action="append", default=[], metavar="GLOB",
                         help="compare only matching figures, e.g. 'http_req:*', '* p95', "
                              "throughput (repeatable, comma-separated)")
    _add_history_option(compare)


def _add_output_options(p: argparse.ArgumentParser) -> None:
    """Report files and the run history: for ``run`` and ``demo`` (one run each)."""
    p.add_argument("--format", "-f", action="append", default=[], metavar="LIST",
                   help="report files to write: json,html,md,csv,junit (default json, "
                        "only with --out; without --out they go to horde-results/)")
    _add_history_option(p)
    p.add_argument("--no-history", action="store_true",
                   help="do not record this run in the run history")


def _add_history_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--history", default=None, metavar="PATH",
                   help="run history file (default $HORDE_HISTORY, else ./horde-runs.sqlite)")


def _add_ui_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ui", action="store_true",
                   help="serve the live dashboard: charts, set users, stop (docs/dashboard.md)")
    p.add_argument("--ui-host", default="127.0.0.1",
                   help="dashboard address (default 127.0.0.1); any other needs a token")
    p.add_argument("--ui-port", type=int, default=8089,
                   help="dashboard port (default 8089; 0 picks a free one)")
    p.add_argument("--ui-token", default=None,
                   help="dashboard token (generated and printed when --ui-host is not loopback)")


def _add_monitor_options(p: argparse.ArgumentParser, *, demo: bool = False) -> None:
    """Live monitoring; ``horde demo`` always watches its own server (no pid or command to
    give) after a shorter idle baseline."""
    p.add_argument("--monitor-interval", default=None, metavar="DURATION",
                   help="terminal monitor refresh (default 1s; 5s when not a terminal)")
    p.add_argument("--prometheus-port", type=int, default=None, metavar="PORT",
                   help="serve Prometheus metrics on PORT (0 picks a free one)")
    p.add_argument("--prometheus-host", default="127.0.0.1",
                   help="Prometheus endpoint address (default 127.0.0.1)")
    baseline = "1s" if demo else "2s"
    p.add_argument("--baseline", default=baseline, metavar="DURATION",
                   help=f"sample the monitored target idle for this long first "
                        f"(default {baseline})")
    if demo:
        return
    p.add_argument("--monitor-pid", type=int, default=None, metavar="PID",
                   help="monitor the target's process: CPU, RSS, threads, files, sockets")
    p.add_argument("--server-cmd", default=None, metavar="CMD",
                   help="start the target with CMD, wait for --target's port, monitor it, "
                        "stop it at the end")


def _add_demo_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fault", action="append", default=[], metavar="NAME",
                   help="switch on one of the demo server's faults (repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="a demo server setting, e.g. capacity=5 (repeatable)")
    p.add_argument("--example", default=None, metavar="NAME",
                   help="run another example against the demo server, e.g. chatbot_llm "
                        "(default: the demo's own, NAME.py; 'horde examples' lists them)")


def _at_least_one(text: str) -> int:
    """A count flag, refused while the flags are read: before the scenario and the
    typed config are loaded, so a mistyped count answers at once."""
    value = int(text)  # argparse words a ValueError as "invalid _at_least_one value"
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _above_zero(text: str) -> float:
    """A rate flag, refused while the flags are read (see :func:`_at_least_one`)."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


_at_least_one.__name__ = "int"  # "invalid int value: 'many'", as before
_above_zero.__name__ = "float"


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", "-c", default=None, metavar="FILE",
                   help="YAML or TOML file holding any of these options; flags override it")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="set a scenario parameter (repeatable)")
    p.add_argument("--users", "-u", type=_at_least_one, default=None,
                   help="virtual users (default 10)")
    p.add_argument("--spawn-rate", "-r", type=_above_zero, default=None,
                   help="users started per second")
    p.add_argument("--duration", "-d", default=None, help="e.g. 30s, 5m (default 30s)")
    p.add_argument("--iterations", "-i", type=_at_least_one, default=None,
                   help="behaviour runs per user")
    p.add_argument("--out", "-o", default=None,
                   help="directory for results.json and the --format files")
    p.add_argument("--timeout", default=None, help="default per-operation timeout (30s)")
    p.add_argument("--graceful-stop", default=None, metavar="DURATION",
                   help="at the end, let iterations in flight finish for up to DURATION "
                        "(default 0: cut them off)")
    p.add_argument("--stop-timeout", default=None, metavar="DURATION",
                   help="how long each user's @on_stop may take (default 5s)")
    p.add_argument("--on-error", default=None, choices=["continue", "restart"],
                   help="after a failed iteration: go on (default) or restart the user")
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
    p.add_argument("--local-ips", action="append", default=[], metavar="LIST",
                   help="source addresses new connections take in turn, past one address's "
                        "ports: ranges, CIDRs, addresses, e.g. '127.0.0.2-127.0.0.40' "
                        "(repeatable; see docs/scaling.md)")
    _add_worker_options(p)
    _add_safety_options(p)


def _add_worker_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", "-w", default=None, metavar="N|auto",
                   help="engine processes sharing the load (auto: one per core); more than "
                        "one runs on Ray (pip install 'horde[cluster]'); see docs/scaling.md")
    p.add_argument("--cluster", default=os.environ.get("RAY_ADDRESS") or None,
                   metavar="ADDRESS",
                   help="place the workers on this Ray cluster (default: $RAY_ADDRESS)")
    p.add_argument("--on-worker-lost", default=None, choices=["abort", "continue"],
                   help="when a worker dies: end the run (default) or go on without it")


def _add_safety_options(p: argparse.ArgumentParser) -> None:
    """Which hosts may be reached, TLS verification, the hard time limit (docs/safety.md)."""
    p.add_argument("--allow-hosts", action="append", default=[], metavar="LIST",
                   help="connect only to these hosts: CIDRs and hostname globs, "
                        "comma-separated (repeatable)")
    p.add_argument("--deny-hosts", action="append", default=[], metavar="LIST",
                   help="never connect to these: CIDRs and hostname globs, e.g. "
                        "'10.0.0.0/8,*.internal' (repeatable)")
    p.add_argument("--ca-bundle", default=None, metavar="PATH",
                   help="PEM file of CA certificates to trust instead of the system's")
    p.add_argument("--insecure", action="store_true", default=None,
                   help="do not verify TLS certificates (a warning is printed)")
    p.add_argument("--max-duration", default=None, metavar="DURATION",
                   help="hard limit on the load phase, whatever else says (default 6h)")


def exit_at_once(signame: str) -> NoReturn:
    """A second SIGINT or SIGTERM while the run was already stopping: out now, without
    results — no cleanup, no flushing (what is already written stays written)."""
    os._exit(exitcodes.INTERRUPTED_TWICE)


def main(argv: Sequence[str] | None = None) -> int:
    from horde.engine.loop import caught_early_signals

    with caught_early_signals(exit_at_once):  # a Ctrl-C while starting still ends in results
        try:
            return _main(argv)
        except BrokenPipeError:
            # The reader went away (`horde examples | head`): stop quietly, as Unix tools
            # do, and keep Python from failing again on flushing stdout at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return exitcodes.BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "serve":
            return _serve(args)
        if args.command == "demo":
            return _demo(args)
        if args.command == "examples":
            return _examples(args)
        if args.command == "plan":
            return _plan(args)
        if args.command == "capacity":
            return _capacity(args)
        if args.command == "runs":
            return _runs(args)
        if args.command == "report":
            return _report(args)
        if args.command == "compare":
            return _compare(args)
        return _run(args, Path(args.scenario) if args.scenario else None, args.target)
    except UsageError as exc:
        print(f"horde: error: {exc}", file=sys.stderr)
        return exitcodes.USAGE


def _run_config(
    args: argparse.Namespace, scenario: Path | None, target: str | None
) -> tuple[Any, Any]:
    """The scenario's ``OPTIONS``, overridden by the config file, overridden by every flag
    given, as a typed RunConfig — and the loaded scenario."""
    if scenario is not None and not scenario.is_file():  # before pydantic and the config
        raise ScenarioError(f"{scenario}: scenario file not found")
    from pydantic import ValidationError

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
        config = RunConfig(**values)
    except ValidationError as exc:
        raise ConfigError(_first_problem(exc)) from None
    _check_safety(config)
    return config, loaded


def _check_safety(config: Any) -> None:
    """Refuse a target the host policy denies before anything starts; warn about --insecure."""
    from horde.safety.hosts import target_refusal

    reason = target_refusal(config.target, config.host_policy)
    if reason is not None:
        raise ConfigError(f"target {reason}")
    if config.insecure:
        from horde.safety.tls import INSECURE_WARNING

        print(f"horde: warning: {INSECURE_WARNING}", file=sys.stderr)


def _flag_values(args: argparse.Namespace) -> dict[str, Any]:
    """Only the flags actually given: they override the config file."""
    from horde.config.load import run_config_values
    from horde.scenario.params import parse_param_flags

    options = {key: getattr(args, key) for key in (
        "users", "spawn_rate", "iterations", "seed", "shape", "connect", "circuit_breaker",
        "abort_on_fail", "log_level", "duration", "timeout", "abort_grace", "out", "quiet",
        "graceful_stop", "stop_timeout",
        "allow_hosts", "deny_hosts", "ca_bundle", "insecure", "max_duration", "on_error",
        "workers", "cluster", "on_worker_lost", "local_ips",
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


def _warn_users_ignored(args: argparse.Namespace, planned: int) -> None:
    """A user count given on the command line or in the config file means nothing to a
    scenario whose ROLES say who takes part: say so, in one line, rather than drop it."""
    from horde.config.load import read_config_file

    in_file = read_config_file(args.config).get("users") if args.config else None
    if args.users is not None:
        given = f"--users {args.users}"
    elif in_file is not None:
        given = f"users: {in_file} in {args.config}"
    else:
        return
    print(f"horde: warning: {given} is ignored: the scenario's ROLES start exactly "
          f"{planned} users", file=sys.stderr)


def _run(args: argparse.Namespace, scenario_path: Path, target: str) -> int:
    config, scenario = _run_config(args, scenario_path, target)
    logging.basicConfig(level=config.log_level, format=LOG_FORMAT)
    from horde.assembly import assemble, cast
    from horde.engine.loop import run_with_signals
    from horde.engine.source_ports import check_source_ports
    from horde.store import history_path

    config, roster = cast(config, scenario)  # bad input fails here, before load
    plan = _raise_open_files_for(config, scenario)  # each said once, before load
    check_source_ports(plan, config.local_ips, on_cluster=config.cluster is not None)
    if roster is not None:
        _warn_users_ignored(args, roster.size)
    formats = _formats(args)
    if args.format and config.out_dir is None:
        config = config.model_copy(update={"out_dir": Path(DEFAULT_REPORT_DIR)})
    if config.out_dir is not None:
        writable_folder(config.out_dir, "--out")
    assembly = assemble(
        config, scenario, formats=formats,
        monitor_interval_s=_interval(getattr(args, "monitor_interval", None)),
        served=_served(args), watched=_watched(args),
        history=history_path(args.history, disabled=args.no_history),
    )

    async def main(stop: asyncio.Event) -> dict[str, Any]:
        _freeze_gc()
        return await assembly.run(stop)

    results = run_with_signals(main, use_uvloop=not args.no_uvloop,
                               on_second_signal=exit_at_once)
    return exitcodes.for_run(results["status"], results["passed"])


def _raise_open_files_for(config: Any, scenario: Any) -> Any:
    """Raise the open-files limit for what ``config``'s plan needs, warning with the fix
    when the hard limit is too low; the plan."""
    from horde.engine.limits import raise_open_files
    from horde.engine.runner import plan_for

    plan = plan_for(config, scenario)
    raise_open_files(plan, config.workers)
    return plan


def _freeze_gc() -> None:
    """What exists now — imports, the scenario, the sinks — lives as long as the process:
    out of the collector's way, GC pauses stay out of the latencies. Decided here, at the
    process's edge: whoever calls ``run()`` in a process of its own (a test session)
    keeps its collector as it was."""
    gc.freeze()


def _served(args: argparse.Namespace) -> list[Any]:
    """``--ui`` and ``--prometheus-port``: the live views, made (bad options fail here),
    started around the run."""
    served: list[Any] = []
    if args.ui:
        from horde.live.dashboard import from_options

        served.append(from_options(args.ui_host, args.ui_port, args.ui_token))
    if getattr(args, "prometheus_port", None) is not None:
        from horde.live.prometheus import from_options as prometheus

        served.append(prometheus(args.prometheus_host, args.prometheus_port))
    return served


def writable_folder(path: Path, flag: str) -> None:
    """Refuse an output path that cannot take the results before any load is sent: a file,
    a folder that cannot be made, or one horde may not write in. It is made if missing."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path}: is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot make this folder: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: this folder is not writable")


def _interval(text: str | None) -> float | None:
    if text is None:
        return None
    seconds = parse_duration(text)
    if seconds < 1:
        raise ConfigError("--monitor-interval must be 1s or more (rows come once a second)")
    return seconds


def _watched(args: argparse.Namespace) -> dict[str, Any]:
    """``--monitor-pid`` / ``--server-cmd`` / ``--baseline`` for ``watch_target``."""
    pid, cmd = getattr(args, "monitor_pid", None), getattr(args, "server_cmd", None)
    if pid is not None and cmd is not None:
        raise ConfigError("give --monitor-pid or --server-cmd, not both")
    baseline = parse_duration(getattr(args, "baseline", None) or "2s")
    if baseline < 0:
        raise ConfigError("--baseline must not be negative")
    return {"pid": pid, "cmd": cmd, "baseline_s": baseline}


def _formats(args: argparse.Namespace) -> list[str]:
    """``--format`` values (repeatable, comma-separated), checked before any load is sent."""
    from horde.report.formats import check_formats

    return check_formats([f for text in args.format for f in text.split(",")])


def _capacity(args: argparse.Namespace) -> int:
    from horde.assembly import run
    from horde.capacity.output import print_capacity, print_step, write_capacity
    from horde.capacity.search import SearchPlan, StopSearch, search
    from horde.engine.loop import run_with_signals
    from horde.scenario.params import make_params

    base, scenario = _run_config(
        args, Path(args.scenario) if args.scenario else None, args.target
    )
    if not (base.thresholds or scenario.thresholds):
        raise UsageError("capacity needs at least one --threshold: it defines 'held'")
    if base.out_dir is not None:
        writable_folder(base.out_dir, "--out")
    if min(args.start, args.step, args.max) < 1:
        raise UsageError("--start, --step and --max must be at least 1")
    make_params(scenario.params_type, base.params, str(base.scenario))
    plan = SearchPlan(args.start, args.step, args.max, args.bisect)
    step_s = parse_duration(args.step_duration)
    largest = base.model_copy(update={"users": args.max, "duration_s": step_s, "shape": None})
    _raise_open_files_for(largest, scenario)  # its need, said once, before load

    async def main(stop: asyncio.Event) -> Any:
        _freeze_gc()

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

    capacity = run_with_signals(main, use_uvloop=not args.no_uvloop,
                                on_second_signal=exit_at_once)
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

    if args.shape.endswith(".py"):  # a scenario's shape: in its OPTIONS, else @horde.shape
        scenario = load_scenario(args.shape)
        if scenario.options.get("shape") is not None:  # it wins in a run too (plan_for)
            plan = parse_shape(scenario.options["shape"]).plan()
        elif scenario.shape is not None:
            plan = sample_plan(scenario.shape, HARD_MAX_DURATION_S, args.shape)
        else:
            raise UsageError(f"{args.shape}: no @horde.shape function and no 'shape' in "
                             "its OPTIONS")
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
    from horde.demo.launcher import demo_process, example_path
    from horde.demo.serve import options_for

    options_for(args.name, args.fault, args.settings)  # refuse bad flags before starting
    scenario = example_path(args.example or args.name)
    server_args = [*(f"--fault={f}" for f in args.fault), *(f"--set={s}" for s in args.settings)]
    with demo_process(args.name, tuple(server_args)) as (url, pid):
        print(f"horde demo {args.name}: server on {url}, scenario {scenario}", file=sys.stderr)
        args.monitor_pid = pid  # the demo server's CPU and memory, against its idle baseline
        return _run(args, scenario, url)


def _examples(args: argparse.Namespace) -> int:
    """Where the packaged example scenarios are, or a copy of them to edit: an installed
    horde has no examples/ folder a user could find on their own."""
    from horde.demo.launcher import copy_examples, example_files, examples_dir

    if args.copy is not None:
        copied = copy_examples(Path(args.copy))
        print(f"copied {len(copied)} files into {args.copy}; run one with "
              f"'horde run {Path(args.copy) / 'echo.py'} --target URL' "
              f"or 'HORDE_EXAMPLES={args.copy} horde demo NAME'")
        return exitcodes.OK
    print("the example scenarios ('horde demo NAME' runs NAME.py; "
          "'horde examples --copy DIR' copies them to edit):")
    for name in example_files():
        print(f"  {name.as_posix():28} {examples_dir() / name}")
    return exitcodes.OK


def _runs(args: argparse.Namespace) -> int:
    from horde.store import history_path
    from horde.store.db import open_store
    from horde.store.listing import summarize
    from horde.store.rebuild import load_results
    from horde.store.tables import console, runs_table

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    path = history_path(args.history)
    if not path.exists():
        print(f"no runs yet: {path} does not exist")
        return exitcodes.OK
    store = open_store(path, create=False)
    listed = [
        (r, r.summary if r.summary is not None else summarize(load_results(store, r)))
        for r in store.runs(args.limit)
    ]
    store.close()
    out = console()
    out.print(runs_table(listed, out.width) if listed else f"no runs yet in {path}")
    return exitcodes.OK


def _report(args: argparse.Namespace) -> int:
    from horde.report.formats import write_reports
    from horde.store import history_path
    from horde.store.db import open_store
    from horde.store.rebuild import load_results

    formats = _formats(args) or ["html"]
    store = open_store(history_path(args.history), create=False)
    record = store.get(args.run)
    results = load_results(store, record)
    store.close()
    out = Path(args.out) if args.out else Path(DEFAULT_REPORT_DIR) / f"run-{record.id}"
    writable_folder(out, "--out")
    paths = write_reports(results, out, formats)
    note = " (incomplete: rebuilt from its per-second rows)" if results.get("incomplete") else ""
    print(f"run {record.id}{note}:")
    for path in paths:
        print(f"  {path}")
    return exitcodes.OK


def _compare(args: argparse.Namespace) -> int:
    from horde.store import history_path
    from horde.store.compare import compare
    from horde.store.db import open_store
    from horde.store.rebuild import load_results
    from horde.store.tables import compare_table, compare_verdict, console

    tolerance = _compare_tolerance(args)
    store = open_store(history_path(args.history), create=False)
    a, b = store.get(args.run_a), store.get(args.run_b)
    ra, rb = load_results(store, a), load_results(store, b)
    store.close()
    _check_comparable(a.id, ra, b.id, rb, args.force)
    patterns = [p.strip() for text in args.metric for p in text.split(",") if p.strip()]
    comparison = compare(ra, rb, tolerance, patterns)
    if patterns and not comparison.deltas:
        raise UsageError(f"--metric {', '.join(patterns)} matches no figure of these runs")
    out = console()
    out.print(compare_table(comparison, f"run {a.id} (A) → run {b.id} (B)"))
    for record, results in ((a, ra), (b, rb)):
        if results.get("incomplete"):
            out.print(f"note: run {record.id} is incomplete; its percentiles are approximate")
    out.print(compare_verdict(comparison))
    return exitcodes.FAILED if comparison.regressions else exitcodes.OK


def _compare_tolerance(args: argparse.Namespace) -> Any:
    from horde.store.compare import Tolerance, parse_confidence, parse_tolerance

    try:
        relative = parse_tolerance(args.tolerance)
    except ValueError:
        raise UsageError(f"bad --tolerance {args.tolerance!r}: give e.g. 10% or 0.1") from None
    try:
        confidence = parse_confidence(args.confidence)
    except ValueError:
        raise UsageError(
            f"bad --confidence {args.confidence!r}: give e.g. 99% or 0.95 (from 50% to under 100%)"
        ) from None
    return Tolerance(relative, latency_floor_ms=parse_duration(args.latency_floor) * 1000,
                     confidence=confidence)


def _check_comparable(id_a: int, ra: dict[str, Any], id_b: int, rb: dict[str, Any],
                      force: bool) -> None:
    """Runs of different scenarios are refused (unless ``force``); other differences in
    target or load are one warning line: they may explain a difference."""
    from horde.store.comparable import scenario_difference, setting_differences

    scenario = scenario_difference(ra, rb)
    if scenario and not force:
        raise UsageError(f"runs {id_a} and {id_b} are of different scenarios ({scenario}); "
                         "--force compares them anyway")
    differences = [d for d in (scenario, *setting_differences(ra, rb)) if d]
    if differences:
        print(f"horde: warning: runs {id_a} and {id_b} differ in {'; '.join(differences)}",
              file=sys.stderr)
