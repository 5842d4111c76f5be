"""Workers as Ray actors: on this machine (a private Ray instance) or on a cluster.

One code path for both: ``ray.init()`` starts a local instance sized to the workers, or
joins ``--cluster ADDRESS``; each worker is an actor of one CPU, spread over the nodes.
The local instance lives as long as the horde process (stopped at its exit), so the
steps of ``horde capacity`` or the tests of a pytest session start it once. Ray ties its
daemons to the thread that starts them (they die with it), so that thread is one of
this module's own, kept for the process: never an event loop's executor thread, which
ends with its loop (each pytest-asyncio test has one).
Every call is awaited with a deadline, so a worker that died (killed, its node gone)
shows up as :class:`WorkerLostError` and never as a hang.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import logging
import os
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from horde.cluster.messages import Job, Orders, Ready, Report
from horde.cluster.worker import EngineWorker
from horde.engine.cores import available_cores
from horde.errors import ConfigError, WorkerLostError

CONNECT_TIMEOUT_S = 5.0
CALL_TIMEOUT_S = 15.0  # longer than any poll takes on a live worker, even a saturated one
# the first call also waits for the worker's process to start and import Ray, horde and
# the scenario: >15 s on a machine the load itself keeps busy (a dead one shows at once)
PREPARE_TIMEOUT_S = 60.0
log = logging.getLogger("horde")
# starts and stops the local Ray instance; its one thread lives as long as the process
_RAY_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="horde-ray")
_STARTED: list[str] = []  # the sessions of the local instances horde started (not a user's)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("more than one worker needs Ray: pip install 'horde[cluster]' "
                          "(from a checkout: pip install '.[cluster]')") from None
    return ray


@dataclass
class RayPool:
    """The run's workers on Ray (see the module)."""

    address: str | None
    actors: list[Any]

    @classmethod
    async def start(cls, workers: int | str, address: str | None) -> RayPool:
        ray = import_ray()
        wanted = available_cores() if workers == "auto" else int(workers)
        loop = asyncio.get_running_loop()
        if ray.is_initialized() and address is None and _cpus(ray) < wanted:
            if ray.get_runtime_context().get_session_name() not in _STARTED:
                raise ConfigError(f"--workers {wanted}: this program's own Ray has "
                                  f"{_cpus(ray)} CPUs, and each worker takes one")
            # a smaller instance of an earlier run
            await loop.run_in_executor(_RAY_THREAD, ray.shutdown)
        if not ray.is_initialized():
            await loop.run_in_executor(_RAY_THREAD, _init, ray, address, wanted)
            if address is None:
                _STARTED.append(ray.get_runtime_context().get_session_name())
                _shut_down_before_threads_end()
        count = _worker_count(ray, workers, address)
        if address is not None and count > _cpus(ray):
            raise ConfigError(f"--workers {count}: the cluster at {address} has "
                              f"{_cpus(ray)} CPUs, and each worker takes one")
        actor = ray.remote(num_cpus=1, max_restarts=0, max_concurrency=4)(EngineWorker)
        actors = [actor.options(scheduling_strategy="SPREAD").remote(i) for i in range(count)]
        return cls(address, actors)

    @property
    def size(self) -> int:
        return len(self.actors)

    async def prepare(self, jobs: list[Job]) -> list[Ready]:
        return await asyncio.gather(*(self._call(i, "prepare", job, timeout=PREPARE_TIMEOUT_S)
                                      for i, job in enumerate(jobs)))

    async def begin(self, worker: int, at: float) -> None:
        """Start ``worker``'s load at wall-clock time ``at``."""
        await self._call(worker, "start", at)

    async def poll(self, worker: int, orders: Orders) -> Report:
        report: Report = await self._call(worker, "poll", orders)
        return report

    async def _call(self, worker: int, method: str, *args: Any,
                    timeout: float = CALL_TIMEOUT_S) -> Any:
        ray = import_ray()
        ref = getattr(self.actors[worker], method).remote(*args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(ref.future()), timeout)
        except ray.exceptions.RayActorError as exc:
            raise WorkerLostError(worker, _death(exc)) from None
        except TimeoutError:
            raise WorkerLostError(
                worker, f"no answer to {method} within {timeout:g}s") from None
        except ray.exceptions.RayTaskError as exc:
            raise exc.as_instanceof_cause() from None

    def kill(self, worker: int) -> None:
        """End a worker that no longer answers (it may still be sending load)."""
        ray = import_ray()
        try:
            ray.kill(self.actors[worker], no_restart=True)
        except Exception:
            log.debug("worker %d was already gone", worker)

    async def close(self) -> None:
        """End the run's workers; the Ray instance stays for the next run of the process."""
        for i in range(self.size):
            self.kill(i)


@functools.cache  # once per process
def _shut_down_before_threads_end() -> None:
    """Stop the local instance horde started while its starting thread still lives.
    Ray's own exit hook runs after Python has joined every thread: by then
    ``_RAY_THREAD`` has ended and taken the instance's daemons with it, and Ray waited
    ~5 s for a GCS that was gone while its dashboard and runtime-env agents, orphaned,
    lived a minute more (~180 MB)."""
    # the hook concurrent.futures uses to stop its executors before their threads are
    # joined; registered after it, ours runs first
    register = getattr(threading, "_register_atexit", atexit.register)
    register(_shut_down)


def _shut_down() -> None:
    """Ray's shutdown, if the instance running is one horde started (not one the
    program started for itself since); an error here must not skip the other exit
    hooks, so it is only logged."""
    try:
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized() and \
                ray.get_runtime_context().get_session_name() in _STARTED:
            ray.shutdown()
    except BaseException:
        log.debug("stopping Ray at exit failed", exc_info=True)


def _init(ray: Any, address: str | None, workers: int) -> None:
    if not sys.stderr.isatty() or os.environ.get("NO_COLOR"):
        # the workers' lines Ray relays ("(raylet) A worker died..."): no colour codes
        # in a log file or a CI's output, as horde's own lines have none there
        os.environ.setdefault("RAY_COLOR_PREFIX", "0")
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.ERROR,
                               "log_to_driver": True, "namespace": "horde"}
    if address is None:
        # "local": a new instance even beside a `ray start` head or a RAY_ADDRESS
        try:
            ray.init(address="local", num_cpus=max(workers, available_cores()), **options)
        except Exception as exc:  # Ray gives its own processes 30 s to start, then raises
            raise ConfigError(f"--workers {workers}: Ray did not start on this machine "
                              f"({exc}); is it too busy? (--workers 1 needs no Ray)") from None
    else:
        _reachable(address)
        _token_auth_as_ray_start_does()
        try:
            ray.init(address=address, **options)
        except (ConnectionError, RuntimeError) as exc:
            raise ConfigError(f"--cluster {address}: cannot join the Ray cluster: {exc}") from None


def _token_auth_as_ray_start_does() -> None:
    """Use token authentication when ``RAY_AUTH_MODE`` is unset and a token is found
    (``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH``, ``~/.ray/auth_token``): the rule
    ``ray start`` follows, so that a head started with the token this machine has is
    joined without setting anything. Ray's driver does this only for ``address="auto"``;
    joining a given address without it fails on an invalid token after retrying."""
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # a Ray without token authentication
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _reachable(address: str) -> None:
    """Ray retries an unreachable head for minutes: a closed port is said at once."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return  # "auto", a ray:// client address: left to Ray
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise ConfigError(f"--cluster {address}: cannot join the Ray cluster: "
                          f"{exc.strerror or exc}") from None


def _worker_count(ray: Any, workers: int | str, address: str | None) -> int:
    """``auto``: one per core — of this machine, or of every node of the cluster."""
    if workers != "auto":
        return int(workers)
    if address is None:
        return available_cores()
    return max(int(ray.cluster_resources().get("CPU", 1)), 1)


def _cpus(ray: Any) -> int:
    return int(ray.cluster_resources().get("CPU", 0))


def _death(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    for line in text:
        if "SIGKILL" in line or "killed" in line.lower() or "died" in line.lower():
            return line.strip()[:200]
    return (text[0] if text else type(exc).__name__)[:200]
