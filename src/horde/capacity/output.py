"""What ``horde capacity`` shows and writes: a line per step as it ends, then the table,
the verdict and capacity.json."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from horde.capacity.search import Capacity, step_row
from horde.report import text


def _console() -> Console:
    probe = Console()
    return Console(highlight=False, width=None if probe.is_terminal else 120)


def print_step(users: int, results: dict[str, Any]) -> None:
    row = step_row(users, results)
    mark = "held" if row["passed"] else "FAILED " + ", ".join(row["failed_thresholds"])
    gen = " (horde saturated)" if row["generator_saturated"] else ""
    _console().print(
        f"step {users:>6} users: {text.number(row['throughput_per_s']):>10} op/s, "
        f"p95 {text.ms(row['p95_ms'])} ms, errors {text.percent(row['error_rate'])} "
        f"— {mark}{gen}"
    )


def print_capacity(capacity: Capacity) -> None:
    out = _console()
    table = Table(title="capacity search", title_justify="left")
    for col in ("users", "op/s", "p50 ms", "p95 ms", "p99 ms", "errors", "horde CPU %",
                "loop lag p99", "verdict"):
        table.add_column(col, justify="left" if col == "verdict" else "right")
    for s in capacity.steps:
        verdict = "held" if s["passed"] else "failed"
        if s["generator_saturated"]:
            verdict += " (horde saturated)"
        table.add_row(
            str(s["users"]), text.number(s["throughput_per_s"]), text.ms(s["p50_ms"]),
            text.ms(s["p95_ms"]), text.ms(s["p99_ms"]), text.percent(s["error_rate"]),
            text.number(s["generator_cpu_percent"]), text.ms(s["loop_lag_p99_ms"]), verdict,
        )
    out.print(table)
    out.print(f"[bold]capacity:[/] {capacity.verdict()}")


def write_capacity(capacity: Capacity, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "capacity.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(capacity.as_dict(), indent=2))
    os.replace(tmp, path)
