"""Shapes by their user-facing names, built from a spec such as
``steps(start=10, increment=50, interval=3m, max=500)`` or ``stages(30s:100, 1m:0)``.
The only place that parses a shape spec; everything after it takes a typed shape."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import fields
from typing import Any, Protocol

from horde.durations import parse_duration
from horde.errors import ConfigError
from horde.shapes.arrival_rate import ArrivalRate
from horde.shapes.burst import Burst
from horde.shapes.constant import Constant
from horde.shapes.plan import Plan
from horde.shapes.ramp import Ramp
from horde.shapes.stages import Stages
from horde.shapes.steps import Steps


class Shape(Protocol):
    def plan(self) -> Plan: ...


SHAPES: dict[str, type] = {
    "constant": Constant,
    "ramp": Ramp,
    "burst": Burst,
    "steps": Steps,
    "arrival-rate": ArrivalRate,
    "stages": Stages,
}
DURATIONS = {"duration", "over", "hold", "every", "interval"}  # "30s", "1m" accepted
_SPEC = re.compile(r"^\s*(?P<name>[a-z-]+)\s*(\((?P<args>.*)\))?\s*$")


def parse_shape(spec: str) -> Shape:
    name, args = split_spec(spec, "shape")
    cls = SHAPES.get(name)
    if cls is None:
        raise ConfigError(f"unknown shape {name!r}; choose from: {', '.join(SHAPES)}")
    if cls is Stages:
        shape: Shape = Stages(tuple(_stage(spec, part) for part in _split(args)))
    else:
        shape = build_from_args(spec, cls, args)
    if not shape.plan().segments:  # stages(), burst(count=0): nothing to run or to show
        raise ConfigError(f"bad shape {spec!r}: it plans no load at all")
    return shape


def split_spec(spec: str, kind: str) -> tuple[str, str]:
    """``name(key=value, ...)`` → (name, the text between the parentheses)."""
    found = _SPEC.match(spec)
    if not found:
        raise ConfigError(f"bad {kind} {spec!r}: expected NAME(key=value, ...)")
    return found["name"], (found["args"] or "").strip()


def build_from_args(spec: str, cls: type, args: str) -> Any:
    """An instance of dataclass ``cls`` from ``key=value, ...``, checked and converted."""
    return _build(spec, cls, dict(_pair(spec, part) for part in _split(args)))


def _split(args: str) -> list[str]:
    return [part.strip() for part in args.split(",") if part.strip()]


def _pair(spec: str, part: str) -> tuple[str, str]:
    key, sep, value = part.partition("=")
    if not sep:
        raise ConfigError(f"bad shape {spec!r}: {part!r} should be key=value")
    return key.strip().replace("-", "_"), value.strip()


def _stage(spec: str, part: str) -> tuple[float, int]:
    duration, sep, target = part.partition(":")
    if not sep:
        raise ConfigError(f"bad shape {spec!r}: stage {part!r} should be DURATION:USERS")
    return parse_duration(duration), _number(spec, "users", target, int)


def _build(spec: str, cls: type, raw: dict[str, str]) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigError(
            f"bad shape {spec!r}: unknown {', '.join(sorted(unknown))}; "
            f"{cls.__name__.lower()} takes {', '.join(known)}"
        )
    missing = [n for n, f in known.items() if n not in raw and _required(f)]
    if missing:
        raise ConfigError(f"bad shape {spec!r}: missing {', '.join(missing)}")
    values: dict[str, Any] = {}
    for key, text in raw.items():
        if key in DURATIONS:
            values[key] = parse_duration(text)
        else:
            values[key] = _number(spec, key, text, int if "int" in str(known[key].type) else float)
    try:
        shape = cls(**values)  # a shape refuses what it cannot plan (ValueError)
    except ValueError as exc:
        raise ConfigError(f"bad shape {spec!r}: {exc}") from None
    _check_positive(spec, values)
    return shape


def _required(f: Any) -> bool:
    from dataclasses import MISSING

    return f.default is MISSING


def _number(spec: str, key: str, text: str, kind: Callable[[str], Any]) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"bad shape {spec!r}: {key}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"bad shape {spec!r}: {key}={text!r} is not a finite number")
    return value


def _check_positive(spec: str, values: dict[str, Any]) -> None:
    for key, value in values.items():
        if value is not None and value < 0:
            raise ConfigError(f"bad shape {spec!r}: {key} must not be negative")
