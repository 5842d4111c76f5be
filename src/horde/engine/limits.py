"""Open files: every connection is a file descriptor, and most systems start a process with
a soft limit of 1,024 — a run of 2,000 users would fail its connects with ``EMFILE``
("Too many open files") long before the machine or the target is loaded.

At start horde raises its soft limit to the hard limit (which an unprivileged process
may do) and says so at info level. When even the hard limit is below what the plan
needs, one warning line says so with the fix, before any load: the run still goes, and
the connects that do not fit are counted as failures. Worker processes on this machine
inherit the raised limit (they are started after it); each needs only its share.

:func:`plan_limit` decides (pure: numbers in, numbers out); :func:`raise_open_files` reads
and sets ``RLIMIT_NOFILE`` and logs. A program that calls ``horde.run``, or a pytest
session, keeps its own limits: :func:`open_files_shortfall` only says when they are too low.
"""

from __future__ import annotations

import logging
import math
import sys
from dataclasses import dataclass

from horde.shapes.plan import Plan

log = logging.getLogger("horde")

FILES_PER_USER = 2  # a WebSocket and an HTTP connection, or a polling session's two
RESERVE = 256  # horde's own: the event loop, logs, results, history, dashboard, imports
CEILING = 1_048_576  # Linux's default fs.nr_open: no soft limit may pass it
UNLIMITED = sys.maxsize  # RLIM_INFINITY, as the pure functions see it
FIX = ("raise the hard limit: 'ulimit -n N' (as root, or up to the hard limit in the "
       "shell), 'nofile' in /etc/security/limits.conf, or LimitNOFILE= for a systemd "
       "service")


@dataclass(frozen=True, slots=True)
class OpenFiles:
    """The open-files limits before and after, and what the plan needs (None: unknown)."""

    before: int
    soft: int
    hard: int
    needed: int | None

    @property
    def raised(self) -> bool:
        """The soft limit was raised."""
        return self.soft > self.before

    @property
    def short(self) -> bool:
        """Even the raised limit is below what the plan needs."""
        return self.needed is not None and self.soft < self.needed


def peak_users(plan: Plan) -> int | None:
    """Users alive at once at the plan's peak. An open model without a cap on sessions in
    flight has no known peak: None."""
    if plan.open_model:
        return plan.max_concurrent
    return math.ceil(plan.peak())


def files_needed(plan: Plan, processes: int = 1) -> int | None:
    """Descriptors one process may hold at the plan's peak: FILES_PER_USER for each of
    its share of the peak users, plus RESERVE; None when the peak is unknown."""
    peak = peak_users(plan)
    if peak is None:
        return None
    return math.ceil(peak / max(processes, 1)) * FILES_PER_USER + RESERVE


def plan_limit(soft: int, hard: int, needed: int | None) -> OpenFiles:
    """What the soft limit becomes: the hard limit — CEILING, the kernel's own cap, when
    the hard limit is UNLIMITED — and never lower than it was."""
    target = CEILING if hard == UNLIMITED else hard
    return OpenFiles(before=soft, soft=max(soft, target), hard=hard, needed=needed)


def raise_open_files(plan: Plan, workers: int | str = 1) -> OpenFiles | None:
    """Raise this process's open-files soft limit to the hard limit; warn in one line,
    with the fix, when that is below what ``plan`` needs on ``workers`` processes (an
    int, or ``auto``). None where there are no such limits (Windows)."""
    limits = _current(plan, workers)
    if limits is None:
        return None
    import resource

    soft, hard = limits.before, limits.hard
    if limits.raised:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (
                limits.soft, resource.RLIM_INFINITY if hard == UNLIMITED else hard))
        except (ValueError, OSError) as exc:  # e.g. macOS caps it below the hard limit
            log.info("open files: could not raise the soft limit from %d to %d (%s)",
                     soft, limits.soft, exc)
            limits = OpenFiles(soft, soft, hard, limits.needed)
        else:
            log.info("open files: soft limit raised from %d to %d", soft, limits.soft)
    if limits.short:
        log.warning("open files: the limit is %s but this run may need about %s "
                    "(%d per user, per process, and %d for horde); connects past it fail "
                    "with 'Too many open files'; %s",
                    f"{limits.soft:,}", f"{limits.needed:,}", FILES_PER_USER, RESERVE, FIX)
    return limits


def open_files_shortfall(plan: Plan, workers: int | str = 1) -> str | None:
    """For ``horde.run`` and the pytest plugin, whose process's limits are its own: they
    are left as they are, and this says, in one line, when the soft limit is below what
    ``plan`` needs and how the program raises it; None when it fits (or on Windows)."""
    limits = _current(plan, workers)
    if limits is None or limits.needed is None or limits.before >= limits.needed:
        return None
    hard = "no hard limit" if limits.hard == UNLIMITED else f"the hard limit is {limits.hard:,}"
    return (f"open files: the soft limit is {limits.before:,} but this run may need about "
            f"{limits.needed:,} ({FILES_PER_USER} per user, per process, and {RESERVE} for "
            f"horde); connects past it fail with 'Too many open files'; raise it before the "
            f"run ({hard}): resource.setrlimit(resource.RLIMIT_NOFILE, (N, hard)) in the "
            "program or its conftest.py, or 'ulimit -n N' in the shell that starts it "
            "('horde run' raises it itself)")


def _current(plan: Plan, workers: int | str) -> OpenFiles | None:
    """What this process's limits are, and would become, for ``plan`` on ``workers``
    processes; None where there are no such limits (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    if workers == "auto":
        from horde.engine.cores import available_cores

        workers = available_cores()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft, hard = (UNLIMITED if n == resource.RLIM_INFINITY else n for n in (soft, hard))
    return plan_limit(soft, hard, files_needed(plan, int(workers)))
