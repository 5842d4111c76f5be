"""Rules over the optional sections: broadcasts, isolation, ordering, streams, groups,
and the open model's sessions. Each fires only when its section is present."""

from __future__ import annotations

from typing import Any

from horde.report.analysis.denominators import number
from horde.report.analysis.estimates_and_findings import finding

Findings = list[dict[str, Any]]

MISSED_NAMES = 5


def broadcast_reach(r: dict[str, Any]) -> Findings:
    """Some subscribers did not receive a broadcast (reach < 1 on a topic)."""
    short = {topic: t for topic, t in (r.get("broadcasts") or {}).items()
             if (reach := number(t.get("reach"))) is not None and reach < 1}
    if not short:
        return []
    evidence = {topic: {k: t.get(k) for k in ("sent", "deliveries", "expected", "reach",
                                              "min_reach")}
                for topic, t in short.items()}
    missed = sorted({n for t in short.values() for m in t.get("missing") or []
                     for n in m.get("missing") or []})
    worst = min(short, key=lambda topic: short[topic]["reach"])
    w = short[worst]
    detail = ("some subscribers missed broadcasts: check the server's fan-out (sends "
              "dropped for slow consumers, room membership, instances not sharing a "
              "pub/sub), or a too-short broadcast window")
    if missed:
        detail += "; missed by " + ", ".join(missed[:MISSED_NAMES]) + (
            " …" if len(missed) > MISSED_NAMES else "")
    return [finding("broadcast_reach", "warning",
                    f"broadcast {worst} reached {w['reach']:.2%} "
                    f"({w.get('deliveries', 0):,} of {w.get('expected', 0):,} deliveries)",
                    detail, evidence)]


def isolation_failures(r: dict[str, Any]) -> Findings:
    """A session saw another session's token: data leaking between users."""
    i = r.get("isolation") or {}
    if not i.get("failures"):
        return []
    detail = ("a user received another user's data: check per-session state on the "
              "server (shared caches, global variables, room or channel keys)")
    examples = i.get("examples") or []
    if examples:
        e = examples[0]
        detail += f"; e.g. {e.get('seen_by')} saw {e.get('owner')}'s token"
    return [finding("isolation_failures", "critical",
                    f"isolation broken: {i['failures']:,} leaks in "
                    f"{i.get('inspected', 0):,} inspected messages",
                    detail, {"failures": i["failures"], "inspected": i.get("inspected")})]


def ordering_gaps(r: dict[str, Any]) -> Findings:
    """Sequenced messages arrived with gaps, duplicates or out of order."""
    o = r.get("ordering") or {}
    evidence = {k: o.get(k) or 0 for k in ("messages", "gaps", "duplicates", "out_of_order")}
    if not (evidence["gaps"] or evidence["duplicates"] or evidence["out_of_order"]):
        return []
    return [finding("ordering_gaps", "warning",
                    f"ordering: {evidence['gaps']:,} missing, {evidence['duplicates']:,} "
                    f"duplicated, {evidence['out_of_order']:,} out of order in "
                    f"{evidence['messages']:,} messages",
                    "messages were lost or reordered on the way: check server queues and "
                    "buffers under load, reconnects that skip a backlog, and several "
                    "instances publishing one stream", evidence)]


def stream_stalls(r: dict[str, Any]) -> Findings:
    """Streams that stalled mid-way or ended before completing."""
    bad = {name: {k: s.get(k) for k in ("count", "completed", "incomplete", "stalls")}
           for name, s in (r.get("streams") or {}).items()
           if s.get("stalls") or s.get("incomplete")}
    if not bad:
        return []
    stalls = sum(s["stalls"] or 0 for s in bad.values())
    incomplete = sum(sum((s["incomplete"] or {}).values()) for s in bad.values())
    return [finding("stream_stalls", "warning",
                    f"streams: {stalls:,} stalls, {incomplete:,} incomplete",
                    "chunks paused past the stall limit or streams ended early: look for "
                    "blocking work or backpressure in the producer, and proxy buffering",
                    bad)]


UNCLAIMED = "sio_unclaimed:"
DROPPED = "sio_inbox_dropped:"
UNCLAIMED_AT_LEAST = 100  # a few leftovers per run are normal; a pile is a finding
PILE_AT_LEAST = 20  # ... on one connection: 200 users each left one event is no pile
UNCLAIMED_NAMES = 3


def events_unclaimed(r: dict[str, Any]) -> Findings:
    """Socket.IO events nobody waited for piled up in the users' queues: memory and event
    loop time spent on events the scenario never reads (a lobby broadcasting to all)."""
    counters = r.get("counters") or {}
    piled = {k[len(UNCLAIMED):]: n for k, n in counters.items()
             if k.startswith(UNCLAIMED) and n}
    dropped = {k[len(DROPPED):]: n for k, n in counters.items() if k.startswith(DROPPED) and n}
    peak = ((r.get("values") or {}).get("sio_inbox_peak") or {}).get("max")
    if not dropped and (sum(piled.values()) < UNCLAIMED_AT_LEAST
                        or (peak is not None and peak < PILE_AT_LEAST)):
        return []
    top = sorted(piled, key=lambda e: -piled[e])[:UNCLAIMED_NAMES]
    listed = ", ".join(f"{e} ×{piled[e]:,}" + (f" (dropped {dropped[e]:,})" if e in dropped
                                                else "") for e in top)
    evidence: dict[str, Any] = {"unclaimed": piled, "dropped": dropped, "peak": peak}
    calls = " or ".join(f'sio.ignore("{e}")' for e in top[:2])
    return [finding("events_unclaimed", "warning" if dropped else "info",
                    f"events nobody waited for piled up: {listed}",
                    f"call {calls} for events the scenario does not read, or handle them "
                    "with on= / sio.on(); each connection keeps at most inbox_limit "
                    "(default 1,000) of them, dropping the oldest", evidence)]


def groups_failed(r: dict[str, Any]) -> Findings:
    """Groups (rooms, matches, teams) that failed, with their reasons."""
    g = r.get("groups") or {}
    if not g.get("failed"):
        return []
    evidence = {k: g.get(k) for k in ("planned", "started", "formed", "completed", "failed",
                                      "failures")}
    reasons = ", ".join(f"{reason} ×{n:,}" for reason, n in (g.get("failures") or {}).items())
    return [finding("groups_failed", "warning",
                    f"{g['failed']:,} of {g.get('planned', 0):,} groups failed: {reasons}",
                    "a group fails as a whole when one member does: the reasons name the "
                    "step; look at the errors of that step", evidence)]


def sessions_short(r: dict[str, Any]) -> Findings:
    """The open model could not start sessions when due (late) or at all (dropped)."""
    s = (r.get("load") or {}).get("sessions") or {}
    late, dropped = s.get("late") or 0, s.get("dropped") or 0
    if not (late or dropped):
        return []
    evidence = {k: s.get(k) for k in ("started", "late", "dropped", "max_concurrent")}
    return [finding("sessions_short", "warning" if dropped else "info",
                    f"open model fell behind: {late:,} sessions late, {dropped:,} dropped",
                    "sessions piled up to max_concurrent because each lasted longer than "
                    "planned (a slow target) or the generator lagged: the arrival rate was "
                    "not fully applied; raise max_concurrent or see the latency findings",
                    evidence)]
