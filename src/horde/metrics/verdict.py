"""The verdict: did the run pass, and why — decided once, from its results.

A run passes only when it finished and the target did what was asked:

- an interrupted (Ctrl-C, SIGTERM, the dashboard's stop) or aborted run never passes: it
  did not measure what it set out to;
- a run whose ``@setup`` failed never passes: no load was applied;
- a run that lost a worker (``--on-worker-lost continue``) never passes: part of the
  planned load was never sent;
- with thresholds, the thresholds decide (each one with something to judge: a threshold
  with no samples fails);
- without thresholds, the run fails when anything failed (an operation, an iteration, a
  check, a drop: ``errors_total`` > 0) or nothing was measured (no operation finished and
  no message arrived) — what a Locust user expects of a run with no criteria.

The reason is one line for the console and results.json. Exit codes are the CLI's to
choose (:mod:`horde.exitcodes`), from ``passed`` and the run's status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STOPPED_FROM_OUTSIDE = frozenset({"interrupted", "stopped"})
TOP = 3


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool
    reason: str


def decide(results: Mapping[str, Any]) -> Verdict:
    """The verdict of a finished run's results (its thresholds already evaluated)."""
    status = results.get("status")
    if status in STOPPED_FROM_OUTSIDE:
        how = "stopped from the dashboard" if status == "stopped" else "interrupted"
        return Verdict(False, f"{how} after {results.get('duration_s', 0):.1f} s: the run "
                              "did not finish, so it cannot pass")
    if status == "aborted":
        return Verdict(False, f"aborted: {results.get('abort_reason')}")
    if status == "setup_failed":
        return Verdict(False, "@setup failed, so no load was applied (see errors)")
    lost = (results.get("workers") or {}).get("lost") or []
    if lost:
        first = lost[0]
        return Verdict(False, f"{len(lost)} worker(s) lost, first worker {first['worker']} at "
                              f"{first['at_s']}s with {first['users']} users: part of the "
                              "planned load was never sent")
    thresholds = results.get("thresholds") or []
    if thresholds:
        return _by_thresholds(thresholds, results)
    return _by_default(results)


def _by_thresholds(thresholds: list[Mapping[str, Any]], results: Mapping[str, Any]
                   ) -> Verdict:
    """The thresholds decide; a failed run's line also names its errors (else the
    operations still waiting at the end), since a threshold that failed for want of
    samples hides why: every connect refused, every request unanswered."""
    failed = [t for t in thresholds if not t.get("passed")]
    if not failed:
        return Verdict(True, f"all {len(thresholds)} thresholds passed")
    first = failed[0]
    unfinished = (results.get("operations") or {}).get("unfinished") or 0
    errors = _errors(results) or (
        f"no errors, but {unfinished:,} operations never finished" if unfinished else "")
    also = f"; {errors}" if errors else ""
    return Verdict(False, f"{len(failed)} of {len(thresholds)} thresholds failed, first: "
                          f"{first.get('expression')} ({first.get('reason')}){also}")


def _errors(results: Mapping[str, Any]) -> str:
    """``"1,204 errors (connection_refused ×1,200, timeout ×4)"``: the most frequent
    categories; empty when there were none."""
    total = results.get("errors_total") or 0
    if not total:
        return ""
    errors = results.get("errors") or {}
    top = sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    mostly = ", ".join(f"{category} ×{n:,}" for category, n in top)
    return f"{total:,} errors ({mostly})"


def _by_default(results: Mapping[str, Any]) -> Verdict:
    """No thresholds: any error fails the run, and so does measuring nothing."""
    ops = results.get("operations") or {}
    errors = _errors(results)
    if errors:
        return Verdict(False, f"{errors} and no thresholds set: without thresholds any "
                              "error fails the run")
    failed_iterations = (results.get("iterations") or {}).get("failed") or 0
    if failed_iterations:
        return Verdict(False, f"{failed_iterations:,} iterations failed and no thresholds "
                              "set: without thresholds any failure fails the run")
    received = (results.get("messages") or {}).get("received") or 0
    if not ops.get("finished") and not received:
        unfinished = ops.get("unfinished") or 0
        tail = f": {unfinished:,} operations never finished" if unfinished else ""
        return Verdict(False, f"nothing was measured: no operation finished{tail}")
    return Verdict(True, f"no errors in {ops.get('finished', 0):,} operations "
                         "(no thresholds set)")
