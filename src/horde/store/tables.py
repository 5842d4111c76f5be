"""What ``horde runs`` and ``horde compare`` print: rich tables, 140 columns off a terminal
so logs and CI never cut a metric name."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from horde.store.compare import Comparison, Delta
from horde.store.db import RunRecord


def console() -> Console:
    probe = Console()
    return Console(highlight=False, width=None if probe.is_terminal else 140)


def runs_table(records: list[tuple[RunRecord, dict[str, Any]]]) -> Table:
    """One line per run, newest first; ``summary`` is the run's, or rebuilt from its rows."""
    table = Table(title="runs", title_justify="left")
    for col in ("id", "started", "scenario", "target", "status", "duration", "requests",
                "errors", "p95 ms", "passed"):
        table.add_column(col, justify="right" if col in _NUMERIC else "left",
                         no_wrap=col not in ("scenario", "target"))
    for record, s in records:
        status = record.status
        if record.incomplete:
            status = f"[yellow]incomplete[/] ({record.rows} s stored)"
        table.add_row(
            str(record.id), record.started_at.replace("T", " ").removesuffix("+00:00"),
            record.scenario, record.target, status, _seconds(s.get("duration_s")),
            f"{s.get('requests') or 0:,}", _percent(s.get("error_rate")), _ms(s.get("p95_ms")),
            _passed(record),
        )
    return table


_NUMERIC = {"id", "duration", "requests", "errors", "p95 ms"}


def compare_table(comparison: Comparison, title: str) -> Table:
    """A and B are the whole-run figures; ``p-value`` is how likely a move at least this
    consistent, second by second, would be from noise alone (``n/a``: not tested)."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric", no_wrap=True)
    for col in ("A", "B", "change", "%", "p-value"):
        table.add_column(col, justify="right")
    table.add_column("verdict")
    for d in comparison.deltas:
        table.add_row(d.name, _value(d, d.a), _value(d, d.b), _change(d), _relative(d),
                      _p_value(d.p_value), _verdict(d))
    return table


def compare_verdict(comparison: Comparison) -> str:
    tol = comparison.tolerance
    rule = f"beyond {_pct(tol.relative)} at {_pct(tol.confidence)} confidence"
    worse = comparison.regressions
    few = len(comparison.unjudged)
    unjudged = f"; {few} figure{'s' if few > 1 else ''} not judged: too few samples" if few else ""
    if not worse:
        return f"[bold green]no regression[/] {rule}{unjudged}"
    names = ", ".join(d.name for d in worse)
    plural = "s" if len(worse) > 1 else ""
    return f"[bold red]{len(worse)} regression{plural}[/] {rule}: {names}{unjudged}"


def _pct(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def _p_value(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _value(d: Delta, v: float | None) -> str:
    if v is None:
        return "-"
    if d.unit == "ratio":
        return f"{v:.2%}"
    return f"{v:,.2f}"


def _change(d: Delta) -> str:
    c = d.change
    if c is None:
        return "-"
    if d.unit == "ratio":
        return f"{c * 100:+.2f} pp"
    return f"{c:+,.2f}"


def _relative(d: Delta) -> str:
    r = d.relative
    return "-" if r is None else f"{r:+.1%}"


def _verdict(d: Delta) -> str:
    return {"regression": "[bold red]✗ regression[/]", "better": "[green]better[/]",
            "same": "ok"}.get(d.verdict, d.verdict)


def _passed(record: RunRecord) -> str:
    if record.passed is None:
        return "-"
    return "[green]yes[/]" if record.passed else "[red]no[/]"


def _seconds(v: float | None) -> str:
    return "-" if v is None else f"{v:,.1f}s"


def _percent(v: float | None) -> str:
    return "-" if v is None else f"{v:.2%}"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:,.2f}"
