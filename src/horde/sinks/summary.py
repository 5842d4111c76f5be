"""The end-of-run console summary: verdict, connections, latencies, groups and the other
sections, errors, generator, thresholds, analysis findings."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from horde.sinks.summary_sections import finding_lines, section_lines


def _width() -> int | None:
    probe = Console()
    return None if probe.is_terminal else 120


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _int(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


class ConsoleSummary:
    def __init__(self, console: Console | None = None) -> None:
        # A log or a pipe is not 80 columns wide: never cut metric names there.
        self.console = console or Console(highlight=False, width=_width())

    def on_row(self, row: dict[str, Any]) -> None:
        """The summary only speaks at the end."""

    def on_finish(self, results: dict[str, Any]) -> None:
        out = self.console
        out.print()
        out.print(_headline(results))
        if results.get("abort_reason"):
            out.print(f"[bold red]aborted[/]: {results['abort_reason']}")
        out.print(_connections_line(results))
        out.print(_metrics_table(results))
        for line in section_lines(results):
            out.print(line)
        if results["errors"]:
            out.print(_errors_table(results))
        else:
            out.print("errors: none")
        gen = results["generator"]
        b = results["bytes"]
        out.print(
            f"bytes: sent {b['sent']:,} | received {b['received']:,}"
            f"   generator: CPU mean {gen.get('cpu_percent_mean')}%"
            f" max {gen.get('cpu_percent_max')}%"
            f", RSS peak {gen.get('rss_peak_mb')} MB, loop lag p99 {gen.get('loop_lag_p99_ms')} ms"
        )
        if gen.get("saturated"):
            out.print(
                "[bold yellow]⚠ generator saturated[/]: " + "; ".join(gen["reasons"])
                + " — figures may show horde's limit, not the target's"
            )
        for t in results["thresholds"]:
            mark = "[green]✓[/]" if t["passed"] else "[red]✗[/]"
            out.print(f"{mark} {t['expression']}  (observed {t.get('observed')})")
        for line in finding_lines(results):
            out.print(line)
        if results.get("out_dir"):
            out.print(f"results: {results['out_dir']}/results.json")


def _verdict(r: dict[str, Any]) -> str:
    """PASSED/FAILED only when there was something to pass: thresholds (or a setup)."""
    if not r["passed"]:
        return "[bold red]FAILED[/]"
    if r["thresholds"]:
        return "[bold green]PASSED[/]"
    errors = r["errors_total"]
    if errors:
        return f"[bold yellow]DONE with {errors:,} errors[/] (no thresholds set)"
    return "[bold]DONE[/] (no thresholds set)"


def _headline(r: dict[str, Any]) -> str:
    verdict = _verdict(r)
    return (
        f"horde {r['scenario']} → {r['target']}: {verdict} ({r['status']}, "
        f"{r['duration_s']:.1f}s, {r['users']['peak_active']} users peak, "
        f"{r['requests']['total']:,} requests, {r['messages']['received']:,} messages in)"
    )


def _connections_line(r: dict[str, Any]) -> str:
    c = r["connections"]
    rate = c["success_rate"]
    rate_text = "-" if rate is None else f"{rate:.1%}"
    return (
        f"connections: {c['succeeded']:,}/{c['attempted']:,} ok ({rate_text}), "
        f"failed {c['failed']:,}, dropped {c['dropped']:,}, reconnected {c['reconnected']:,}, "
        f"peak open {c['peak_open']:,}; peak in-flight {r['requests']['peak_in_flight']:,}"
    )


def _metrics_table(r: dict[str, Any]) -> Table:
    table = Table(title="latency (ms)", title_justify="left")
    table.add_column("metric", no_wrap=True)
    for col in ("count", "rate/s", "min", "p50", "p95", "p99", "max"):
        table.add_column(col, justify="right")
    for key, m in r["metrics"].items():
        table.add_row(
            key, _int(m["count"]), f"{m['rate_per_s']:,.1f}", _ms(m.get("min_ms")),
            _ms(m.get("p50_ms")), _ms(m.get("p95_ms")), _ms(m.get("p99_ms")), _ms(m.get("max_ms")),
        )
    return table


def _errors_table(r: dict[str, Any]) -> Table:
    table = Table(title="errors", title_justify="left")
    table.add_column("category")
    table.add_column("count", justify="right")
    table.add_column("detail")
    for category, n in r["errors"].items():
        split = r["error_details"].get(category, {})
        detail = ", ".join(f"{k}: {v}" for k, v in split.items())
        table.add_row(category, f"{n:,}", detail)
    return table
