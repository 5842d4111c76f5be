"""Capacity search: raise the load step by step until a threshold fails.

Each step is a run of its own (``users`` constant users for ``step_duration``), judged by
the run's thresholds. The search reports the highest load that held, the first that
failed, and a row per step. When horde itself was saturated on the first failing step,
the verdict is "at least N": the limit found may be horde's, not the server's. With
``bisect`` it then halves the gap between the last pass and the first failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from horde.metrics.operations import EXCHANGE_METRICS

RunStep = Callable[[int], Awaitable[dict[str, Any]]]


class StopSearch(Exception):
    """Raised by a step runner when the search must end now (Ctrl-C)."""


@dataclass(frozen=True, slots=True)
class SearchPlan:
    start: int
    step: int
    max: int
    bisect: int = 0  # extra halvings between the last pass and the first failure

    def loads(self) -> list[int]:
        loads, n = [], self.start
        while n <= self.max:
            loads.append(n)
            n += self.step
        return loads


@dataclass(slots=True)
class Capacity:
    steps: list[dict[str, Any]] = field(default_factory=list)
    held: int | None = None
    failed: int | None = None
    generator_limited: bool = False

    def verdict(self) -> str:
        if self.failed is None:
            top = self.held if self.held is not None else 0
            return f"at least {top} users: every step held (raise --max to go further)"
        if self.generator_limited:
            return (
                f"at least {self.held or 0} users: horde was saturated when {self.failed} "
                "failed, so the limit may be horde's, not the server's"
            )
        if self.held is None:
            return f"below {self.failed} users: the first step already failed"
        return f"{self.held} users held; {self.failed} failed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "held": self.held, "failed": self.failed,
            "generator_limited": self.generator_limited, "verdict": self.verdict(),
            "steps": self.steps,
        }


async def search(plan: SearchPlan, run_step: RunStep) -> Capacity:
    """Step up until a failure (then bisect); ``run_step(users)`` returns its results."""
    capacity = Capacity()
    try:
        for users in plan.loads():
            if not await _try(users, run_step, capacity):
                break
        low, high = capacity.held, capacity.failed
        for _ in range(plan.bisect):
            if low is None or high is None or high - low <= 1 or capacity.generator_limited:
                break
            middle = (low + high) // 2
            if await _try(middle, run_step, capacity):
                low = middle
            else:
                high = middle
    except StopSearch:
        pass
    capacity.steps.sort(key=lambda s: s["users"])
    return capacity


async def _try(users: int, run_step: RunStep, capacity: Capacity) -> bool:
    results = await run_step(users)
    row = step_row(users, results)
    capacity.steps.append(row)
    if row["passed"]:
        if capacity.held is None or users > capacity.held:
            capacity.held = users
        return True
    if capacity.failed is None or users < capacity.failed:
        capacity.failed = users
        capacity.generator_limited = row["generator_saturated"]
    return False


def step_row(users: int, results: dict[str, Any]) -> dict[str, Any]:
    """One row of the capacity table, from a step's results."""
    rows = [r for r in results["timeseries"] if r.get("stage")]
    p = _percentiles(results)
    gen = results["generator"]
    ops = results["operations"]
    return {
        "users": users,
        "passed": results["passed"],
        "throughput_per_s": ops["rate_per_s"],
        "p50_ms": p[0], "p95_ms": p[1], "p99_ms": p[2],
        "error_rate": ops["error_rate"],
        "generator_cpu_percent": gen.get("cpu_percent_mean"),
        "loop_lag_p99_ms": gen.get("loop_lag_p99_ms"),
        "generator_saturated": bool(gen.get("saturated")),
        "failed_thresholds": [t["expression"] for t in results["thresholds"] if not t["passed"]],
        "seconds": len(rows),
    }


def _percentiles(results: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The step's percentiles: its busiest operation's (connects aside)."""
    requests = [m for m in results["metrics"].values()
                if m["metric"] in EXCHANGE_METRICS and m["count"]]
    if not requests:
        return None, None, None
    main = max(requests, key=lambda m: m["count"])
    return main["p50_ms"], main["p95_ms"], main["p99_ms"]
