"""The terminal monitor's sink: the panel on a terminal, a plain line per interval in a log."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from horde.live.terminal.panel import LivePanel
from horde.live.terminal.view import LiveView, plain_line

TTY_INTERVAL_S = 1.0
LOG_INTERVAL_S = 5.0


class TerminalMonitor:
    """The monitor sink: the rich panel on a terminal, plain lines in a log."""

    def __init__(
        self,
        total_users: int,
        stream: TextIO | None = None,
        interval_s: float | None = None,
        *,
        tty: bool | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        default = TTY_INTERVAL_S if self.tty else LOG_INTERVAL_S
        self.interval_s = interval_s or default
        self.view = LiveView(total_users)
        self._next_t = self.interval_s
        self._warned: str | None = None
        self._panel: LivePanel | None = None  # made on a terminal, at the first draw

    def on_row(self, row: dict[str, Any]) -> None:
        self.view.update(row)
        due = row["t"] + 1e-6 >= self._next_t
        while self._next_t <= row["t"] + 1e-6:
            self._next_t += self.interval_s
        if self.tty:
            if due or (self.view.warning and self.view.warning != self._warned):
                self._draw()
        else:
            self._log_warning()
            if due:
                self._write(plain_line(self.view))
                self.view.line_written()
        self._warned = self.view.warning

    def _draw(self) -> None:
        if self._panel is None:
            self._panel = LivePanel(self.stream)
        self._panel.show(self.view)

    def _log_warning(self) -> None:
        """In a log, a warning is its own line: once when it starts or changes."""
        warning = self.view.warning
        if warning and warning != self._warned:
            self._write(f"[{self.view.row['t']:>6.0f}s] WARNING: {warning}")

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def on_finish(self, results: dict[str, Any]) -> None:
        if self._panel is not None:
            self._panel.stop()
