"""The aggregator: folds each one-second window into run totals and a per-second row.

It is the only reader of the :class:`Recorder`. Totals are exact merges of the window
histograms, so a percentile over the whole run is computed from every sample, never
from averaged per-second figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from horde.metrics import names
from horde.metrics.histogram import new_histogram, percentiles_ms
from horde.metrics.operations import EXCHANGE_METRICS, OPERATION_METRICS, Outcomes
from horde.metrics.recorder import Key, Recorder, Window, merge_samples
from horde.metrics.values import second_of
from horde.redaction import known as secrets_known
from horde.redaction import redact


def _by_label(item: tuple[Key, Any]) -> str:
    return label(item[0])


def label(key: Key) -> str:
    """The name a (metric, name) pair is shown and stored under: ``metric:name``."""
    metric, name = key
    return metric if name is None else f"{metric}:{name}"


@dataclass(slots=True)
class Totals:
    latencies: dict[Key, HdrHistogram] = field(default_factory=dict)
    outcomes: dict[Key, Outcomes] = field(default_factory=dict)
    counters: dict[Key, int] = field(default_factory=dict)
    errors: dict[tuple[str, str | None], int] = field(default_factory=dict)
    values: dict[str, HdrHistogram] = field(default_factory=dict)
    bytes_sent: int = 0
    bytes_received: int = 0


@dataclass(slots=True)
class StageTotals:
    """One stage of the load plan, summed over the seconds that fell in it: its operations
    (merged, and per operation metric, so the analysis can follow each one across stages)."""

    first_t: float
    last_t: float
    replies: HdrHistogram = field(default_factory=new_histogram)
    latencies: dict[Key, HdrHistogram] = field(default_factory=dict)
    operations: int = 0
    failed: int = 0
    messages: int = 0
    errors: int = 0
    peak_users: int = 0
    peak_target: float = 0.0  # the plan's users or arrival rate: the load asked for
    peak_in_flight: int = 0
    seconds: int = 0

    def summary(self, name: str) -> dict[str, Any]:
        p50, p95, p99 = percentiles_ms(self.replies)
        seconds = max(self.last_t - self.first_t, 1e-9)
        return {
            "stage": name, "from_s": round(self.first_t, 3), "to_s": round(self.last_t, 3),
            "peak_users": self.peak_users, "peak_target": self.peak_target,
            "peak_in_flight": self.peak_in_flight, "operations": self.operations,
            "failed": self.failed, "rate_per_s": round(self.operations / seconds, 2),
            "messages": self.messages, "errors": self.errors,
            "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
            "metrics": {label(key): dict(zip(("p50_ms", "p95_ms", "p99_ms"),
                                             percentiles_ms(hist), strict=True))
                        | {"count": hist.get_total_count()}
                        for key, hist in sorted(self.latencies.items(), key=_by_label)},
        }


class Aggregator:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.totals = Totals()
        self.rows: list[dict[str, Any]] = []
        self.stages: dict[str, StageTotals] = {}
        self._last_t = 0.0
        self._users_started = 0

    def tick(self, elapsed_s: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Close the current window: merge it into totals and return its per-second row.

        ``extra`` adds fields to the row; its ``stage`` (if any) also credits the window
        to that stage of the load plan.
        """
        window = self.recorder.take_window()
        self._merge(window)
        row, replies = self._row(window, elapsed_s)
        if extra:
            row.update(extra)
            if extra.get("stage"):
                self._credit_stage(extra["stage"], row, replies, window)
        self._last_t = elapsed_s
        self.rows.append(row)
        return row

    def _credit_stage(self, name: str, row: dict[str, Any], replies: HdrHistogram,
                      window: Window) -> None:
        stage = self.stages.get(name)
        if stage is None:
            stage = self.stages[name] = StageTotals(self._last_t, row["t"])
        stage.last_t = row["t"]
        stage.seconds += 1
        stage.replies.add(replies)
        for key, hist in window.latencies.items():
            if key[0] in OPERATION_METRICS:
                total = stage.latencies.get(key)
                if total is None:
                    total = stage.latencies[key] = new_histogram()
                total.add(hist)
        stage.operations += row["operations"]
        stage.failed += row["failed"]
        stage.messages += row["messages"]
        stage.errors += row["errors"]
        stage.peak_users = max(stage.peak_users, row["users"])
        stage.peak_in_flight = max(stage.peak_in_flight, row["peak_in_flight"])
        target = row.get("target")
        if isinstance(target, int | float):
            stage.peak_target = max(stage.peak_target, float(target))

    def stage_summaries(self) -> list[dict[str, Any]]:
        return [stage.summary(name) for name, stage in self.stages.items()]

    def _merge(self, window: Window) -> None:
        if secrets_known():
            _redact_keys(window)
        merge_samples(self.totals, window)

    def _row(self, window: Window, elapsed_s: float) -> tuple[dict[str, Any], HdrHistogram]:
        rec = self.recorder
        replies = new_histogram()
        per_metric: dict[str, dict[str, Any]] = {}
        for key, hist in window.latencies.items():
            if key[0] in EXCHANGE_METRICS:
                replies.add(hist)
            p50, p95, p99 = percentiles_ms(hist)
            per_metric[label(key)] = {
                "count": hist.get_total_count(), "p50_ms": p50, "p95_ms": p95, "p99_ms": p99,
            }
        finished = failed = unfinished = 0
        for key, outcomes in window.outcomes.items():
            if key[0] in OPERATION_METRICS:
                finished += outcomes.ok + outcomes.failed
                failed += outcomes.failed
                unfinished += outcomes.unfinished
                if outcomes.failed:
                    entry = per_metric.setdefault(label(key), {"count": 0, "p50_ms": None,
                                                               "p95_ms": None, "p99_ms": None})
                    entry["failed"] = outcomes.failed
        p50, p95, p99 = percentiles_ms(replies)
        messages = sum(
            n for (metric, _), n in window.counters.items() if metric in names.MESSAGE_IN_COUNTERS
        )
        started, self._users_started = rec.users_started - self._users_started, rec.users_started
        row = {
            "t": round(elapsed_s, 3),
            "users": rec.active_users,
            "users_started": started,
            "connections_open": rec.open_connections,
            "in_flight": rec.in_flight,
            "peak_in_flight": window.peak_in_flight,
            "operations": finished,
            "failed": failed,
            "unfinished": unfinished,
            "messages": messages,
            "errors": sum(window.errors.values()),
            "errors_by_category": _by_category(window.errors),
            "p50_ms": p50,
            "p95_ms": p95,
            "p99_ms": p99,
            "bytes_sent": window.bytes_sent,
            "bytes_received": window.bytes_received,
            "metrics": per_metric,
            "values": {name: second_of(hist, rec.value_specs[name])
                       for name, hist in sorted(window.values.items())},
        }
        return row, replies


def _redact_keys(window: Window) -> None:
    """Names holding a secret (a URL path, a check's name) are redacted once a second here,
    before any total, row or sink sees them; the recorder's hot path stays untouched."""
    tables: tuple[dict[Any, Any], ...] = (
        window.latencies, window.outcomes, window.counters, window.errors)
    # value names are the scenario's own words, never a URL: nothing to redact
    for table in tables:
        for key in [k for k in table if k[1] and redact(k[1]) != k[1]]:
            value = table.pop(key)
            clean = (key[0], redact(key[1]))
            old = table.get(clean)
            if old is None:
                table[clean] = value
            elif isinstance(old, int):
                table[clean] = old + value
            elif isinstance(old, Outcomes):
                old.merge(value)
            else:
                old.add(value)


def _by_category(errors: dict[tuple[str, str | None], int]) -> dict[str, int]:
    """This window's errors per category (details folded in), for charts over time."""
    totals: dict[str, int] = {}
    for (category, _), n in errors.items():
        totals[category] = totals.get(category, 0) + n
    return totals
