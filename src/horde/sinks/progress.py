"""The live progress line: users, request rate, p95, errors, once per interval.

On a terminal the line redraws in place every second; in a log (CI) a new line is
printed every ``log_interval_s`` seconds instead, so logs stay readable.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO


def format_row(row: dict[str, Any], total_users: int) -> str:
    p95 = row.get("p95_ms")
    p95_text = f"{p95:.1f} ms" if p95 is not None else "-"
    target = row.get("target")
    wanted = f"{target:g}" if isinstance(target, int | float) else str(total_users)
    stage = f" {row['stage']} |" if row.get("stage") else ""
    return (
        f"[{row['t']:>6.0f}s]{stage} users {row['users']}/{wanted}"
        f" | conns {row['connections_open']}"
        f" | req/s {row['requests']:,}"
        f" | msg/s {row['messages']:,}"
        f" | p95 {p95_text}"
        f" | in-flight {row['in_flight']}"
        f" | errors {row['errors']}"
    )


class ProgressLine:
    def __init__(
        self, total_users: int, stream: TextIO | None = None, log_interval_s: int = 5
    ) -> None:
        self.stream = stream or sys.stderr
        self.total_users = total_users
        self.tty = self.stream.isatty()
        self.log_interval_s = log_interval_s
        self._errors = 0
        self._ticks = 0

    def on_row(self, row: dict[str, Any]) -> None:
        self._ticks += 1
        self._errors += row["errors"]
        line = format_row(row, self.total_users) + f" (total {self._errors})"
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
        elif self._ticks % self.log_interval_s == 0:
            self.stream.write(line + "\n")
            self.stream.flush()

    def on_finish(self, results: dict[str, Any]) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
