"""The terminal monitor's panel (rich): the live view redrawn in place on a terminal.

:func:`render` turns a :class:`~horde.live.terminal.view.LiveView` into a rich renderable —
pure, so a test renders it to a recording Console and reads the text. :class:`LivePanel`
owns the ``rich.live.Live`` that redraws it; the sink decides when.
"""

from __future__ import annotations

from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from horde.live.terminal.view import LiveView, workers_text


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _figures(view: LiveView) -> Table:
    """The load in two columns of label/value pairs."""
    row = view.row
    grid = Table.grid(padding=(0, 2))
    for _ in range(4):
        grid.add_column()
    pairs = [
        ("elapsed", f"{row.get('t', 0):,.0f} s"),
        ("stage", str(row.get("stage") or "-")),
        ("users", f"{row.get('users', 0):,} / {view.wanted}"),
        ("connections", f"{row.get('connections_open', 0):,}"),
        ("in flight", f"{row.get('in_flight', 0):,} (peak {view.peak_in_flight:,})"),
        ("started / done", f"{view.users_started:,} / {view.users_done:,} users"),
        ("iterations", f"{view.iterations:,}"),
        ("operations/s", f"{view.rate('operations'):,.0f}"),
        ("messages/s", f"{view.rate('messages'):,.0f}"),
        ("operations", f"{view.operations:,}"),
    ]
    for i in range(0, len(pairs), 2):
        cells: list[Any] = []
        for label, value in pairs[i:i + 2]:
            cells += [Text(label, style="dim"), Text(value, style="bold")]
        grid.add_row(*cells)
    return grid


def _latencies(view: LiveView) -> Table | Text:
    main = view.latencies()
    if not main:
        return Text("no latencies this second", style="dim")
    table = Table(box=None, pad_edge=False, header_style="dim")
    table.add_column("latency (last second)")
    for name in ("count", "p50 ms", "p95 ms", "p99 ms"):
        table.add_column(name, justify="right")
    for label, m in main:
        table.add_row(label, f"{m['count']:,}", _ms(m["p50_ms"]), _ms(m["p95_ms"]),
                      _ms(m["p99_ms"]))
    return table


def _errors(view: LiveView) -> Text:
    if not view.errors:
        return Text.assemble(("errors ", "dim"), ("0", "green"))
    return Text.assemble(("errors ", "dim"), (f"{view.errors_total:,}", "bold red"),
                         f"  {view.error_text(limit=6)}")


def _health(view: LiveView) -> Text:
    """horde's own CPU and lag; the target's when it is monitored."""
    row = view.row
    text = Text.assemble(
        ("horde ", "dim"), f"cpu {row.get('cpu_percent') or 0:.0f}%  ",
        f"rss {row.get('rss_mb') or 0:.0f} MB  ", f"loop lag {_ms(row.get('loop_lag_ms'))} ms",
    )
    if row.get("workers"):
        text.append("    workers ", style="dim")
        text.append(workers_text(row))
    if row.get("target_cpu_percent") is not None:
        text.append("    target ", style="dim")
        text.append(f"cpu {row['target_cpu_percent']:.0f}%  "
                    f"rss {row.get('target_rss_mb') or 0:.0f} MB  "
                    f"conns {row.get('target_connections') or 0:,}")
    return text


def _warning(view: LiveView) -> Text | None:
    if view.warning:
        return Text(f"⚠ {view.warning}", style="bold red")
    if view.warned_at is not None:
        return Text(f"generator was saturated at {view.warned_at:,.0f} s", style="yellow")
    return None


def render(view: LiveView) -> RenderableType:
    """The whole panel for the view as it is now."""
    parts: list[RenderableType] = [_figures(view), Text(""), _latencies(view), _errors(view),
                                   _health(view)]
    warning = _warning(view)
    if warning is not None:
        parts.append(warning)
    return Panel(Group(*parts), title="horde", title_align="left", expand=False)


class LivePanel:
    """The panel on a terminal, redrawn when the sink says (no refresh thread)."""

    def __init__(self, stream: TextIO) -> None:
        self.console = Console(file=stream, stderr=stream is None)
        self._live: Live | None = None

    def show(self, view: LiveView) -> None:
        if self._live is None:
            self._live = Live(render(view), console=self.console, auto_refresh=False,
                              redirect_stdout=False, redirect_stderr=False)
            self._live.start()
        self._live.update(render(view), refresh=True)

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
