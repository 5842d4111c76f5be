"""What ``horde runs`` and ``horde compare`` print: rich tables that fit the console they
are printed on (80 columns included), 140 columns off a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from horde.report import text
from horde.store.compare import Comparison, Delta
from horde.store.db import RunRecord


def console() -> Console:
    probe = Console()
    return Console(highlight=False, width=None if probe.is_terminal else 140)


RUN_COLUMNS = ("id", "started", "scenario", "target", "status", "duration", "operations",
               "errors", "p95 ms", "of", "passed")
# dropped first on a narrow console; "of" names the operation the p95 is of (the slowest)
OPTIONAL_RUN_COLUMNS = ("target", "of", "duration", "started")
_WRAPPING = ("scenario", "target", "of")
_NUMERIC = {"id", "duration", "operations", "errors", "p95 ms"}


def runs_table(records: list[tuple[RunRecord, dict[str, Any]]],
               width: int | None = None) -> Table:
    """One line per run, newest first; ``summary`` is the run's, or rebuilt from its rows.
    On a console of ``width`` columns (80 included) the least useful columns go first and
    long names wrap, so no figure is cut."""
    rows = [_run_cells(record, s) for record, s in records]
    columns = list(RUN_COLUMNS)
    for optional in OPTIONAL_RUN_COLUMNS:
        if width is None or _needed(columns, rows) <= width:
            break
        columns.remove(optional)
    table = Table(title="runs", title_justify="left")
    for col in columns:
        wraps = col in _WRAPPING
        table.add_column(col, justify="right" if col in _NUMERIC else "left",
                         no_wrap=not wraps, overflow="fold" if wraps else "ellipsis",
                         min_width=None if wraps else max(len(col), *(
                             len(_plain(r[col])) for r in rows)) if rows else None)
    for cells in rows:
        table.add_row(*(cells[col] for col in columns))
    return table


def _run_cells(record: RunRecord, s: dict[str, Any]) -> dict[str, str]:
    status = record.status
    if record.incomplete:
        status = f"[yellow]incomplete[/] ({record.rows} s stored)"
    started = record.started_at.replace("T", " ").removesuffix("+00:00")[:16]
    return {
        "id": str(record.id), "started": started, "scenario": record.scenario,
        "target": record.target, "status": status, "duration": _seconds(s.get("duration_s")),
        "operations": text.count(s.get("operations", s.get("requests")) or 0),
        "errors": _percent(s.get("error_rate")), "p95 ms": _ms(s.get("p95_ms")),
        "of": s.get("latency_metric") or "-",
        "passed": _passed(record),
    }


def _needed(columns: list[str], rows: list[dict[str, str]]) -> int:
    """Columns this wide need: each its widest cell plus 3 (padding and a border), names
    at least 10, and the table's last border."""
    total = 1
    for col in columns:
        widest = max([len(col), *(len(_plain(r[col])) for r in rows)])
        total += 3 + (min(widest, 10) if col in _WRAPPING else widest)
    return total


def _plain(cell: str) -> str:
    return cell.replace("[yellow]", "").replace("[/]", "").replace("[green]", "").replace(
        "[red]", "")


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
            "same": "ok", "changed": "[yellow]changed[/]"}.get(d.verdict, d.verdict)


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
