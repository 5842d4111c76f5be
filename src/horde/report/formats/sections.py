"""The readable reports' content, once: results dict → titled sections of tables and items.

Markdown and HTML differ only in markup, so both render these sections; a number shown in
one is the number shown in the other. Every value comes from the results dict as it is:
nothing is estimated here. Every key is read with ``.get`` because a run rebuilt from the
history after a SIGKILL (``"incomplete": true``) may lack whole sections or percentiles.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from horde.report.exceptions import gist

MISSING = "–"
LATENCY_COLUMNS = ("min_ms", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms",
                   "max_ms")
METRIC_KINDS = {  # docs/results.md "Metric names"; anything else is shown under its own name
    "http_connect": "HTTP connect",
    "http_req": "HTTP requests (written → whole response)",
    "http_ttfb": "HTTP time to first byte",
    "ws_connect": "WebSocket connect",
    "ws_reply": "WebSocket request → reply",
    "sio_connect": "Socket.IO connect",
    "sio_ack": "Socket.IO emit → ack",
    "sio_reply": "Socket.IO emit → reply event",
    "timer": "Timers",
    "iteration": "Iterations",
    "intended": "Paced blocks, from their intended start",
}
VALUE_COLUMNS = ("min", "mean", "p50", "p90", "p95", "p99", "max")
OPTIONAL_SECTIONS = ("groups", "events", "broadcasts", "streams", "isolation", "ordering")


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    title: str = ""


@dataclass(frozen=True, slots=True)
class Items:
    """A list of lines, each with a tone (ok, fail, info, warning, critical, or "")."""

    lines: list[tuple[str, str]]


Block = Table | Items


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)


def fmt(value: Any) -> str:
    """One way to print a value everywhere: ints with separators, floats as measured (the
    producers already rounded them; up to 6 decimals, so ratios keep their digits)."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return MISSING
        text = f"{value:,.6f}".rstrip("0").rstrip(".")
        return text or "0"
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str, separators=(", ", ": "))
        return text if len(text) <= 200 else text[:199] + "…"
    return str(value)


_NUMBER = re.compile(r"[-+]?[\d,]*\.?\d+( s|%)?")


def is_number(cell: str) -> bool:
    """A cell printed by :func:`fmt` from a number (or missing): aligned right."""
    return cell == MISSING or _NUMBER.fullmatch(cell) is not None


def percent(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1%}"


def verdict(r: dict[str, Any]) -> tuple[str, str]:
    """(tone, text) — PASSED/FAILED only when there was something to pass, as the console."""
    prefix = "INCOMPLETE — " if r.get("incomplete") else ""
    if r.get("passed") is False:
        return "fail", prefix + "FAILED"
    if r.get("thresholds"):
        return "ok", prefix + "PASSED"
    errors = r.get("errors_total") or 0
    if errors:
        return "warning", prefix + f"DONE with {errors:,} errors (no thresholds set)"
    return "info", prefix + "DONE (no thresholds set)"


INCOMPLETE_NOTE = (
    "This run did not finish normally: the report was rebuilt from the run history up to "
    "its last recorded second. Totals cover that span only; percentiles may be missing."
)


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Nested dicts as dotted keys, so any section can be shown without knowing its shape."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, fmt(value)


def key_values(value: Any, title: str = "") -> Table:
    return Table(("", "value"), list(flatten(value)), title)


def build_sections(r: dict[str, Any]) -> list[Section]:
    """Every section that has something to show, in reading order."""
    sections = [
        *(build(r) for build in _FIRST), *_optional(r), *(build(r) for build in _LAST),
    ]
    return [s for s in sections if s.blocks]


def facts(r: dict[str, Any]) -> list[tuple[str, str]]:
    cfg = r.get("config") or {}
    load = r.get("load") or {}
    ops = r.get("operations") or {}
    msg = r.get("messages") or {}
    return [
        ("scenario", f"{r.get('scenario', MISSING)} ({r.get('scenario_file') or MISSING})"),
        ("target", fmt(r.get("target"))),
        ("status", fmt(r.get("status")) + (" (incomplete)" if r.get("incomplete") else "")),
        ("started", fmt(r.get("started_at"))),
        ("finished", fmt(r.get("finished_at"))),
        ("load duration", f"{fmt(r.get('duration_s'))} s"),
        ("load", fmt(load.get("shape") or cfg.get("shape"))),
        ("peak users", fmt((r.get("users") or {}).get("peak_active"))),
        ("verdict", fmt((r.get("verdict") or {}).get("reason"))),
        ("iterations", _iterations(r.get("iterations") or {})),
        ("operations", f"{fmt(ops.get('finished'))} ({fmt(ops.get('rate_per_s'))}/s): "
                       f"{fmt(ops.get('ok'))} ok, {fmt(ops.get('failed'))} failed, "
                       f"{fmt(ops.get('unfinished'))} unfinished"),
        ("messages in / out", f"{fmt(msg.get('received'))} / {fmt(msg.get('sent'))}"),
        ("horde", fmt(r.get("horde_version"))),
    ]


def _iterations(it: dict[str, Any]) -> str:
    return (f"{fmt(it.get('completed'))} completed, {fmt(it.get('failed'))} failed, "
            f"{fmt(it.get('unfinished'))} unfinished")


def _summary(r: dict[str, Any]) -> Section:
    lines = []
    if r.get("incomplete"):
        lines.append(("critical", INCOMPLETE_NOTE))
        if r.get("incomplete_note"):
            lines.append(("warning", str(r["incomplete_note"])))
    if r.get("abort_reason"):
        lines.append(("fail", f"aborted: {r['abort_reason']}"))
    blocks: list[Block] = [Items(lines)] if lines else []
    return Section("summary", "Run", [*blocks, Table(("", "value"), facts(r))])


def _thresholds(r: dict[str, Any]) -> Section:
    rows = [
        ("✓" if t.get("passed") else "✗", str(t.get("expression")),
         str(t.get("reason") or fmt(t.get("observed"))))
        for t in r.get("thresholds") or []
    ]
    return Section("thresholds", "Thresholds", [Table(("", "threshold", "observed"), rows)]
                   if rows else [])


def _connections(r: dict[str, Any]) -> Section:
    c = r.get("connections") or {}
    if not c:
        return Section("connections", "Connections")
    rows = [(k.replace("_", " "), fmt(c.get(k))) for k in (
        "attempted", "succeeded", "failed", "unfinished", "dropped", "reconnected", "peak_open")]
    rows.insert(3, ("success rate", percent(c.get("success_rate"))))
    rows.append(("peak operations in flight",
                 fmt((r.get("operations") or {}).get("peak_in_flight"))))
    return Section("connections", "Connections", [Table(("", "value"), rows)])


def metric_kind(key: str, m: dict[str, Any]) -> str:
    return str(m.get("metric") or key.split(":", 1)[0])


def _latency(r: dict[str, Any]) -> Section:
    """One table per metric kind: per endpoint (http_req), per event (ws_reply, sio_ack)…"""
    kinds: dict[str, list[tuple[str, ...]]] = {}
    for key, m in (r.get("metrics") or {}).items():
        name = str(m.get("name") or key) + (" (≈)" if m.get("approximate") else "")
        row = (name, fmt(m.get("count")), fmt(m.get("rate_per_s")),
               *(fmt(m.get(c)) for c in LATENCY_COLUMNS))
        kinds.setdefault(metric_kind(key, m), []).append(row)
    columns = ("name", "count", "rate/s", *(c.removesuffix("_ms") for c in LATENCY_COLUMNS))
    tables = [Table(columns, rows, f"{kind} — {METRIC_KINDS.get(kind, kind)}")
              for kind, rows in kinds.items()]
    blocks: list[Block] = list(tables)
    if any(m.get("approximate") for m in (r.get("metrics") or {}).values()):
        blocks.insert(0, Items([("warning", "(≈) percentiles approximated from the per-second "
                                            "rows: the run's histograms were lost")]))
    return Section("latency", "Latency (ms)", blocks)


def _values(r: dict[str, Any]) -> Section:
    """What the scenario recorded that is not a time, each in its unit and direction."""
    columns = ("name", "unit", "better", "count", *VALUE_COLUMNS)
    rows = [(name, str(v.get("unit") or MISSING), str(v.get("better") or MISSING),
             fmt(v.get("count")), *(fmt(v.get(c)) for c in VALUE_COLUMNS))
            for name, v in (r.get("values") or {}).items()]
    return Section("values", "Values", [Table(columns, rows)] if rows else [])


def _stages(r: dict[str, Any]) -> Section:
    stages = (r.get("load") or {}).get("stages") or []
    columns = ("stage", "from s", "to s", "peak users", "operations", "failed", "rate/s",
               "messages", "errors", "p50", "p95", "p99")
    keys = ("stage", "from_s", "to_s", "peak_users", "operations", "failed", "rate_per_s",
            "messages", "errors", "p50_ms", "p95_ms", "p99_ms")
    rows = [tuple(fmt(s.get(k)) for k in keys) for s in stages]
    return Section("stages", "Stages", [Table(columns, rows)] if rows else [])


def _counters(r: dict[str, Any]) -> Section:
    kinds: dict[str, list[tuple[str, ...]]] = {}
    for key, n in (r.get("counters") or {}).items():
        kind, _, name = key.partition(":")
        kinds.setdefault(kind, []).append((name or kind, fmt(n)))
    tables = [Table(("name", "count"), rows, kind) for kind, rows in kinds.items()]
    return Section("counters", "Messages, events and counters", list(tables))


def _errors(r: dict[str, Any]) -> Section:
    errors = r.get("errors") or {}
    if not errors:
        total = r.get("errors_total")
        if not total:
            return Section("errors", "Errors", [Items([("ok", "no errors")])] if total == 0 else [])
        return Section("errors", "Errors", [Items([("warning", f"{fmt(total)} errors; their "
                                                               "categories were not recorded")])])
    details = r.get("error_details") or {}
    rows = [(cat, fmt(n), ", ".join(f"{k}: {fmt(v)}" for k, v in details.get(cat, {}).items()))
            for cat, n in errors.items()]
    blocks: list[Block] = [Table(("category", "count", "detail"), rows)]
    examples = r.get("error_examples") or {}
    if examples:
        blocks.append(Table(("error", "first example"),
                            [(k, gist(str(v), r.get("scenario_file")))
                             for k, v in examples.items()], "examples"))
    return Section("errors", f"Errors ({fmt(r.get('errors_total'))})", blocks)


def _bandwidth(r: dict[str, Any]) -> Section:
    """Wire bytes (as the network saw them) and payload, in all and per protocol; the peak
    second is of payload (the per-second rows count payload as it flows)."""
    b = r.get("bytes") or {}
    rows_ts = r.get("timeseries") or []
    if not b and not rows_ts:
        return Section("bandwidth", "Bandwidth")
    duration = r.get("duration_s") or 0
    rows = []
    for direction, key in (("sent", "bytes_sent"), ("received", "bytes_received")):
        total = b.get(direction)
        peak = max((row.get(key) or 0 for row in rows_ts), default=None)
        mean = round(total / duration, 1) if total is not None and duration else None
        rows.append((direction, fmt(total), fmt(b.get(f"payload_{direction}")), fmt(mean),
                     fmt(peak)))
    columns = ("direction", "wire bytes", "payload bytes", "mean wire bytes/s",
               "peak payload bytes in one second")
    blocks: list[Block] = [Table(columns, rows)]
    protocols = b.get("by_protocol") or {}
    if protocols:
        blocks.append(Table(
            ("protocol", "wire sent", "wire received", "payload sent", "payload received",
             "connections"),
            [(name, fmt(t.get("sent")), fmt(t.get("received")), fmt(t.get("payload_sent")),
              fmt(t.get("payload_received")), fmt(t.get("connections")))
             for name, t in protocols.items()], "per protocol"))
    return Section("bandwidth", "Bandwidth", blocks)


def _optional(r: dict[str, Any]) -> Iterator[Section]:
    for name in OPTIONAL_SECTIONS:
        if r.get(name):
            yield Section(name, name.capitalize(), [key_values(r[name])])


def _generator(r: dict[str, Any]) -> Section:
    gen = r.get("generator") or {}
    if not gen:
        return Section("generator", "Generator health")
    blocks: list[Block] = []
    if gen.get("saturated"):
        reasons = "; ".join(gen.get("reasons") or [])
        blocks.append(Items([("warning", f"generator saturated: {reasons} — figures may show "
                                         "horde's limit, not the target's")]))
    shown = {k: v for k, v in gen.items() if k not in ("saturated", "reasons", "timeseries")}
    return Section("generator", "Generator health",
                   [*blocks, key_values(shown)] if shown else blocks)


def _target_monitor(r: dict[str, Any]) -> Section:
    tm = r.get("target_monitor") or {}
    shown = {k: v for k, v in tm.items() if k != "timeseries"}
    return Section("target", "Target resources", [key_values(shown)] if shown else [])


def _analysis(r: dict[str, Any]) -> Section:
    analysis = r.get("analysis") or {}
    blocks: list[Block] = []
    findings = analysis.get("findings") or []
    if findings:
        blocks.append(Items([(str(f.get("severity", "info")), finding_text(f))
                             for f in findings]))
    for part in ("projections", "scaling"):
        rows = [_estimate(key, value) for key, value in (analysis.get(part) or {}).items()
                if value not in ({}, [], None)]
        if rows:
            blocks.append(Table(("", "value", "from"), rows, part))
    return Section("analysis", "Analysis", blocks)


def _estimate(key: str, value: Any) -> tuple[str, str, str]:
    """An estimate is shown by its ``text`` (else value and unit) beside the measured
    evidence it was computed from; anything else is shown as it is."""
    if not isinstance(value, dict):
        return key.replace("_", " "), fmt(value), ""
    shown = value.get("text") or " ".join(
        fmt(value.get(k)) for k in ("value", "unit") if value.get(k) is not None)
    evidence = ", ".join(f"{k} {v}" for k, v in flatten(value.get("evidence") or {}) if k)
    note = f" ({value['note']})" if value.get("note") else ""
    return key.replace("_", " "), (shown or fmt(value)) + note, evidence


def finding_text(f: dict[str, Any]) -> str:
    evidence = ", ".join(f"{k} {v}" for k, v in flatten(f.get("evidence") or {}) if k)
    text = f"{str(f.get('severity', 'info')).upper()}: {f.get('title', f.get('rule', ''))}"
    if f.get("detail"):
        text += f" — {f['detail']}"
    return text + (f" (evidence: {evidence})" if evidence else "")


_FIRST: tuple[Callable[[dict[str, Any]], Section], ...] = (
    _summary, _thresholds, _analysis, _connections, _latency, _values, _stages, _counters,
    _errors,
    _bandwidth,
)
_LAST: tuple[Callable[[dict[str, Any]], Section], ...] = (_generator, _target_monitor)
