"""What the terminal monitor shows, folded from the per-second rows: pure, no I/O.

:class:`LiveView` keeps the figures both forms of the monitor show — the panel on a
terminal (:mod:`horde.live.terminal.panel`) and the plain line in a log
(:func:`plain_line`) — so it is tested with plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from horde.metrics import names

MAIN_LATENCIES = 3  # the run's most frequent latency metrics, as of the last second
NOT_LATENCIES = (names.ITERATION, names.SESSION)  # durations that include think time


@dataclass
class LiveView:
    """The run so far, from its rows: the last row plus running totals and peaks."""

    total_users: int
    row: dict[str, Any] = field(default_factory=dict)
    span_s: float = 1.0  # the last row's window
    users_started: int = 0
    iterations: int = 0
    operations: int = 0
    messages: int = 0
    peak_in_flight: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    samples: dict[str, int] = field(default_factory=dict)  # per latency metric, so far
    warning: str | None = None
    warned_at: float | None = None  # when the last warning was seen
    line_at: tuple[float, int, int] = (0.0, 0, 0)  # t, operations, messages at the last line

    def update(self, row: dict[str, Any]) -> None:
        self.span_s = max(row["t"] - self.row.get("t", 0.0), 1e-3)
        self.row = row
        self.users_started += row.get("users_started", 0)
        self.operations += row.get("operations", 0)
        self.messages += row.get("messages", 0)
        self.peak_in_flight = max(self.peak_in_flight, row.get("peak_in_flight", 0))
        for label, m in (row.get("metrics") or {}).items():
            kind = label.split(":", 1)[0]
            if kind == names.ITERATION:
                self.iterations += m.get("count", 0)
            elif kind not in NOT_LATENCIES:
                self.samples[label] = self.samples.get(label, 0) + m.get("count", 0)
        for category, n in (row.get("errors_by_category") or {}).items():
            self.errors[category] = self.errors.get(category, 0) + n
        self.warning = row.get("generator_warning")
        if self.warning:
            self.warned_at = row["t"]

    # -- what is shown ---------------------------------------------------------------------

    @property
    def wanted(self) -> str:
        target = self.row.get("target")
        return f"{target:g}" if isinstance(target, int | float) else str(self.total_users)

    @property
    def users_done(self) -> int:
        return max(self.users_started - self.row.get("users", 0), 0)

    def rate(self, key: str) -> float:
        """Per second over the last row's window."""
        return self.row.get(key, 0) / self.span_s

    def line_rate(self, key: str) -> float:
        """``operations`` or ``messages`` per second since the last line was written: a
        log line every 5 s showing one second's rate read 0 when the work came in bursts."""
        since, *totals = self.line_at
        span = self.row.get("t", 0.0) - since
        if span <= 0:
            return self.rate(key)
        done = self.operations if key == "operations" else self.messages
        return (done - totals[0 if key == "operations" else 1]) / span

    def line_written(self) -> None:
        """A line was written: :meth:`line_rate` counts from here."""
        self.line_at = (self.row.get("t", 0.0), self.operations, self.messages)

    def latencies(self) -> list[tuple[str, dict[str, Any]]]:
        """The last second's figures of the run's main latency metrics: those with the
        most samples so far, in that order (ties by name), so the columns keep their
        places from one second to the next."""
        metrics = [
            (label, m) for label, m in (self.row.get("metrics") or {}).items()
            if label.split(":", 1)[0] not in NOT_LATENCIES and m.get("count")
        ]
        samples = self.samples
        metrics.sort(key=lambda item: (-samples.get(item[0], 0), item[0]))
        return metrics[:MAIN_LATENCIES]

    @property
    def errors_total(self) -> int:
        return sum(self.errors.values())

    def error_text(self, limit: int = 4) -> str:
        top = sorted(self.errors.items(), key=lambda kv: -kv[1])
        text = ", ".join(f"{category} {n:,}" for category, n in top[:limit])
        return text + (f", +{len(top) - limit} more" if len(top) > limit else "")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def plain_line(view: LiveView) -> str:
    """One line for a log: every figure of the panel, in a fixed order."""
    row = view.row
    stage = f" {row['stage']} |" if row.get("stage") else ""
    parts = [
        f"[{row.get('t', 0):>6.0f}s]{stage} users {row.get('users', 0)}/{view.wanted}",
        f"started {view.users_started:,} done {view.users_done:,} iter {view.iterations:,}",
        f"conns {row.get('connections_open', 0)}",
        f"in-flight {row.get('in_flight', 0)} (peak {view.peak_in_flight})",
        f"op/s {view.line_rate('operations'):,.0f}",
        f"msg/s {view.line_rate('messages'):,.0f}",
    ]
    for label, m in view.latencies():
        parts.append(f"{label} p50/p95/p99 {_ms(m['p50_ms'])}/{_ms(m['p95_ms'])}/"
                     f"{_ms(m['p99_ms'])} ms")
    errors = f"errors {view.errors_total:,}"
    if view.errors:
        errors += f" ({view.error_text()})"
    parts.append(errors)
    if row.get("workers"):
        parts.append(f"workers {workers_text(row)}")
    if row.get("target_cpu_percent") is not None:
        parts.append(f"target cpu {row['target_cpu_percent']:.0f}% rss "
                     f"{row.get('target_rss_mb') or 0:.0f} MB")
    return " | ".join(parts)


def workers_text(row: dict[str, Any]) -> str:
    """A run on workers: how many, each one's CPU (the busiest is what saturates), lost."""
    workers = row.get("workers") or []
    cpus = "/".join(f"{w.get('cpu_percent') or 0:.0f}" for w in workers)
    lost = f", {row['workers_lost']} lost" if row.get("workers_lost") else ""
    return f"{len(workers)} (cpu {cpus}%{lost})"


def format_row(row: dict[str, Any], total_users: int) -> str:
    """One row on its own, as a log line (no running totals)."""
    view = LiveView(total_users)
    view.update(row)
    return plain_line(view)
