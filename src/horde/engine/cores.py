"""How many cores this process may use: what ``--workers auto`` means on one machine."""

from __future__ import annotations

import os


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count: a
    container or ``taskset`` limits it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def one_process(workers: int | str, cluster: str | None) -> bool:
    """Whether a run with these ``--workers`` and ``--cluster`` stays in this process:
    one worker and no cluster (``auto`` on a one-core machine is one worker too)."""
    if cluster is not None:
        return False
    return (available_cores() if workers == "auto" else int(workers)) == 1
