"""Start a demo server as a child process and learn its port (``horde demo``, tests), and
find the example scenarios the demos run (``horde examples``).

A separate process keeps the server's CPU apart from horde's, as it would be in real use.
"""

from __future__ import annotations

import contextlib
import os
import shutil
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


def examples_dir() -> Path:
    """The example scenarios shipped inside the package (``horde/examples``): an installed
    horde has no source tree to look in, so ``horde demo`` and ``horde examples`` read
    them from here (the repository's top-level ``examples`` is a link to this folder)."""
    return Path(__file__).resolve().parents[1] / "examples"


def example_path(name: str) -> Path:
    """The example scenario for demo ``name``: ``$HORDE_EXAMPLES/NAME.py`` when that is set
    (to run edited copies, or the repository's files in tests), else the packaged one."""
    override = os.environ.get("HORDE_EXAMPLES")
    folder = Path(override) if override else examples_dir()
    path = folder / f"{name}.py"
    if not path.is_file():
        raise UsageError(f"example scenario {path} not found")
    return path


def example_files() -> list[Path]:
    """Every file of the packaged examples (scenarios, their pytest suite, data files),
    relative to :func:`examples_dir`, in a stable order."""
    root = examples_dir()
    return sorted(
        path.relative_to(root) for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def copy_examples(dest: Path) -> list[Path]:
    """Copy the packaged examples into ``dest`` (made if missing), keeping ``data/`` beside
    the scenarios that read it. Refuses before copying anything if a file is there already:
    a user's edited scenario is never overwritten."""
    files = example_files()
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} is not a directory")
    taken = [dest / f for f in files if (dest / f).exists()]
    if taken:
        raise UsageError(f"{taken[0]} already exists; not overwriting (choose an empty folder)")
    root = examples_dir()
    try:
        for name in files:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / name, dest / name)
    except OSError as exc:
        raise UsageError(f"cannot copy the examples into {dest}: {exc.strerror}") from None
    return [dest / name for name in files]
