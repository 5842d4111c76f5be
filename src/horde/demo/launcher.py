"""Start a demo server as a child process and learn its port (``horde demo``, tests).

A separate process keeps the server's CPU apart from horde's, as it would be in real use.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from horde.errors import UsageError

STARTUP_TIMEOUT_S = 20.0


@contextlib.contextmanager
def demo_server(name: str, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """Yield the base URL of demo server ``name`` running in a child process."""
    with demo_process(name, extra_args) as (url, _pid):
        yield url


@contextlib.contextmanager
def demo_process(name: str, extra_args: tuple[str, ...] = ()) -> Iterator[tuple[str, int]]:
    """Yield the base URL and the pid of demo server ``name`` in a child process (the pid
    lets ``horde demo`` watch the server's CPU and memory as the load runs)."""
    cmd = [sys.executable, "-m", "horde", "serve", name, "--port", "0", *extra_args]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        url = _read_url(proc)
        yield url, proc.pid
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _read_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    if not sel.select(STARTUP_TIMEOUT_S):
        raise UsageError("demo server did not start in time")
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        err = proc.stderr.read() if proc.stderr else ""
        raise UsageError(f"demo server failed to start: {line or err.strip()[-300:]}")
    return line.removeprefix("listening on ")


def example_path(name: str) -> Path:
    """The example scenario for demo ``name`` (``examples/NAME.py`` in the source tree)."""
    candidates = [
        Path(os.environ.get("HORDE_EXAMPLES", "")) / f"{name}.py",
        Path(__file__).resolve().parents[3] / "examples" / f"{name}.py",
        Path.cwd() / "examples" / f"{name}.py",
    ]
    for path in candidates:
        if path.is_file():
            return path
    raise UsageError(f"example scenario examples/{name}.py not found")
