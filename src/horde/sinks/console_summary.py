"""The end-of-run console summary: the verdict and why, operations, connections,
iterations, latencies, groups and the other sections, errors (with what was raised and
where), generator, thresholds, analysis findings.

It fits the console it is printed on — 80 columns included: tables drop their least
useful columns before a number would be cut, and long names wrap instead.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from horde.report import text
from horde.report.exceptions import gist
from horde.sinks.console_sections import finding_lines, section_lines

LOG_WIDTH = 120  # a log or a pipe is not 80 columns wide: never cut metric names there
LATENCY_COLUMNS = ("count", "rate/s", "min", "p50", "p95", "p99", "max")
OPTIONAL_COLUMNS = ("rate/s", "min", "max", "count")  # dropped first, in this order
VALUE_COLUMNS = ("unit", "better", "count", "mean", "p50", "p95", "max")
OPTIONAL_VALUE_COLUMNS = ("max", "count", "better")


def _width() -> int | None:
    probe = Console()
    return None if probe.is_terminal else LOG_WIDTH


class ConsoleSummary:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, width=_width())

    def on_row(self, row: dict[str, Any]) -> None:
        """The summary only speaks at the end."""

    def on_finish(self, results: dict[str, Any]) -> None:
        out = self.console
        out.print()
        for line in headline(results):
            out.print(line)
        out.print(_operations_line(results))
        out.print(_connections_line(results))
        out.print(_iterations_line(results))
        if results["metrics"]:
            out.print(latency_table(results, out.width))
        if results.get("values"):
            out.print(values_table(results, out.width))
        for line in section_lines(results):
            out.print(line)
        if results["errors"]:
            out.print(errors_table(results))
        else:
            out.print("errors: none")
        out.print(_bytes_line(results))
        out.print(_generator_line(results))
        gen = results["generator"]
        if gen.get("saturated"):
            out.print(
                "[bold yellow]⚠ generator saturated[/]: " + "; ".join(gen["reasons"])
                + " — figures may show horde's limit, not the target's"
            )
        for t in results["thresholds"]:
            mark = "[green]✓[/]" if t["passed"] else "[red]✗[/]"
            out.print(f"{mark} {escape(t['expression'])}  ({escape(_observed(t))})")
        for line in finding_lines(results):
            out.print(line)
        if results.get("out_dir"):
            out.print(f"results: {results['out_dir']}/results.json")


def headline(r: dict[str, Any]) -> list[str]:
    """What ran, then the verdict and its reason: PASSED only when the run passed."""
    verdict = r.get("verdict") or {}
    word = "[bold green]PASSED[/]" if r["passed"] else "[bold red]FAILED[/]"
    if r["status"] in ("interrupted", "stopped"):
        word = "[bold red]INTERRUPTED[/]"
    elif r["status"] == "aborted":
        word = "[bold red]ABORTED[/]"
    return [
        f"horde {escape(str(r['scenario']))} → {escape(str(r['target']))}: {word} "
        f"({r['status']}, {text.number(r['duration_s'])} s, "
        f"{text.count(r['users']['peak_active'])} users peak)",
        f"  {escape(verdict.get('reason') or '')}",
    ]


def _operations_line(r: dict[str, Any]) -> str:
    ops = r["operations"]
    line = (f"operations: {text.count(ops['finished'])} finished "
            f"({text.number(ops['rate_per_s'])}/s): {text.count(ops['ok'])} ok, "
            f"{text.count(ops['failed'])} failed")
    if ops["unfinished"]:
        line += f", {text.count(ops['unfinished'])} unfinished at the end"
    msgs = r["messages"]
    return (line + f"; peak in flight {text.count(ops['peak_in_flight'])}; messages "
            f"{text.count(msgs['received'])} in, {text.count(msgs['sent'])} out")


def _connections_line(r: dict[str, Any]) -> str:
    c = r["connections"]
    line = (f"connections: {text.count(c['succeeded'])}/{text.count(c['attempted'])} ok "
            f"({text.percent(c['success_rate'], 1)}), failed {text.count(c['failed'])}")
    if c.get("unfinished"):
        line += f", unfinished {text.count(c['unfinished'])}"
    return (line + f", dropped {text.count(c['dropped'])}, reconnected "
            f"{text.count(c['reconnected'])}, peak open {text.count(c['peak_open'])}")


def _iterations_line(r: dict[str, Any]) -> str:
    it = r["iterations"]
    line = f"iterations: {text.count(it['completed'])} completed"
    if it["failed"]:
        causes = ", ".join(f"{k} ×{text.count(n)}" for k, n in it["failures"].items())
        line += f", {text.count(it['failed'])} failed ({causes})"
    if it["unfinished"]:
        line += f", {text.count(it['unfinished'])} cut off at the end"
    return line


def _bytes_line(r: dict[str, Any]) -> str:
    """Wire bytes (every TCP byte) and, in brackets, the payload they carried — and what
    it decoded to, when some was compressed."""
    b = r["bytes"]
    return (f"bytes: sent {text.count(b['sent'])} ({_payload(b, 'sent')}), "
            f"received {text.count(b['received'])} ({_payload(b, 'received')})")


def _payload(b: dict[str, Any], direction: str) -> str:
    payload, decoded = b.get(f"payload_{direction}"), b.get(f"decoded_{direction}")
    if decoded is None or decoded == payload:
        return f"{text.count(payload)} payload"
    return f"{text.count(payload)} payload, {text.count(decoded)} decoded"


def _generator_line(r: dict[str, Any]) -> str:
    gen = r["generator"]
    line = (f"generator: CPU mean {text.unit(gen.get('cpu_percent_mean'), '%')} max "
            f"{text.unit(gen.get('cpu_percent_max'), '%')}, RSS peak "
            f"{text.unit(gen.get('rss_peak_mb'), ' MB')}, loop lag p99 "
            f"{text.unit(gen.get('loop_lag_p99_ms'), ' ms', 2)}")
    workers = r.get("workers")
    if workers:
        nodes = len(workers.get("nodes") or [])
        line += f"; {workers['count']} workers on {nodes} node{'s' if nodes != 1 else ''}"
        for lost in workers.get("lost") or []:
            line += (f"\n  worker {lost['worker']} LOST at {lost['at_s']} s with its "
                     f"{lost['users']} users: {lost['reason']}")
    return line


def _observed(t: dict[str, Any]) -> str:
    reason = t.get("reason")
    if reason:
        return str(reason)
    return f"observed {text.number(t.get('observed'), 3)}"


def latency_table(r: dict[str, Any], width: int | None) -> Table:
    """Per metric: count, rate and percentiles in ms; as many columns as ``width`` holds."""
    rows = []
    for key, m in r["metrics"].items():
        failed = m.get("failed") or 0
        name = key if not failed else f"{key} ({text.count(failed)} failed)"
        rows.append((name, {
            "count": text.count(m["count"]), "rate/s": text.number(m["rate_per_s"]),
            "min": text.ms(m.get("min_ms")), "p50": text.ms(m.get("p50_ms")),
            "p95": text.ms(m.get("p95_ms")), "p99": text.ms(m.get("p99_ms")),
            "max": text.ms(m.get("max_ms")),
        }))
    columns = _fitting(list(LATENCY_COLUMNS), rows, width, OPTIONAL_COLUMNS)
    return _table("latency (ms)", "metric", columns, rows)


def values_table(r: dict[str, Any], width: int | None) -> Table:
    """The values the scenario recorded (not times), each in its own unit: kept apart from
    latencies, whose lower-is-better reading they do not share."""
    rows = [(name, {
        "unit": v["unit"], "better": v.get("better") or "-", "count": text.count(v["count"]),
        "mean": text.number(v.get("mean"), 2), "p50": text.number(v.get("p50"), 2),
        "p95": text.number(v.get("p95"), 2), "max": text.number(v.get("max"), 2),
    }) for name, v in r["values"].items()]
    columns = _fitting(list(VALUE_COLUMNS), rows, width, OPTIONAL_VALUE_COLUMNS)
    return _table("values", "value", columns, rows)


def _table(title: str, first: str, columns: list[str],
           rows: list[tuple[str, dict[str, str]]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first, overflow="fold", min_width=12)
    for col in columns:
        widest = max([len(col), *(len(cells[col]) for _, cells in rows)])
        table.add_column(col, justify="right", no_wrap=True, min_width=widest)
    for name, cells in rows:
        table.add_row(escape(name), *(cells[col] for col in columns))
    return table


def _fitting(columns: list[str], rows: list[tuple[str, dict[str, str]]],
             width: int | None, optional: tuple[str, ...]) -> list[str]:
    """Drop the optional columns, least useful first, until numbers fit beside a name
    column of 12 characters or more (each column costs its width plus 3 for borders)."""
    if width is None:
        return columns

    def needed(cols: list[str]) -> int:
        return 4 + 12 + sum(3 + max([len(c), *(len(cells[c]) for _, cells in rows)])
                            for c in cols)

    for column in optional:
        if needed(columns) <= width:
            break
        columns.remove(column)
    return columns


def errors_table(r: dict[str, Any]) -> Table:
    """Per category: how many, the split by detail, and the first example's gist (for an
    exception: its message and the scenario's file:line)."""
    table = Table(title="errors", title_justify="left")
    table.add_column("category", overflow="fold")
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("detail", overflow="fold")
    examples = r.get("error_examples") or {}
    for category, n in r["errors"].items():
        split = r["error_details"].get(category, {})
        parts = []
        for detail, k in split.items():
            example = examples.get(f"{category}:{detail}")
            part = f"{detail}: {text.count(k)}"
            if example and category == "scenario_exception":
                part = f"{gist(example, r.get('scenario_file'))} ×{text.count(k)}"
            parts.append(part)
        if not split and examples.get(category):
            parts.append(gist(examples[category], r.get("scenario_file")))
        table.add_row(category, text.count(n), escape("; ".join(parts)))
    return table
