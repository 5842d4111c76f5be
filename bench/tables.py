"""Generate docs/benchmarks.md's tables from bench/results/runs.jsonl, so they cannot drift.

    .venv/bin/python bench/tables.py            # rewrite the tables in place
    .venv/bin/python bench/tables.py --check    # exit 1 when the doc differs from the log

A generated table sits between ``<!-- table:NAME key=value ... -->`` and ``<!-- /table -->``;
NAME picks a function of ``TABLES`` and the keys pick what it shows (``session=2026-11-23``:
the log's lines of that session). Everything between the markers is replaced; the prose
around them is the doc's own. Numbers are rounded half up, as a reader would.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import runlog

DOC = runlog.ROOT / "docs" / "benchmarks.md"
MARKED = re.compile(r"(<!-- table:(\w+)((?: [\w-]+=\S+)*) -->\n)(.*?)(<!-- /table -->)", re.S)
Line = dict[str, Any]


class Log:
    """The run log's lines, looked up by session, workload and tool."""

    def __init__(self, lines: Sequence[Line]) -> None:
        self.lines = list(lines)

    def get(self, session: str, workload: str, tool: str) -> Line | None:
        """The last line of that session for that workload and tool, if any."""
        found = [x for x in self.lines if (x["session"], x["workload"], x["tool"])
                 == (session, workload, tool)]
        return found[-1] if found else None

    def all(self, session: str, workload: str, tool: str) -> list[Line]:
        return [x for x in self.lines
                if (x["session"], x["workload"], x["tool"]) == (session, workload, tool)]


# ---- formatting ----------------------------------------------------------------------------

def rounded(x: float, places: int) -> Decimal:
    return Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def fixed(x: float, places: int) -> str:
    return f"{rounded(x, places):,}"


def sig3(x: float) -> str:
    """Three significant figures: 1.90, 22.8, 52.0, 241."""
    return fixed(x, 2 if x < 10 else 1 if x < 100 else 0)


def krate(x: float) -> str:
    """Operations per second in thousands: 52k, 4.4k."""
    k = rounded(x / 1000, 1)
    return f"{rounded(x / 1000, 0)}k" if k >= 10 else f"{k}k"


def row(cells: Sequence[str]) -> str:
    return "|" + "|".join(f" {c} " if c else " " for c in cells) + "|"


def header(cells: Sequence[str]) -> list[str]:
    return [row(cells), "|" + "---|" * len(cells)]


# ---- CPU per 100k operations ----------------------------------------------------------------

PEERS = (("tsung", "Tsung"), ("artillery", "Artillery"), ("locust", "Locust"))
RATED = {"tsung", "locust", "wrk"}  # Artillery's ops ÷ wall understates it (start-up, stop)
OTHER_NAMES = {"wrk": "wrk", "node_sio": "Node socket.io-client", "python_sio": "python-socketio"}
COMPARE_NAMES = {"tsung": "Tsung", "artillery": "Artillery", "locust": "Locust",
                 "node_sio": "Node's client", "python_sio": "python-socketio"}


@dataclass(frozen=True)
class CpuRow:
    """One workload of the CPU table: horde's tool key, the peers beside it, its target."""

    label: str
    workload: str
    unit: str  # what horde's rate counts: rt/s, req/s, acks/s
    horde: str = "horde"
    peers: bool = True  # False: a variant of the row above, horde only
    other: tuple[str, ...] = ()
    target: tuple[float, str] | None = None
    spread: bool = False  # show the runs' range beside the target
    compare: tuple[str, ...] = ("tsung",)


CPU_ROWS = (
    CpuRow("W1 WebSocket ping-pong, 100 users", "w1_100", "rt/s", target=(2.0, "≤ 2.0")),
    CpuRow("W1 same, JSON decode + `match` predicate", "w1_100", "rt/s", horde="horde_json",
           peers=False),
    CpuRow("W1 WebSocket ping-pong, 1,000 users", "w1_1000", "rt/s", target=(2.5, "≤ 2.5")),
    CpuRow("W1 1,000 users, JSON + `match`", "w1_1000", "rt/s", horde="horde_json",
           peers=False),
    CpuRow("W3 HTTP GET, 100 keep-alive users (nginx)", "w3_http", "req/s", other=("wrk",),
           target=(5.0, "≤ 5.0"), compare=("tsung", "locust")),
    CpuRow("SIO emit-with-ack, 100 clients (Node server)", "sio_ack_100", "acks/s",
           other=("node_sio", "python_sio"), target=(4.0, "≤ 4.0"), spread=True,
           compare=("node_sio", "artillery", "python_sio")),
)


def cpu_per_100k(line: Line) -> float:
    """The median of the runs' own figures (unrounded), else the line's summary."""
    runs = [r["cpu_per_100k"] for r in line["runs"] if r.get("cpu_per_100k") is not None]
    return statistics.median(runs) if runs else line["figures"]["cpu_per_100k"]


def cpu_table(log: Log, session: str) -> list[str]:
    """CPU-seconds per 100k operations, horde beside the peers, from one harness session."""
    out = header(["workload", "horde", "Tsung", "Artillery", "Locust", "other",
                  "horde's target", "vs best peer"])
    for spec in CPU_ROWS:
        horde = log.get(session, spec.workload, spec.horde)
        if horde is None:
            out.append(row([spec.label, "not measured in this session", *[""] * 6]))
            continue
        mine = cpu_per_100k(horde)
        figure = sig3(mine)
        cells = [spec.label, f"**{figure}**" if spec.peers else figure]
        cells[1] += f" ({krate(horde['figures']['ops_per_s'])} {spec.unit})"
        for tool, _ in PEERS:
            cells.append(_peer_cell(log.get(session, spec.workload, tool), spec.peers))
        others = [f"{OTHER_NAMES[t]} {_figure(x, t)}" for t in spec.other
                  if (x := log.get(session, spec.workload, t))]
        cells.append("; ".join(others) or ("—" if spec.peers else ""))
        cells.append(_target(spec, horde, mine))
        cells.append(_versus(log, session, spec, mine))
        out.append(row(cells))
    return out


def _figure(line: Line, tool: str) -> str:
    text = sig3(cpu_per_100k(line))
    return f"{text} ({krate(line['figures']['ops_per_s'])})" if tool in RATED else text


def _peer_cell(line: Line | None, shown: bool) -> str:
    if not shown:
        return ""
    return "—" if line is None else _figure(line, line["tool"])


def _target(spec: CpuRow, horde: Line, mine: float) -> str:
    if spec.target is None:
        return ""
    limit, text = spec.target
    cell = f"{text} {'✓' if mine <= limit else '✗'}"
    runs = [r["cpu_per_100k"] for r in horde["runs"] if r.get("cpu_per_100k") is not None]
    if spec.spread and len(runs) > 1:
        cell += f" ({fixed(min(runs), 1)}–{fixed(max(runs), 1)} over {len(runs)} runs)"
    return cell


def _versus(log: Log, session: str, spec: CpuRow, mine: float) -> str:
    """'level with X' within 10 %, else how many times less (or more) CPU than X."""
    level, apart = [], []
    for tool in spec.compare:
        line = log.get(session, spec.workload, tool)
        if line is None:
            continue
        ratio = cpu_per_100k(line) / mine
        name = COMPARE_NAMES[tool]
        if 1 / 1.1 < ratio < 1.1:
            level.append(f"level with {name}")
        elif ratio > 1:
            apart.append(f"{fixed(ratio, 1)}× less than {name}")
        else:
            apart.append(f"{fixed(1 / ratio, 1)}× more than {name}")
    return "; ".join([*level, ", ".join(apart)] if apart else level)


# ---- idle memory ----------------------------------------------------------------------------

FOOTMARKS = "¹²³⁴⁵⁶⁷⁸⁹"


def idle_table(log: Log, session: str, reruns: str = "") -> list[str]:
    """Memory per idle connection and opens per second. horde's memory figures come from
    the last of ``reruns`` (sessions that measured horde alone after a change; footnoted
    with its place in that list), its opens per second from ``session``, with the reruns'
    range beside them."""
    later = [s for s in reruns.split(",") if s]
    out = header(["workload", "horde", "Tsung", "Artillery", "Locust", "other",
                  "horde's target"])

    def horde_memory(workload: str) -> tuple[Line | None, str]:
        for place, name in reversed(list(enumerate(later))):
            if (line := log.get(name, workload, "horde")) is not None:
                return line, f" {FOOTMARKS[place]}"
        return log.get(session, workload, "horde"), ""

    def kb(line: Line) -> str:
        return f"{fixed(line['figures']['kb_per_conn'], 1)} KB"

    def mb(line: Line) -> str:
        return f"{fixed(line['figures']['fixed_mb'], 0)} MB"

    def opens(line: Line) -> str:
        return fixed(line["figures"]["opens_per_s"], 0)

    def cpu(line: Line) -> str:
        values = [r["cpu_s"] for r in line["runs"] if r.get("cpu_s") is not None]
        return fixed(statistics.median(values), 2) if values else "—"

    def peers(workload: str, show: Callable[[Line], str]) -> list[str]:
        return [show(x) if (x := log.get(session, workload, t)) else "—" for t, _ in PEERS]

    def mark(ok: bool) -> str:
        return "✓" if ok else "✗"

    horde, note = horde_memory("w2_10k")
    if horde is not None:
        out.append(row(["W2 10,000 idle WebSockets: KB per connection", kb(horde) + note,
                        *peers("w2_10k", kb), "—",
                        f"≤ 8 KB {mark(horde['figures']['kb_per_conn'] <= 8)}"]))
        out.append(row(["W2 fixed memory (the same tool holding 100)", mb(horde),
                        *peers("w2_10k", mb), "—",
                        f"< 60 MB {mark(horde['figures']['fixed_mb'] < 60)}"]))
    first = log.get(session, "w2_10k", "horde")
    if first is not None:
        cell = opens(first) + _opens_range(first, [log.all(s, "w2_10k", "horde") for s in later])
        out.append(row(["W2 opens per second (server-counted)", cell, *peers("w2_10k", opens),
                        "—", f"≥ 3,500 {mark(first['figures']['opens_per_s'] >= 3500)}"]))
    if first is not None:
        out.append(row(["W2 CPU-s of the whole run (start, open, hold, close)",
                        cpu(first), *peers("w2_10k", cpu), "—", ""]))
    horde, note = horde_memory("sio_idle_5k")
    others = [(t, OTHER_NAMES[t].replace("socket.io-client", "client"))
              for t in ("node_sio", "python_sio")]
    if horde is not None:
        other = "; ".join(f"{name} {kb(x)}" for t, name in others
                          if (x := log.get(session, "sio_idle_5k", t)))
        out.append(row(["SIO 5,000 idle clients: KB per client", kb(horde) + note,
                        "—", "—", "—", other or "—",
                        f"≤ 12 KB {mark(horde['figures']['kb_per_conn'] <= 12)}"]))
        other = "; ".join(f"{name} {mb(x)}" for t, name in others
                          if (x := log.get(session, "sio_idle_5k", t)))
        out.append(row(["SIO fixed memory", mb(horde), "—", "—", "—", other or "—", ""]))
    return out


def _opens_range(first: Line, reruns: list[list[Line]]) -> str:
    def span(lines: list[Line]) -> str | None:
        values = [r["extra"]["opens_per_s"] for x in lines for r in x["runs"]
                  if r["extra"].get("opens_per_s") is not None]
        return f"{fixed(min(values), 0)}–{fixed(max(values), 0)}" if values else None

    parts = [p for p in (span([first]),) if p]
    if (later := span([x for lines in reruns for x in lines])) is not None:
        parts.append(f"reruns {later}")
    return f" ({'; '.join(parts)})" if parts else ""


# ---- the demos ------------------------------------------------------------------------------

def _s(x: float, places: int) -> str:
    return f"{fixed(x, places)} s"


def _mb(x: float) -> str:
    return f"{fixed(x, 1)} MB"


def _median_figures(lines: list[Line]) -> dict[str, float]:
    keys = ("wall_s", "tool_cpu_s", "tool_peak_rss_mb", "server_cpu_s", "server_peak_rss_mb")
    return {k: statistics.median(x["figures"][k] for x in lines) for k in keys}


def chsh_table(log: Log, session: str, peer: str) -> list[str]:
    """horde beside a hand-written peer on the chsh demo: medians of the session's runs."""
    mine, theirs = log.all(session, "demo:chsh", "horde"), log.all(session, "demo:chsh", peer)
    out = header(["", "wall time", "tool CPU", "tool peak RSS", "server CPU",
                  "server peak RSS", "result"])
    if not mine or not theirs:
        return [*out, row(["not measured in this session", *[""] * 6])]
    a, b = _median_figures(mine), _median_figures(theirs)
    last = mine[-1]["figures"]
    groups = last["groups"]
    verdict = "every threshold ✓" if all(t[2] for t in last["thresholds"]) else "thresholds ✗"
    errors = sum(last["errors"].values())
    done = theirs[-1]["figures"]["peer"]

    def runs(n: int) -> str:
        return f"{n} run" + ("s, medians" if n > 1 else "")

    out.append(row([f"**horde** ({runs(len(mine))})", _s(a["wall_s"], 1),
                    f"**{_s(a['tool_cpu_s'], 2)}**", _mb(a["tool_peak_rss_mb"]),
                    _s(a["server_cpu_s"], 2), _mb(a["server_peak_rss_mb"]),
                    f"{groups['completed']}/{groups['planned']} teams completed, "
                    f"{errors} errors, {verdict}"]))
    out.append(row([f"python-socketio by hand ({runs(len(theirs))})", _s(b["wall_s"], 1),
                    _s(b["tool_cpu_s"], 2), _mb(b["tool_peak_rss_mb"]),
                    _s(b["server_cpu_s"], 2), _mb(b["server_peak_rss_mb"]),
                    f"{done['teams_completed']}/{done['teams']} teams completed, "
                    f"{done['errors']} errors"]))
    out.append(row(["**ratio horde / peer**", "",
                    f"**{fixed(a['tool_cpu_s'] / b['tool_cpu_s'], 2)}**",
                    fixed(a["tool_peak_rss_mb"] / b["tool_peak_rss_mb"], 2), "", "", ""]))
    return out


DEMOS = (
    ("quiz", "20 players + admin, 3 rounds"),
    ("chatrooms", "10 users × 2 rooms polled every 4 s, 60 s"),
    ("chatbot", "steps 2 → 14 users, streamed answers, 40 s"),
    ("tasks", "50 connections, a task per connection, 10 s"),
)


def demos_table(log: Log, session: str) -> list[str]:
    """The other demos at their defaults, one line each (the session's last run)."""
    out = header(["demo", "what runs", "wall", "horde CPU", "horde RSS", "server CPU",
                  "server RSS", "verdict"])
    for name, what in DEMOS:
        line = log.get(session, f"demo:{name}", "horde")
        if line is None:
            out.append(row([f"`{name}`", what, "not measured in this session", *[""] * 5]))
            continue
        f = line["figures"]
        out.append(row([f"`{name}`", what, _s(f["wall_s"], 1), _s(f["tool_cpu_s"], 2),
                        _mb(f["tool_peak_rss_mb"]), _s(f["server_cpu_s"], 2),
                        _mb(f["server_peak_rss_mb"]), "passed" if f["passed"] else "failed"]))
    return out


# ---- the soak -------------------------------------------------------------------------------

def soak_table(log: Log, session: str, workload: str = "soak:ws_2000") -> list[str]:
    """The soak's verdicts: nothing lost, memory flat after warm-up, the generator's load."""
    line = log.get(session, workload, "horde")
    if line is None:
        return [*header(["", ""]), row(["not measured in this session", ""])]
    f = line["figures"]
    warmup = int(line["settings"].get("warmup", "5m").rstrip("m"))
    by_minute = f["rss_mb_by_minute"]
    minutes = [1, *range(5, len(by_minute) + 1, 5)]
    errors = ", ".join(f"{k} ×{v}" for k, v in f["errors"].items()) or "none"
    growth = f["rss_growth_after_warmup"] * 100
    gen = f["generator"]
    return [
        *header(["", ""]),
        row(["messages sent by horde / received by the server",
             f"{f['messages_sent_by_horde']:,} / {f['messages_received_by_server']:,} — "
             f"**{f['lost']:,} lost**"]),
        row(["replies timed (`ws_reply:tick`)",
             f"{f['replies']:,}, p50 {fixed(f['reply_p50_ms'], 2)} ms, "
             f"p99 {fixed(f['reply_p99_ms'], 0)} ms"]),
        row(["errors", errors]),
        row([f"horde RSS at {' / '.join(map(str, minutes))} min",
             " / ".join(fixed(by_minute[m - 1], 1) for m in minutes) + " MB"]),
        row([f"growth after the {warmup}-minute warm-up (peak vs. at {warmup} min)",
             f"{fixed(f['rss_mb_after_warmup'], 1)} → {fixed(f['rss_mb_peak_after_warmup'], 1)}"
             f" MB: **{'+' if growth >= 0 else ''}{fixed(growth, 1)} %** (target < 5 %) "
             f"{'✓' if growth < 5 else '✗'}; it ended at {fixed(f['rss_mb_last'], 1)} MB"]),
        row(["horde CPU", f"mean {fixed(gen['cpu_percent_mean'], 0)} % of a core, loop lag "
             f"p99 {fixed(gen['loop_lag_p99_ms'], 0)} ms, "
             f"{'saturated' if gen['saturated'] else 'not saturated'}"]),
    ]


# ---- workers (bench/workers.py) -------------------------------------------------------------

WORKER_MODES = (("1", "one worker (one process, no Ray)"),
                ("2", "two workers (Ray, one coordinator)"),
                ("2x1", "two separate one-worker runs, half the users each"))


def workers_table(log: Log, session: str, workload: str = "w1_100") -> list[str]:
    """1 worker vs 2 vs two uncoordinated runs: CPU per operation, and what it adds."""
    out = header(["how", "CPU-s per 100k round trips", "round trips/s", "start-up",
                  "coordinator CPU per worker", "vs one worker", "vs two separate runs"])
    lines = {mode: log.get(session, workload, f"horde --workers {mode}")
             for mode, _ in WORKER_MODES}
    base, apart = lines["1"], lines["2x1"]
    for mode, what in WORKER_MODES:
        line = lines[mode]
        if line is None:
            out.append(row([what, "not measured in this session", *[""] * 5]))
            continue
        f = line["figures"]
        coordinator = f.get("coordinator_cpu_percent_per_worker")
        out.append(row([
            what, f"**{fixed(f['cpu_per_100k'], 2)}** (median of {len(line['runs'])})",
            krate(f["ops_per_s"]), f"{fixed(f['startup_s'], 1)} s",
            "—" if coordinator is None else f"{fixed(coordinator, 1)} % of a core",
            _change(f["cpu_per_100k"], base) if mode != "1" else "",
            _change(f["cpu_per_100k"], apart) if mode == "2" else "",
        ]))
    return out


def _change(mine: float, other: Line | None) -> str:
    if other is None:
        return "—"
    change = (mine / other["figures"]["cpu_per_100k"] - 1) * 100
    return f"{'+' if change >= 0 else ''}{fixed(change, 1)} %"


def startup_table(log: Log, session: str) -> list[str]:
    """Each build of the session (its commit): what starting up costs, medians in ms."""
    builds = sorted((x for x in log.lines if x["session"] == session and x["kind"] == "startup"),
                    key=lambda x: x["settings"].get("order", 0))
    if not builds:
        return [f"(no start-up lines in session {session})"]
    cases = list(builds[0]["figures"])
    out = header(["case", *[f"`{(b['commit'] or 'unknown')[:7]}`" for b in builds]])
    for case in cases:
        out.append(row([case, *[f"{fixed(b['figures'][case], 0)} ms" for b in builds]]))
    plugin = [b["figures"][cases[0]] - b["figures"][cases[1]] for b in builds]
    out.append(row(["what the plugin adds to `pytest --co`",
                    *[f"{'+' if p >= 0 else '−'}{fixed(abs(p), 0)} ms" for p in plugin]]))
    return out


def merge_table(log: Log, session: str) -> list[str]:
    """bench/window_merge.py: a window's cost to pack (worker) and merge (coordinator)."""
    sizes = sorted((x for x in log.lines if x["session"] == session
                    and x["kind"] == "window_merge"), key=lambda x: x["figures"]["metrics"])
    if not sizes:
        return [f"(no window_merge lines in session {session})"]
    out = header(["window", "bytes shipped", "pack (worker)", "unpack and add (coordinator)",
                  "workers one coordinator core merges a second"])
    for line in sizes:
        f = line["figures"]
        out.append(row([
            f"{f['metrics']} metrics × {f['samples_per_metric']:,} samples",
            f"{f['bytes_per_window']:,}", f"{fixed(f['pack_ms'], 1)} ms",
            f"{fixed(f['unpack_ms'], 1)} ms", f"**{f['workers_per_coordinator_core']:,}**",
        ]))
    return out


# ---- one build against another (before / after, or two settings) ---------------------------

# name → (row label, the figure of one harness line, its decimals)
VERSUS_ROWS: dict[str, tuple[str, Callable[[Line], float | None], int]] = {
    "opens": ("opens/s, server-counted", lambda x: x["figures"].get("opens_per_s"), 0),
    "cpu": ("CPU-s for the whole run", lambda x: _run(x, "cpu_s"), 2),
    "rss": ("peak RSS, MB", lambda x: _mb_of(_run(x, "max_rss_kb")), 0),
    "kb": ("KB per connection", lambda x: x["figures"].get("kb_per_conn"), 1),
    "kb_tree": ("KB per connection, whole tree", lambda x: x["figures"].get("kb_per_conn"), 1),
    "kb_workers": ("KB per connection, workers alone",
                   lambda x: x["figures"].get("kb_per_conn_workers"), 1),
    "fixed_tree": ("fixed MB, whole tree", lambda x: x["figures"].get("fixed_mb"), 0),
    "errors": ("errors", lambda x: _extra(x, "errors"), 0),
    "open": ("open at the end (peak)", lambda x: _extra(x, "peak_open"), 0),
}


def _run(line: Line, key: str) -> float | None:
    values = [r[key] for r in line["runs"] if r.get(key) is not None]
    return statistics.median(values) if values else None


def _mb_of(kb: float | None) -> float | None:
    return None if kb is None else kb / 1024


def _extra(line: Line, key: str) -> float | None:
    values = [r["extra"][key] for r in line["runs"] if r.get("extra", {}).get(key) is not None]
    return statistics.median(values) if values else None


def versus_table(log: Log, workload: str, sessions: str, rows: str,
                 tool: str = "horde") -> list[str]:
    """``workload`` in each of ``sessions`` (comma-separated), a column each headed by its
    session and commit: each row's figure for every line of the session, and their
    median when there are several (e.g. before and after alternated three times)."""
    columns = [(s, log.all(s, workload, tool)) for s in sessions.split(",")]
    out = header(["", *[_column_head(s, lines) for s, lines in columns]])
    for name in rows.split(","):
        label, figure, places = VERSUS_ROWS[name]
        out.append(row([label, *[_versus_cell(lines, figure, places) for _, lines in columns]]))
    return out


def _column_head(session: str, lines: list[Line]) -> str:
    if not lines:
        return f"`{session}`: not in the log"
    commits = sorted({(x["commit"] or "unknown")[:7] for x in lines})
    return f"`{session}` ({', '.join(f'`{c}`' for c in commits)})"


def _versus_cell(lines: list[Line], figure: Callable[[Line], float | None], places: int) -> str:
    values = [v for v in map(figure, lines) if v is not None]
    if not values:
        return "—"
    shown = " / ".join(fixed(v, places) for v in values)
    if len(values) == 1:
        return shown
    return f"{shown} (median {fixed(statistics.median(values), places)})"


TABLES: dict[str, Callable[..., list[str]]] = {
    "cpu": cpu_table, "idle": idle_table, "chsh": chsh_table, "demos": demos_table,
    "soak": soak_table, "workers": workers_table, "startup": startup_table,
    "merge": merge_table, "versus": versus_table,
}


def render(doc: str, lines: Sequence[Line]) -> str:
    """``doc`` with every marked table regenerated from ``lines``."""
    log = Log(lines)

    def table(m: re.Match[str]) -> str:
        name, keys = m.group(2), dict(k.split("=", 1) for k in m.group(3).split())
        if name not in TABLES:
            raise SystemExit(f"docs/benchmarks.md: unknown table {name!r}")
        return m.group(1) + "\n".join(TABLES[name](log, **keys)) + "\n" + m.group(5)

    return MARKED.sub(table, doc)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if the doc differs")
    a = p.parse_args()
    doc = DOC.read_text()
    new = render(doc, runlog.load())
    if a.check:
        sys.exit(0 if new == doc else f"{DOC} differs from bench/tables.py's tables")
    if new != doc:
        DOC.write_text(new)
    print(f"{DOC}: {len(MARKED.findall(new))} tables {'rewritten' if new != doc else 'unchanged'}")


if __name__ == "__main__":
    main()
