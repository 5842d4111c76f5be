"""The typed settings of one run. Everything after the CLI takes these, never raw input."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from horde.durations import format_duration
from horde.metrics.thresholds import Threshold, parse_threshold
from horde.protocols.target_urls import validate_target
from horde.safety.hosts import HostPolicy, parse_rules
from horde.shapes.connect import parse_connect
from horde.shapes.constant import Constant
from horde.shapes.plan import Plan
from horde.shapes.registry import parse_shape
from horde.transports.local_addresses import check_target_version, parse_local_ips

DEFAULT_DURATION_S = 30.0
HARD_MAX_DURATION_S = 6 * 3600.0  # a run never outlives this unless asked


class RunConfig(BaseModel):
    """How many users, how fast they arrive, for how long, against what."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scenario: Path
    target: str
    users: int = Field(default=10, ge=1, le=1_000_000)
    spawn_rate: float | None = Field(default=None, gt=0, description="users started per second")
    duration_s: float | None = Field(default=None, gt=0)
    iterations: int | None = Field(default=None, ge=1, description="behaviour runs per user")
    max_duration_s: float = Field(default=HARD_MAX_DURATION_S, gt=0)
    out_dir: Path | None = None
    timeout_s: float = Field(default=30.0, gt=0, description="default per-operation timeout")
    on_error: Literal["continue", "restart"] = Field(
        default="continue", description="after a failed iteration: go on, or restart the user")
    stop_grace_s: float = Field(default=5.0, ge=0, description="wait for users at the end")
    stop_timeout_s: float = Field(
        default=5.0, ge=0, description="how long each @on_stop may take (--stop-timeout)")
    graceful_stop_s: float = Field(
        default=0.0, ge=0, description="at the end, let iterations in flight finish this long"
    )
    seed: int | None = None
    progress: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    thresholds: tuple[str, ...] = ()
    params: dict[str, Any] = Field(default_factory=dict, description="scenario parameters")
    shape: str | None = Field(default=None, description="a load shape spec; replaces users")
    connect: str | None = Field(
        default=None, description="connection strategy: gradual(rate=R), burst(size=B), immediate"
    )
    abort_on_fail: bool = False
    abort_grace_s: float = Field(default=10.0, ge=0, description="no live abort before this")
    circuit_breaker: float | None = Field(
        default=None, ge=0, le=1, description="stop adding users above this connect failure rate"
    )
    allow_hosts: tuple[str, ...] = Field(default=(), description="CIDRs/globs; others refused")
    deny_hosts: tuple[str, ...] = Field(default=(), description="CIDRs/globs never connected to")
    ca_bundle: Path | None = Field(default=None, description="PEM file of CAs to trust for TLS")
    insecure: bool = Field(default=False, description="skip TLS verification (warned about)")
    local_ips: tuple[str, ...] = Field(
        default=(), description="source addresses connections take in turn: ranges, CIDRs")
    workers: int | Literal["auto"] = Field(
        default=1, description="engine processes: a number, or auto (one per available core)")
    cluster: str | None = Field(
        default=None, description="a Ray cluster's address: workers are placed on its nodes")
    on_worker_lost: Literal["abort", "continue"] = Field(
        default="abort", description="when a worker dies: end the run, or go on without it")

    @field_validator("workers")
    @classmethod
    def _workers(cls, value: int | str) -> int | str:
        if value != "auto" and (not isinstance(value, int) or not 1 <= value <= 4096):
            raise ValueError(f"{value}: give a number from 1 to 4096, or auto")
        return value

    @field_validator("allow_hosts", "deny_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...], info: Any) -> tuple[str, ...]:
        return parse_rules(value, "--" + info.field_name.replace("_", "-"))

    @field_validator("local_ips")
    @classmethod
    def _local_ips(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return parse_local_ips(value)

    @field_validator("ca_bundle")
    @classmethod
    def _ca_bundle(cls, value: Path | None) -> Path | None:
        from horde.safety.tls import check_ca_bundle  # imports the transports: only if used

        return None if value is None else check_ca_bundle(value)

    @property
    def host_policy(self) -> HostPolicy:
        """Which hosts the run may send load to (``allow_hosts``, ``deny_hosts``)."""
        return HostPolicy.parse(self.allow_hosts, self.deny_hosts)

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return validate_target(value)

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            parse_threshold(text)  # a ConfigError names the expression and the problem
        return value

    @field_validator("shape")
    @classmethod
    def _shape(cls, value: str | None) -> str | None:
        if value is not None:
            parse_shape(value)  # a ConfigError names the spec and the problem
        return value

    @field_validator("connect")
    @classmethod
    def _connect(cls, value: str | None) -> str | None:
        if value is not None:
            parse_connect(value)
        return value

    @property
    def plan(self) -> Plan:
        """What the load does over time: the shape's plan, ``users`` connecting as the
        connection strategy says, or ``users`` arriving at ``spawn_rate``; held until
        the deadline."""
        if self.shape is not None:
            return parse_shape(self.shape).plan()
        if self.connect is not None:
            return parse_connect(self.connect).plan(self.users, self.deadline_s)
        return Constant(self.users, self.deadline_s, self.effective_spawn_rate).plan()

    @property
    def parsed_thresholds(self) -> tuple[Threshold, ...]:
        """``thresholds`` parsed (each was checked when the config was made)."""
        return tuple(parse_threshold(t) for t in self.thresholds)

    @model_validator(mode="after")
    def _local_ips_reach_target(self) -> RunConfig:
        check_target_version(self.local_ips, self.target)
        return self

    @model_validator(mode="after")
    def _shape_or_users(self) -> RunConfig:
        # from different layers the upper one wins (config.load); from one, it's a conflict
        given = [name.replace("_", "-") for name in ("users", "spawn_rate", "connect")
                 if name in self.model_fields_set]
        if self.shape is not None and given:
            raise ValueError(f"shape and {' and '.join(given)} both given: a shape sets "
                             "the users itself; give one or the other")
        return self

    @model_validator(mode="after")
    def _default_duration(self) -> RunConfig:
        if self.duration_s is None and self.iterations is None:
            object.__setattr__(self, "duration_s", DEFAULT_DURATION_S)
            self.model_fields_set.discard("duration_s")  # a default, not given (a None was)
        if self.duration_s is not None and self.duration_s > self.max_duration_s:
            raise ValueError(
                f"duration {format_duration(self.duration_s)} is longer than max-duration "
                f"{format_duration(self.max_duration_s)}: raise --max-duration to run longer"
            )
        return self

    @property
    def given_duration_s(self) -> float | None:
        """The duration someone set (not the 30 s default): it also ends a shape early."""
        return self.duration_s if "duration_s" in self.model_fields_set else None

    @property
    def effective_spawn_rate(self) -> float:
        """Users per second; by default all users start within one second."""
        return self.spawn_rate or float(self.users)

    @property
    def deadline_s(self) -> float:
        """When a ``users`` run's load phase ends at the latest (a shape has its own end)."""
        limit = self.duration_s if self.duration_s is not None else self.max_duration_s
        return min(limit, self.max_duration_s)
