"""Watch the target's process: CPU, memory, threads, files and sockets, before and under load.

Whether a slow run is the server's fault shows in the server's own figures, compared with
how it sat idle. :class:`TargetMonitor` samples a process (and its children: a server
started through a shell or with workers) with psutil: a few samples before the first user
starts (the baseline), then one per per-second row (under load). Its ``report()`` is the
``target_monitor`` section of results.json; ``row_fields()`` puts the latest figures in
each per-second row for live views.

:class:`TargetServer` is ``--server-cmd``: horde starts the target itself in a process
group of its own, waits until the port of ``--target`` answers, and stops the group at the
end (SIGTERM, then SIGKILL after a grace period). A server that never answers or exits
early is the user's problem to fix: a :class:`~horde.errors.ConfigError`, exit 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import time
import urllib.parse
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import psutil

from horde.errors import ConfigError

FIGURES = ("cpu_percent", "rss_mb", "threads", "open_files", "connections")
DEFAULT_BASELINE_S = 2.0
STARTUP_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0
CHILDREN_EVERY = 5  # samples between looks for new child processes
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


class TargetMonitor:
    """Samples one process tree; every sample is kept as ``baseline`` or ``load``."""

    name = "target_monitor"  # its section of results.json

    def __init__(self, pid: int, cmd: str | None = None) -> None:
        try:
            self.process = psutil.Process(pid)
            self.process.cpu_percent(None)  # prime: the first call always returns 0
        except psutil.NoSuchProcess:
            raise ConfigError(f"--monitor-pid {pid}: no such process") from None
        except psutil.AccessDenied:
            raise ConfigError(f"--monitor-pid {pid}: not allowed to watch it") from None
        self.pid = pid
        self.cmd = cmd or _cmdline(self.process)
        self._children: dict[int, psutil.Process] = {}
        self._samples = 0
        self.timeseries: list[dict[str, Any]] = []
        self.gone = False
        self.gone_at: float | None = None  # the run's second the first sample found it gone

    def sample(self) -> dict[str, Any] | None:
        """The tree's figures now; CPU is % of one core since the previous sample. None
        once the process has exited."""
        if self.gone:
            return None
        try:
            with self.process.oneshot():
                if self.process.status() == psutil.STATUS_ZOMBIE:  # dead, not yet reaped
                    raise psutil.ZombieProcess(self.pid)  # (--server-cmd: horde reaps it)
                figures = _figures(self.process)
            for child in self._live_children():
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied), \
                        child.oneshot():
                    for key, value in _figures(child).items():
                        figures[key] += value
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            self.gone = True
            return None
        figures["cpu_percent"] = round(figures["cpu_percent"], 1)
        figures["rss_mb"] = round(figures["rss_mb"], 1)
        return figures

    def _live_children(self) -> list[psutil.Process]:
        """The current children, each kept across samples (its CPU % needs the previous
        call); a child new since the last look counts from the next sample. Finding them
        scans every process of the machine (2 ms), so it is done every few samples."""
        self._samples += 1
        if self._samples % CHILDREN_EVERY != 1:
            return list(self._children.values())
        try:
            current = self.process.children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        known: dict[int, psutil.Process] = {}
        fresh = []
        for child in current:
            kept = self._children.get(child.pid)
            if kept is None:
                with contextlib.suppress(psutil.Error):
                    child.cpu_percent(None)
                    known[child.pid] = child
            else:
                known[child.pid] = kept
                fresh.append(kept)
        self._children = known
        return fresh

    def record(self, t: float, phase: str) -> dict[str, Any] | None:
        figures = self.sample()
        if figures is not None:
            self.timeseries.append({"t": round(t, 3), "phase": phase, **figures})
        elif self.gone_at is None:
            self.gone_at = round(t, 3)
        return figures

    async def take_baseline(self, seconds: float, interval_s: float = 1.0) -> None:
        """Sample the idle target for ``seconds`` before the load starts; sample times are
        negative: seconds before the run's start (0)."""
        count = max(round(seconds / interval_s), 1) if seconds > 0 else 0
        self.sample()  # resets the CPU window, so the first baseline sample is a full one
        for k in range(1, count + 1):
            await asyncio.sleep(interval_s)
            self.record((k - count) * interval_s, "baseline")

    # -- what the runner asks (a probe) ----------------------------------------------------

    def row_fields(self, t: float) -> dict[str, Any]:
        """Sample under load; the figures go into the per-second row as ``target_*``."""
        figures = self.record(t, "load") or {}
        return {f"target_{key}": figures.get(key) for key in FIGURES}

    def report(self) -> dict[str, Any]:
        """The ``target_monitor`` section: baseline and load means, peaks, the series."""
        baseline = _stats([s for s in self.timeseries if s["phase"] == "baseline"])
        load = _stats([s for s in self.timeseries if s["phase"] == "load"])
        return {
            "pid": self.pid,
            "cmd": self.cmd,
            "exited": self.gone,
            "exited_at_s": self.gone_at,  # when it was first found gone (None: it was not)
            # flat copies the analysis reads (cost per user, docs/analysis.md)
            "cpu_percent_mean": (load.get("mean") or {}).get("cpu_percent"),
            "rss_peak_mb": (load.get("peak") or {}).get("rss_mb"),
            "baseline": baseline,
            "load": load,
            "timeseries": self.timeseries,
        }


def _figures(process: psutil.Process) -> dict[str, Any]:
    files, sockets = _descriptors(process)
    return {
        "cpu_percent": process.cpu_percent(None),
        "rss_mb": process.memory_info().rss / 1_048_576,
        "threads": process.num_threads(),
        "open_files": files,
        "connections": sockets,
    }


def _descriptors(process: psutil.Process) -> tuple[int, int]:
    """Open files and sockets. On Linux one pass over ``/proc/PID/fd``: psutil's
    ``net_connections`` parses the whole machine's socket tables (25 ms with 5,000
    sockets), which would stall horde's own loop every second. Sockets of every kind
    are counted, listening ones included. (0, 0) when the OS will not say."""
    fd_dir = f"/proc/{process.pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except FileNotFoundError:
        return _descriptors_psutil(process)
    except PermissionError:
        return 0, 0
    files = sockets = 0
    for name in names:
        try:
            link = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue  # closed meanwhile
        if link.startswith("socket:"):
            sockets += 1
        elif link.startswith("/") and not link.startswith(("/dev/", "/proc/")):
            files += 1
    return files, sockets


def _descriptors_psutil(process: psutil.Process) -> tuple[int, int]:
    try:
        return len(process.open_files()), len(process.net_connections(kind="all"))
    except psutil.AccessDenied:
        return 0, 0


def _stats(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and peak of each figure over ``samples``; empty when there were none."""
    if not samples:
        return {}
    mean = {k: round(sum(s[k] for s in samples) / len(samples), 1) for k in FIGURES}
    peak = {k: max(s[k] for s in samples) for k in FIGURES}
    return {"samples": len(samples), "mean": mean, "peak": peak}


def _cmdline(process: psutil.Process) -> str | None:
    try:
        return shlex.join(process.cmdline()) or process.name()
    except psutil.Error:
        return None


# -- --server-cmd --------------------------------------------------------------------------


def target_address(target: str) -> tuple[str, int]:
    """The host and port ``--target`` points at: where the started server must answer."""
    url = urllib.parse.urlsplit(target)
    host = url.hostname or "127.0.0.1"
    try:
        port = url.port or DEFAULT_PORTS.get(url.scheme, 80)
    except ValueError:
        raise ConfigError(f"--target {target}: not a valid port") from None
    return host, port


class TargetServer:
    """The process ``--server-cmd`` starts; ``async with`` brackets its life."""

    def __init__(
        self,
        cmd: str,
        target: str,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
        grace_s: float = STOP_GRACE_S,
    ) -> None:
        try:
            self.argv = shlex.split(cmd)
        except ValueError as e:
            raise ConfigError(f"--server-cmd: {e}") from None
        if not self.argv:
            raise ConfigError("--server-cmd is empty")
        self.cmd = cmd
        self.host, self.port = target_address(target)
        self.startup_timeout_s = startup_timeout_s
        self.grace_s = grace_s
        self.process: asyncio.subprocess.Process | None = None
        self._stderr: deque[str] = deque(maxlen=20)
        self._drain: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        """Start the command and return once its port answers."""
        if await _answers(self.host, self.port):
            raise ConfigError(
                f"--server-cmd: {self.host}:{self.port} already answers before the server "
                "starts; stop what listens there or point --target elsewhere"
            )
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group: stopped as a whole
            )
        except OSError as e:
            raise ConfigError(f"--server-cmd: cannot start {self.argv[0]!r}: {e}") from None
        self._drain = asyncio.create_task(self._keep_stderr())
        try:
            await self._wait_until_answering()
        except BaseException:
            await self.stop()
            raise

    async def _wait_until_answering(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                await asyncio.sleep(0.05)  # let the last stderr lines arrive
                raise ConfigError(
                    f"--server-cmd exited with code {self.process.returncode} before "
                    f"{self.host}:{self.port} answered{self._last_words()}"
                )
            if await _answers(self.host, self.port):
                return
            await asyncio.sleep(0.1)
        raise ConfigError(
            f"--server-cmd: nothing answered on {self.host}:{self.port} within "
            f"{self.startup_timeout_s:g}s{self._last_words()}"
        )

    def _last_words(self) -> str:
        lines = [line for line in self._stderr if line.strip()]
        return f" (its stderr: {lines[-1].strip()[:200]})" if lines else ""

    async def _keep_stderr(self) -> None:
        """Read the server's stderr so its pipe never fills; keep the last lines."""
        assert self.process is not None and self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self._stderr.append(line.decode(errors="replace"))

    async def stop(self) -> None:
        """SIGTERM the process group; SIGKILL what is left after the grace period."""
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self.grace_s)
            except TimeoutError:
                _signal_group(process.pid, signal.SIGKILL)
                await process.wait()
        _signal_group(process.pid, signal.SIGKILL)  # stragglers of the group, if any
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)

    async def __aenter__(self) -> TargetServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _answers(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


@contextlib.asynccontextmanager
async def watch_target(
    target: str,
    *,
    pid: int | None = None,
    cmd: str | None = None,
    baseline_s: float = DEFAULT_BASELINE_S,
) -> AsyncIterator[TargetMonitor | None]:
    """``--monitor-pid`` or ``--server-cmd``: the monitor, its baseline already taken;
    None when neither was asked for. A started server is stopped on the way out."""
    if pid is not None and cmd is not None:
        raise ConfigError("give --monitor-pid or --server-cmd, not both")
    if pid is None and cmd is None:
        yield None
        return
    async with contextlib.AsyncExitStack() as stack:
        if cmd is not None:
            server = await stack.enter_async_context(TargetServer(cmd, target))
            monitor = TargetMonitor(server.pid, cmd)
        else:
            assert pid is not None
            monitor = TargetMonitor(pid)
        await monitor.take_baseline(baseline_s)
        yield monitor
