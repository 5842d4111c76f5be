"""Tasks: seed 004's load tests of a task runner over WebSocket, against the tasks demo.

    horde demo tasks                                 # 50 connections at once, for 10 s
    horde demo tasks --fault leak                    # the isolation threshold fails
    horde run examples/tasks.py --target http://127.0.0.1:8000 --users 10 --iterations 1

Each iteration is one of 004's connections: open ``/ws/{task_id}`` with a fresh task id,
send a task, consume its output events until ``complete``, close. What 004 asked of it:

- success rate, tasks completed ÷ tasks finished: counters ``custom:tasks_started`` and
  ``custom:tasks_completed``, and the check ``task completed`` (so ``checks.rate`` is the
  rate — it is the only check, keep it that way). A task still running when a timed run
  ends is ``custom:tasks_cut_off``, not a failure;
- output isolation: the task id is the session's isolation token and every message
  received is inspected, so output of another session (the ``leak`` fault) is counted
  once per leaked message under ``isolation.failures``;
- connection latency: ``ws_connect`` (recorded by horde at every connect);
- message throughput: ``messages.received_per_s`` in results.json (outputs and completes
  received per second of load), plus ``stream_first:task`` / ``stream_total:task``, the
  time from sending a task to its first output and to its ``complete``.

The task id is owned *before* connecting, and it is the only token: one leaked message
holds one foreign token, so ``isolation.failures`` equals the server's ``leaked``.
"""

import asyncio
import secrets
from typing import Any

import horde

NAME = "tasks"


class Params(horde.Params):
    max_rounds: int = 5  # the client's config.maxRounds (the server's `rounds` caps it)
    task_timeout: float = 30.0  # seconds for one task, send → complete
    stall_after: float = 2.0  # a gap between outputs longer than this is a stall


THRESHOLDS = (
    "checks.rate >= 0.9",  # tasks completed ÷ started; 004: >= 90% at 10, >= 80% at 50
    "connections.success_rate >= 0.9",
    "isolation.failures == 0",  # 004: no cross-contamination between sessions
    "p50(ws_connect) < 100ms",  # 004's connection latency target (median)
)

# 004's "50 concurrent connections", all at once, each running task after task for 10 s.
# (004's one-shot batches: --iterations 1.) No `iterations` here: flags cannot unset one.
OPTIONS = {"users": 50, "connect": "immediate", "duration": "10s"}


@horde.behaviour
async def run_task(user: horde.User) -> None:
    """One connection, one task: the unit 004 counts successes of."""
    task_id = f"task_{user.id}_{user.iteration}_{secrets.token_hex(4)}"
    user.isolation.own(task_id)  # before connecting: a leak can arrive with the first output
    user.count("tasks_started")
    try:
        completed = await _session(user, task_id)
    except asyncio.CancelledError:  # the run ended mid-task: neither success nor failure
        user.count("tasks_cut_off")
        raise
    except Exception:  # a failed connect is a failed task too, not a missing one
        user.check(False, "task completed")
        raise
    user.check(completed, "task completed")
    if completed:
        user.count("tasks_completed")


async def _session(user: horde.User, task_id: str) -> bool:
    ws = await user.websocket(f"/ws/{task_id}", codec=horde.JSON)
    # Messages that are not this task's (leaked output) skip the stream and land here,
    # inspected on arrival — also those arriving while the connection closes.
    ws.on_message(user.isolation.inspect)
    params = user.params
    result = await ws.stream(
        {"task": f"Echo test message {task_id}",
         "config": {"mode": "one-shot", "maxRounds": params.max_rounds}},
        name="task",
        match=lambda m: _task_of(m) == task_id,
        until=lambda m: m.get("event_type") in ("complete", "error"),
        stall_after=params.stall_after,
        timeout=params.task_timeout,
    )
    for message in result.chunks:  # our own task id, but the text may still carry others'
        user.isolation.inspect(message)
    await ws.close()
    last = result.chunks[-1] if result.chunks else {}
    return result.completed and last.get("event_type") == "complete"


def _task_of(message: Any) -> Any:
    return message.get("task_id") if isinstance(message, dict) else None
