"""The ``tasks`` demo: seed 004's task runner over WebSocket.

Open ``/ws/{task_id}``, send ``{"task": ..., "config": {"mode": "one-shot", "maxRounds":
5}}``, get ``output`` events then ``complete``. Every event carries its ``task_id`` and
``session_id``; the ``leak`` fault copies some output to another session, which horde's
isolation check must count. Protocol: ``docs/demos/tasks.md``; messages and routing:
:mod:`.protocol`.
"""

from horde.demo.tasks.app import build_app

FAULTS: dict[str, str] = {
    "leak": "every leak_every-th output is also sent to another open session",
}
SETTINGS: dict[str, str] = {
    "rounds": "outputs per task, capped by the client's maxRounds (default 3)",
    "output_ms": "time before each output (default 50)",
    "leak_every": "under the leak fault, every Nth output leaks (default 5)",
}

__all__ = ["FAULTS", "SETTINGS", "build_app"]
