"""Build results.json: one plain dict from the aggregator's totals and the run's facts.

Every report format reads this dict, never the live objects, so all formats agree.
The schema is documented in docs/results.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from horde.metrics import names
from horde.metrics.aggregator import Aggregator, label
from horde.metrics.histogram import summarize
from horde.metrics.operations import KINDS, OPERATION_METRICS, Outcomes
from horde.metrics.recorder import Key, Recorder, Traffic
from horde.metrics.values import summarize_value
from horde.report.model import SCHEMA
from horde.version import __version__


def build_results(
    aggregator: Aggregator,
    *,
    run: dict[str, Any],
    generator: dict[str, Any],
) -> dict[str, Any]:
    """``run`` holds the facts only the engine knows: config, times, status.

    ``passed``, ``verdict`` and ``thresholds`` are left for the runner to fill: thresholds
    are evaluated against this very dict.
    """
    totals = aggregator.totals
    recorder = aggregator.recorder
    elapsed = run["duration_s"] or None
    metrics = _metrics(totals.latencies, totals.outcomes, elapsed)
    counters = {label(k): n for k, n in sorted(totals.counters.items(), key=_by_label)}
    errors, details = _errors(totals.errors)
    received = sum(n for (m, _), n in totals.counters.items() if m in names.MESSAGE_IN_COUNTERS)
    sent = sum(
        n for (m, _), n in totals.counters.items() if m in (names.WS_MSG_OUT, names.SIO_EMIT)
    )
    rows = aggregator.rows
    return {
        "schema": SCHEMA,
        "horde_version": __version__,
        **run,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "passed": None,
        "verdict": None,
        "thresholds": [],
        "operations": _operations(totals.outcomes, elapsed, recorder.peak_in_flight),
        "iterations": _iterations(totals.outcomes),
        "connections": _connections(recorder),
        "users": {"peak_active": recorder.peak_users},
        "messages": {
            "received": received,
            "sent": sent,
            "received_per_s": round(received / elapsed, 2) if elapsed else 0.0,
            "sent_per_s": round(sent / elapsed, 2) if elapsed else 0.0,
        },
        "metrics": metrics,
        "counters": counters,
        "errors": errors,
        "errors_total": sum(errors.values()),
        "error_details": details,
        "error_examples": dict(recorder.error_examples),
        "values": {name: summarize_value(hist, recorder.value_specs[name])
                   for name, hist in sorted(totals.values.items())},
        "bytes": _bytes(recorder.traffic),
        "generator": generator,
        **{name: report() for name, report in recorder.sections.items()},
        "timeseries": rows,
    }


def _metrics(
    latencies: dict[Key, Any], outcomes: dict[Key, Outcomes], elapsed: float | None
) -> dict[str, Any]:
    """Per latency metric × name its statistics; an operation's entry also says how its
    operations ended (one that never got an answer still has an entry, with count 0)."""
    keys = sorted({*latencies, *(k for k in outcomes if k[0] in OPERATION_METRICS)},
                  key=lambda k: label(k))
    out: dict[str, Any] = {}
    for key in keys:
        hist = latencies.get(key)
        entry: dict[str, Any] = {"metric": key[0], "name": key[1]}
        entry |= summarize(hist, elapsed) if hist is not None else {"count": 0, "rate_per_s": 0.0}
        found = outcomes.get(key)
        if key[0] in OPERATION_METRICS and found is not None:
            entry |= {"ok": found.ok, "failed": found.failed, "unfinished": found.unfinished,
                      "failures": _failures(found)}
        out[label(key)] = entry
    return out


def _operations(
    outcomes: dict[Key, Outcomes], elapsed: float | None, peak_in_flight: int
) -> dict[str, Any]:
    """Every operation of the run by how it ended, in all and per kind."""
    by_kind: dict[str, dict[str, int]] = {}
    total = Outcomes()
    for (metric, _), found in outcomes.items():
        if metric not in OPERATION_METRICS:
            continue
        total.merge(found)
        kind = by_kind.setdefault(KINDS[metric], {"finished": 0, "ok": 0, "failed": 0,
                                                  "unfinished": 0})
        kind["finished"] += found.finished
        kind["ok"] += found.ok
        kind["failed"] += found.failed
        kind["unfinished"] += found.unfinished
    finished = total.finished
    return {
        "finished": finished,
        "ok": total.ok,
        "failed": total.failed,
        "unfinished": total.unfinished,
        "error_rate": round(total.failed / finished, 6) if finished else None,
        "rate_per_s": round(finished / elapsed, 2) if elapsed else 0.0,
        "peak_in_flight": peak_in_flight,
        "failures": _failures(total),
        "by_kind": dict(sorted(by_kind.items())),
    }


def _iterations(outcomes: dict[Key, Outcomes]) -> dict[str, Any]:
    """Behaviour runs: completed, failed (they raised), unfinished (cut off at the end)."""
    total = Outcomes()
    by_behaviour: dict[str, dict[str, int]] = {}
    for (metric, name), found in sorted(outcomes.items(), key=_by_label):
        if metric != names.ITERATION:
            continue
        total.merge(found)
        by_behaviour[str(name)] = {"completed": found.ok, "failed": found.failed,
                                   "unfinished": found.unfinished}
    return {"completed": total.ok, "failed": total.failed, "unfinished": total.unfinished,
            "failures": _failures(total), "by_behaviour": by_behaviour}


def _connections(recorder: Recorder) -> dict[str, Any]:
    conns = recorder.connections
    decided = conns.succeeded + conns.failed
    return {
        "attempted": conns.attempted,
        "succeeded": conns.succeeded,
        "failed": conns.failed,
        "unfinished": conns.unfinished,
        "dropped": conns.dropped,
        "reconnected": conns.reconnected,
        "success_rate": _ratio(conns.succeeded, decided),
        "peak_open": recorder.peak_open_connections,
    }


def _bytes(traffic: dict[str, Traffic]) -> dict[str, Any]:
    """Wire bytes (as the network saw them) beside payload bytes (as carried: compressed,
    if it was) and the payload decoded, in all and per protocol."""
    by_protocol = {
        name: {"sent": t.wire_sent, "received": t.wire_received,
               "payload_sent": t.payload_sent, "payload_received": t.payload_received,
               "decoded_sent": t.payload_sent + t.inflated_sent,
               "decoded_received": t.payload_received + t.inflated_received,
               "connections": t.connections}
        for name, t in sorted(traffic.items())
        if t.connections or t.payload_sent or t.payload_received
    }
    total = {key: sum(p[key] for p in by_protocol.values())
             for key in ("sent", "received", "payload_sent", "payload_received",
                         "decoded_sent", "decoded_received")}
    return {**total, "by_protocol": by_protocol}


def _failures(outcomes: Outcomes) -> dict[str, int]:
    """Failures per error category (details folded in), most frequent first."""
    by_category: dict[str, int] = {}
    for (category, _), n in outcomes.failures.items():
        by_category[category] = by_category.get(category, 0) + n
    return dict(sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0])))


def _by_label(item: tuple[Key, Any]) -> str:
    return label(item[0])


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _errors(
    raw: dict[tuple[str, str | None], int],
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Counts per category, and per category the split by detail (status, code, type)."""
    errors: dict[str, int] = {}
    details: dict[str, dict[str, int]] = {}
    for (category, detail), n in sorted(raw.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        errors[category] = errors.get(category, 0) + n
        if detail is not None:
            details.setdefault(category, {})[detail] = n
    return errors, details
