"""Read a config file (YAML or TOML): the only place that parses raw configuration.

Every problem in the file is reported at once, each naming the file, the key, what is
wrong and what is allowed; the result is a dict in :class:`RunConfig`'s terms that the
command line then overrides flag by flag.

```yaml
scenario: examples/chsh.py
target: http://127.0.0.1:8080
connect: gradual(rate=20)
duration: 5m
thresholds: ["p95(latency) < 100ms", "connections.success_rate > 0.95"]
params: {teams: 100, pattern: human_like}
```
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from horde.durations import parse_duration
from horde.errors import ConfigError, HordeError, ScenarioError
from horde.metrics.thresholds import parse_threshold
from horde.protocols.target_urls import validate_target
from horde.safety.hosts import parse_rules
from horde.shapes.connect import parse_connect
from horde.shapes.registry import parse_shape
from horde.transports.local_addresses import parse_local_ips

Duration = str | float | int


class FileConfig(BaseModel):
    """The keys a config file may hold (the same as the command line's options)."""

    model_config = ConfigDict(extra="forbid")

    scenario: str | None = None
    target: str | None = None
    users: int | None = Field(default=None, ge=1)
    spawn_rate: float | None = Field(default=None, gt=0)
    duration: Duration | None = None
    iterations: int | None = Field(default=None, ge=1)
    shape: str | None = None
    connect: str | None = None
    out: str | None = None
    timeout: Duration | None = None
    graceful_stop: Duration | None = None
    stop_timeout: Duration | None = None
    on_error: Literal["continue", "restart"] | None = None
    seed: int | None = None
    thresholds: list[str] = Field(default_factory=list)
    abort_on_fail: bool | None = None
    abort_grace: Duration | None = None
    circuit_breaker: float | None = Field(default=None, ge=0, le=1)
    quiet: bool | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    max_duration: Duration | None = None
    allow_hosts: list[str] | str | None = None  # a list, or one comma-separated string
    deny_hosts: list[str] | str | None = None
    ca_bundle: str | None = None
    insecure: bool | None = None
    local_ips: list[str] | str | None = None  # a list, or one comma-separated string
    workers: int | str | None = None
    cluster: str | None = None
    on_worker_lost: Literal["abort", "continue"] | None = None

    @field_validator("duration", "timeout", "abort_grace", "max_duration", "graceful_stop",
                     "stop_timeout")
    @classmethod
    def _duration(cls, value: Duration | None) -> Duration | None:
        return None if value is None else _checked(parse_duration, value)

    @field_validator("target")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        return None if value is None else _checked(validate_target, value)

    @field_validator("shape")
    @classmethod
    def _shape(cls, value: str | None) -> str | None:
        if value is not None:
            _checked(parse_shape, value)
        return value

    @field_validator("connect")
    @classmethod
    def _connect(cls, value: str | None) -> str | None:
        if value is not None:
            _checked(parse_connect, value)
        return value

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: list[str]) -> list[str]:
        for text in value:
            _checked(parse_threshold, text)
        return value

    @field_validator("allow_hosts", "deny_hosts")
    @classmethod
    def _hosts(cls, value: list[str] | str | None, info: Any) -> list[str] | None:
        if value is None:
            return None
        items = [value] if isinstance(value, str) else value
        return list(_checked(parse_rules, items, info.field_name.replace("_", "-")))

    @field_validator("local_ips")
    @classmethod
    def _local_ips(cls, value: list[str] | str | None) -> list[str] | None:
        return None if value is None else list(_checked(parse_local_ips, value, "local-ips"))


def _checked(parse: Any, value: Any, *more: Any) -> Any:
    """Run one of horde's own parsers; its error becomes a pydantic error for this key."""
    try:
        return parse(value, *more)
    except HordeError as exc:
        raise ValueError(str(exc)) from None


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The file's settings in RunConfig's terms; :class:`ConfigError` lists every problem."""
    file = Path(path)
    raw = _parse(file)
    try:
        config = FileConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_problems(file, exc)) from None
    return _as_run_config(config, file)


def options_values(raw: object, where: str) -> dict[str, Any]:
    """A scenario's ``OPTIONS`` (run defaults, keyed like a config file) in RunConfig's
    terms, checked like a config file: every problem at once, as a ScenarioError."""
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a dict of config-file keys")
    if "scenario" in raw:
        raise ScenarioError(f"{where}: scenario: a scenario cannot name another one")
    try:
        config = FileConfig.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_problems(where, exc)) from None
    return run_config_values(config.model_dump())


# A layer that sets any key on the left drops the keys on the right inherited from the
# layers below: ``--users 3`` over a scenario's ``shape`` means 3 users; ``--shape`` over
# ``OPTIONS = {"users": 10, "duration": "60s"}`` runs the whole shape (that duration was
# the users run's length), while ``--duration`` over a shape ends it early (plan_for).
_OVERRIDES = (
    (frozenset({"shape"}), frozenset({"users", "spawn_rate", "connect", "duration_s"})),
    (frozenset({"users", "spawn_rate", "connect"}), frozenset({"shape"})),
)


def layer_values(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """RunConfig values from sources in rising priority (scenario OPTIONS, config file,
    flags): later ones override key by key, ``params`` merge name by name."""
    values: dict[str, Any] = {}
    for layer in layers:
        for sets, drops in _OVERRIDES:
            if sets & layer.keys():
                for key in drops - layer.keys():
                    values.pop(key, None)
        params = {**values.get("params", {}), **layer.get("params", {})}
        values.update(layer)
        if params:
            values["params"] = params
    return values


def _parse(file: Path) -> dict[str, Any]:
    if not file.is_file():
        raise ConfigError(f"{file}: config file not found")
    text = file.read_text()
    try:
        data = tomllib.loads(text) if file.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{file}: not valid {_kind(file)}: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping of settings at the top level")
    return data


def _kind(file: Path) -> str:
    return "TOML" if file.suffix == ".toml" else "YAML"


def _problems(file: Path | str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            allowed = ", ".join(FileConfig.model_fields)
            message = f"unknown key (allowed: {allowed})"
        lines.append(f"{file}: {key}: {message}")
    if len(lines) == 1:
        return lines[0]
    return f"{file}: {len(lines)} problems\n" + "\n".join(f"  {line}" for line in lines)


def _as_run_config(config: FileConfig, file: Path) -> dict[str, Any]:
    """The file's settings in RunConfig's terms; relative paths are relative to the file."""
    return run_config_values(config.model_dump(), base=file.parent)


def parse_workers(value: object) -> int | str:
    """``--workers``: a whole number, or ``auto`` (one per available core)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    if not text.isdigit():
        raise ConfigError(f"workers: {value}: give a number from 1 to 4096, or auto")
    return int(text)


def run_config_values(options: dict[str, Any], base: Path | None = None) -> dict[str, Any]:
    """Options named as the file and the command line name them (``duration``, ``out``,
    ``quiet`` ...) renamed and converted to RunConfig's fields. Unset (None or empty)
    options are left out, so what is returned can override another source key by key.
    Relative ``scenario`` and ``out`` paths are taken from ``base`` when given."""
    values: dict[str, Any] = {}
    for key in ("target", "users", "spawn_rate", "iterations", "shape", "connect", "seed",
                "abort_on_fail", "circuit_breaker", "log_level", "insecure", "on_error",
                "cluster", "on_worker_lost"):
        if options.get(key) is not None:
            values[key] = options[key]
    for key, field in (("duration", "duration_s"), ("timeout", "timeout_s"),
                       ("abort_grace", "abort_grace_s"), ("max_duration", "max_duration_s"),
                       ("graceful_stop", "graceful_stop_s"),
                       ("stop_timeout", "stop_timeout_s")):
        if options.get(key) is not None:
            values[field] = parse_duration(options[key])
    for key, field in (("scenario", "scenario"), ("out", "out_dir"), ("ca_bundle", "ca_bundle")):
        if options.get(key) is not None:
            values[field] = (base / options[key]) if base else Path(options[key])
    for key in ("allow_hosts", "deny_hosts"):
        if options.get(key):
            values[key] = parse_rules(options[key], "--" + key.replace("_", "-"))
    if options.get("local_ips"):
        values["local_ips"] = parse_local_ips(options["local_ips"])
    if options.get("workers") is not None:
        values["workers"] = parse_workers(options["workers"])
    if options.get("thresholds"):
        values["thresholds"] = tuple(options["thresholds"])
    if options.get("quiet") is not None:
        values["progress"] = not options["quiet"]
    if options.get("params"):
        values["params"] = dict(options["params"])
    return values
