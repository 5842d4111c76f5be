"""Configuration input, fuzzed: a config file (random YAML/TOML documents, random values
for every key), threshold expressions, load shape and connection specs, durations. Each
either gives a valid value or raises a :class:`ConfigError` (a one-line, exit-2 usage
error) — never another exception, and never a plan that does not finish computing."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path

import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from horde.config.load import FileConfig, read_config_file
from horde.config.model import RunConfig
from horde.durations import parse_duration
from horde.errors import ConfigError
from horde.metrics.thresholds import parse_threshold
from horde.shapes.connect import parse_connect
from horde.shapes.registry import SHAPES, parse_shape
from horde.shapes.render import render_plan

from .settings import FUZZ

# -- values ---------------------------------------------------------------------------

DURATIONS = st.one_of(
    st.sampled_from(["30s", "1m", "1h30m", "250ms", "0", "-1s", "1e999", "nan", "inf", "5x",
                     "", " ", "1.5m", "7h", "0.0001s"]),
    st.builds("".join, st.lists(st.sampled_from(["1", "0", ".", "5", "ms", "s", "m", "h", "-",
                                                 "e", " "]), max_size=6)),
)
NUMBERS = st.one_of(st.integers(-5, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["1", "0.5", "-1", "1e9", "nan", "x"]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=20), DURATIONS)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)


def _spec(names: list[str], keys: list[str]) -> st.SearchStrategy[str]:
    """``name(key=value, ...)`` with plausible or broken parts."""
    arg = st.builds(lambda k, sep, v: f"{k}{sep}{v}", st.sampled_from([*keys, "x", ""]),
                    st.sampled_from(["=", "=", ":", ""]),
                    st.one_of(DURATIONS, NUMBERS.map(str), st.text(max_size=4)))
    return st.one_of(
        st.builds(lambda n, args, close: f"{n}({', '.join(args)}{close}",
                  st.sampled_from([*names, "nope", ""]), st.lists(arg, max_size=5),
                  st.sampled_from([")", ")", "", "))"])),
        st.text(max_size=30),
    )


SHAPE_SPECS = _spec(list(SHAPES), ["users", "duration", "spawn_rate", "to", "over", "start",
                                   "hold", "size", "every", "count", "increment", "interval",
                                   "max", "rate", "max_concurrent", "max-concurrent"])
STAGE_SPECS = st.builds(lambda parts: f"stages({', '.join(parts)})",
                        st.lists(st.builds(lambda d, u: f"{d}:{u}", DURATIONS,
                                           NUMBERS.map(str)), max_size=4))
CONNECT_SPECS = _spec(["gradual", "burst", "immediate"], ["rate", "size", "every"])
THRESHOLDS = st.one_of(
    st.builds(lambda agg, metric, tags, op, value: f"{agg}({metric}{tags}) {op} {value}",
              st.sampled_from(["p95", "p50", "p999", "max", "mean", "count", "rate", "p", "x"]),
              st.sampled_from(["latency", "http_req", "ws_reply", "", "a b"]),
              st.sampled_from(["", "{name=login}", "{name=}", "{=x}", "{name=a,b=c}", "{"]),
              st.sampled_from(["<", ">", "<=", "==", "!=", "=", "<<", ""]),
              st.one_of(DURATIONS, NUMBERS.map(str))),
    st.builds(lambda path, op, value: f"{path} {op} {value}",
              st.sampled_from(["connections.success_rate", "errors.rate", "errors.http_503",
                               "checks.rate", "a..b", ".", ""]),
              st.sampled_from(["<", ">", "=="]), NUMBERS.map(str)),
    st.text(max_size=40),
)


# -- the parsers ------------------------------------------------------------------------


@FUZZ
@given(DURATIONS)
def test_durations(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except ConfigError:
        return
    assert 0 <= seconds < math.inf


@FUZZ
@given(st.one_of(SHAPE_SPECS, STAGE_SPECS))
@example("steps(start=1, increment=0, interval=1s, max=5)")
@example("burst(size=1, every=0s, count=1000000000)")
@example("arrival-rate(rate=1e308, duration=1e308)")
@example("stages()")  # found: planned nothing, and `horde plan` crashed drawing it
@example("burst(size=1, every=1s, count=0)")
def test_shape_specs(spec: str) -> None:
    try:
        shape = parse_shape(spec)
        plan = shape.plan()  # the deadline catches a plan that never finishes
    except ConfigError:
        return
    assert render_plan(plan)  # what `horde plan` prints


@FUZZ
@given(CONNECT_SPECS, st.integers(1, 10**6), st.floats(0.001, 1e6))
def test_connect_specs(spec: str, users: int, deadline: float) -> None:
    with contextlib.suppress(ConfigError):
        parse_connect(spec).plan(users, deadline)


@FUZZ
@given(THRESHOLDS)
def test_thresholds(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_threshold(text)


# -- config files and RunConfig -----------------------------------------------------------

KEYS = [*FileConfig.model_fields, "unknown_key"]


def _documents() -> st.SearchStrategy[tuple[str, str]]:
    """(suffix, text): YAML or TOML rendered from random settings, or raw text."""
    settings = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6)
    as_yaml = settings.map(lambda d: (".yaml", yaml.safe_dump(d, allow_unicode=True)))
    as_toml = settings.map(lambda d: (".toml", _toml(d)))
    raw = st.tuples(st.sampled_from([".yaml", ".yml", ".toml"]), st.text(max_size=120))
    return st.one_of(as_yaml, as_toml, raw)


def _toml(settings: dict) -> str:
    """A TOML-ish rendering (JSON values are close enough to TOML to reach the parser's
    corners; what is not valid TOML must still be reported as such)."""
    return "\n".join(f"{key} = {json.dumps(value)}" for key, value in settings.items())


@FUZZ
@given(_documents())
@example((".yaml", "duration: .nan\n"))
@example((".yaml", "users: 1e400\n"))
@example((".toml", "timeout = inf\n"))
@example((".yaml", "scenario: \"\\0\"\n"))
@example((".yaml", "!!python/object:os.system {}\n"))
@example((".yaml", "- just\n- a list\n"))
@example((".yaml", "max_duration: 1s\nduration: 2s\n"))
@example((".yaml", "allow_hosts: [10.0.0.0/8, 5]\n"))
def test_config_file(tmp_path_factory, document: tuple[str, str]) -> None:
    suffix, text = document
    path = Path(tmp_path_factory.mktemp("cfg")) / f"horde{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        values = read_config_file(path)
    except ConfigError as exc:
        assert str(exc).startswith(str(path)), exc  # names the file
        return
    values.setdefault("scenario", Path("s.py"))
    values.setdefault("target", "http://127.0.0.1:1")
    try:
        config = RunConfig(**values)
    except ValidationError:
        return  # the CLI reports these as one ConfigError per key (tests/cli)
    except ConfigError:
        return
    assert config.deadline_s <= config.max_duration_s
    config.plan  # noqa: B018 - a valid config's plan must compute


@FUZZ
@given(st.dictionaries(st.sampled_from([
    "users", "spawn_rate", "duration_s", "iterations", "max_duration_s", "timeout_s",
    "thresholds", "shape", "connect", "circuit_breaker", "allow_hosts", "deny_hosts",
    "abort_grace_s", "seed", "log_level", "insecure", "target", "params"]), VALUES, max_size=5))
def test_run_config_values(values: dict) -> None:
    values = {"scenario": Path("s.py"), "target": "http://127.0.0.1:1", **values}
    try:
        config = RunConfig(**values)
    except (ValidationError, ConfigError):
        return
    config.plan  # noqa: B018
    config.host_policy  # noqa: B018
