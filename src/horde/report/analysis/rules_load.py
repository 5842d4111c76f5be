"""Rules over the load itself: run status, thresholds, errors, rate limiting,
connections, the generator, and latency against load.

Each rule takes the results dict and returns its findings (usually none or one). A rule
fires only on figures results.json holds, and puts those figures in the evidence.
"""

from __future__ import annotations

from typing import Any

from horde.errors import ConfigError
from horde.metrics.thresholds import parse_threshold
from horde.report.analysis.advice import advice_for
from horde.report.analysis.denominators import number
from horde.report.analysis.estimates_and_findings import finding

Findings = list[dict[str, Any]]

ERROR_RATE_WARNING = 0.01  # 002's "error rate > 1%: check server logs"
ERROR_RATE_CRITICAL = 0.05
CONNECT_CRITICAL = 0.95
TOP_CATEGORIES = 3
EXAMPLE_CHARS = 200
RATE_LIMIT_COUNTER = "custom:rate_limit"  # user.count("rate_limited"), "rate_limit_hits", ...
OK_429 = "http_status_ok:429"  # 429s a request declared ok (ok_status=(429,))
CONNECT_CATEGORIES = ("connection_refused", "timeout", "handshake_rejected", "tls_error",
                      "dns_failure")


def run_status(r: dict[str, Any]) -> Findings:
    """A run that did not complete measured only part of its plan."""
    status = r.get("status")
    if status in (None, "completed") and not r.get("incomplete"):
        return []
    evidence = {"status": status, "duration_s": r.get("duration_s")}
    if status == "setup_failed":
        return [finding("run_incomplete", "critical", "setup failed: no load was applied",
                        "fix @setup first; its error is under errors (scenario_exception)",
                        evidence)]
    if status == "aborted":
        evidence["abort_reason"] = r.get("abort_reason")
        return [finding("run_incomplete", "critical", f"run aborted: {r.get('abort_reason')}",
                        "the run stopped early on a failing threshold; the figures cover "
                        "the load up to that point", evidence)]
    return [finding("run_incomplete", "warning",
                    f"run {status or 'incomplete'} after {r.get('duration_s')} s",
                    "the figures and projections cover only the part of the plan that ran",
                    evidence)]


def workers_lost(r: dict[str, Any]) -> Findings:
    """A worker that died took its share of the load with it: the run measured less
    than its plan, even when it went on without it (``--on-worker-lost continue``)."""
    out = []
    for lost in (r.get("workers") or {}).get("lost") or []:
        out.append(finding(
            "worker_lost", "critical",
            f"worker {lost['worker']} lost at {lost['at_s']} s: {lost['reason']}",
            f"its {lost['users']} users stopped with it, so part of the planned load was "
            "never sent; see why it died (memory, its node) before trusting the figures",
            {k: lost.get(k) for k in ("worker", "at_s", "reason", "users", "pid", "node")}))
    return out


def target_exited(r: dict[str, Any]) -> Findings:
    """The watched target (``--monitor-pid``, ``--server-cmd``) died during the run: the
    errors after that are its absence, not its answers under load."""
    target = r.get("target_monitor") or {}
    if not target.get("exited"):
        return []
    at = target.get("exited_at_s")
    when = f" at {at:g} s" if at is not None else ""
    return [finding("target_exited", "critical",
                    f"the target (pid {target.get('pid')}) exited during the run{when}",
                    "the errors from then on are the target's absence, not its behaviour "
                    "under load: find why it died (its log, out of memory, a crash) before "
                    "reading the figures", {k: target.get(k) for k in ("pid", "cmd",
                                                                       "exited_at_s")})]


def no_traffic(r: dict[str, Any]) -> Findings:
    """Nothing measured at all: every other figure would be empty."""
    measured = any((m.get("count") or 0) > 0 for m in (r.get("metrics") or {}).values())
    attempted = (r.get("connections") or {}).get("attempted") or 0
    ops = r.get("operations") or {}
    if measured or attempted or ops.get("finished") or ops.get("unfinished"):
        return []
    return [finding("no_traffic", "warning", "nothing was measured",
                    "no request, message, connection or timer was recorded: check that the "
                    "scenario's behaviours run and reach the target",
                    {"operations": ops.get("finished", 0),
                     "connections_attempted": attempted, "metrics": len(r.get("metrics") or {})})]


def thresholds_failed(r: dict[str, Any]) -> Findings:
    """One finding per failed threshold, with observed against limit."""
    out = []
    for t in r.get("thresholds") or []:
        if t.get("passed"):
            continue
        expression, observed = t.get("expression", ""), t.get("observed")
        evidence: dict[str, Any] = {"expression": expression, "observed": observed}
        try:
            parsed = parse_threshold(expression)
            evidence |= {"op": parsed.op, "limit": parsed.limit}
            latency = parsed.aggregate not in (None, "count", "rate")
        except ConfigError:  # a stored run from a version with other syntax
            latency = False
        seen = t.get("reason") or (f"observed {observed}" if observed is not None
                                   else "nothing observed")
        title = f"threshold failed: {expression} ({seen}"
        title += f", limit {evidence['limit']:g})" if "limit" in evidence else ")"
        if observed is None:
            detail = "no samples were recorded for this criterion: check the metric name"
        elif latency:
            detail = ("latency over target: find where it crossed in the per-stage table "
                      "and the per-second series, then look for the bottleneck at that load")
        else:
            detail = "the run missed this criterion; the related findings say why"
        out.append(finding("threshold_failed", "critical", title, detail, evidence))
    return out


def error_rate(r: dict[str, Any]) -> Findings:
    """Failed ÷ finished operations (the ``errors.rate`` threshold figure), with the top
    error categories and what each usually means."""
    total = r.get("errors_total") or 0
    if not total:
        return []
    ops = r.get("operations") or {}
    operations = ops.get("finished") or 0
    rate = ops.get("error_rate")
    errors = r.get("errors") or {}
    top = dict(sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CATEGORIES])
    details = {c: r["error_details"][c] for c in top if c in (r.get("error_details") or {})}
    evidence = {"errors_total": total, "operations": operations,
                "failed_operations": ops.get("failed", 0), "error_rate": rate,
                "top": top, "details": details}
    example = _first_example(r, next(iter(top), ""))
    if example:
        evidence["example"] = example
    if rate is None or rate >= ERROR_RATE_CRITICAL:
        severity = "critical"
    else:
        severity = "warning" if rate >= ERROR_RATE_WARNING else "info"
    share = "no operation finished" if rate is None else (
        f"{ops.get('failed', 0):,} of {operations:,} operations failed, {rate:.2%}")
    mostly = ", ".join(f"{c} ×{n:,}" for c, n in top.items())
    title = f"{total:,} errors ({share}), mostly {mostly}"
    detail = "; ".join(f"{c}: {advice_for(c)}" for c in top)
    return [finding("error_rate", severity, title, detail, evidence)]


def rate_limited(r: dict[str, Any]) -> Findings:
    """HTTP 429s (errors, or declared ok with ``ok_status``), upgrades refused with 429, or
    a scenario counter named rate_limit*. A run whose thresholds check the limit meant to
    meet it: then it is information, with the figures; otherwise a warning, with the
    advice to keep 429s out of errors and assert on them (as the chatrooms demo does)."""
    evidence = _rate_limit_hits(r)
    if not evidence:
        return []
    counted = [n for k, n in evidence.items() if k.startswith(("custom:", "http_status_ok"))]
    # per-endpoint counters (rate_limited_poll) are parts of a total: the largest is it
    hits = sum(n for k, n in evidence.items() if not k.startswith(("custom:", "http_status_ok")))
    hits += max(counted, default=0)
    evidence["operations"] = (r.get("operations") or {}).get("finished", 0)
    checked = [t.get("expression") for t in r.get("thresholds") or []
               if _about_rate_limits(str(t.get("expression", "")))]
    if checked:
        evidence["thresholds"] = checked
        return [finding(
            "rate_limited", "info", f"rate limiting seen: {hits:,} limited responses, as "
            "the thresholds check", "the thresholds that check the limit decide whether "
            "this was expected: " + "; ".join(map(str, checked)), evidence)]
    return [finding(
        "rate_limited", "warning", f"rate limiting seen: {hits:,} limited responses",
        "the target throttled horde, so latency and throughput here measure its limiter, "
        "not the application: exempt the test clients (or give each user its own token/IP), "
        "or lower the request rate. If the limit is what you test, keep 429s out of the "
        "errors with ok_status=(429,), count them (user.count('rate_limited')) and assert "
        "on the count: 'counters.custom:rate_limited == 0' (no limiting) or '> 0' (the "
        "limiter engages)", evidence)]


def _rate_limit_hits(r: dict[str, Any]) -> dict[str, Any]:
    evidence: dict[str, Any] = {}
    errors = r.get("errors") or {}
    if errors.get("http_429"):
        evidence["http_429"] = errors["http_429"]
    refused = ((r.get("error_details") or {}).get("handshake_rejected") or {}).get("429")
    if refused:
        evidence["handshake_rejected_429"] = refused
    for key, n in (r.get("counters") or {}).items():
        if (key.startswith(RATE_LIMIT_COUNTER) or key == OK_429) and n:
            evidence[key] = n
    if OK_429 in evidence and any(k.startswith(RATE_LIMIT_COUNTER) for k in evidence):
        del evidence[OK_429]  # the scenario's own count of the same responses
    return evidence


def _about_rate_limits(expression: str) -> bool:
    return "rate_limit" in expression or "429" in expression


def connection_failures(r: dict[str, Any]) -> Findings:
    """Connection success rate below 1, with the connect-time error categories seen."""
    c = r.get("connections") or {}
    rate = number(c.get("success_rate"))
    if rate is None or rate >= 1:
        return []
    errors = r.get("errors") or {}
    evidence = {k: c.get(k) for k in ("attempted", "succeeded", "failed", "success_rate")}
    evidence |= {k: errors[k] for k in CONNECT_CATEGORIES if errors.get(k)}
    causes = [k for k in CONNECT_CATEGORIES if errors.get(k)]
    detail = "; ".join(f"{k}: {advice_for(k)}" for k in causes) or (
        "see errors for why connections failed")
    severity = "critical" if rate < CONNECT_CRITICAL else "warning"
    return [finding("connection_failures", severity,
                    f"{c.get('failed', 0):,} of {c.get('attempted', 0):,} connections failed "
                    f"({rate:.2%} succeeded)", detail, evidence)]


def connection_drops(r: dict[str, Any]) -> Findings:
    """Connections closed by the peer or lost, and reconnects."""
    c = r.get("connections") or {}
    dropped, reconnected = c.get("dropped") or 0, c.get("reconnected") or 0
    if not (dropped or reconnected):
        return []
    evidence: dict[str, Any] = {"dropped": dropped, "reconnected": reconnected,
                                "peak_open": c.get("peak_open")}
    codes = (r.get("error_details") or {}).get("closed_by_peer")
    if codes:
        evidence["closed_by_peer"] = codes
    return [finding("connection_drops", "warning",
                    f"{dropped:,} connections dropped, {reconnected:,} reconnects",
                    advice_for("closed_by_peer") + "; a drop at a fixed interval points at "
                    "an idle timeout (proxy read timeout, missing heartbeats)", evidence)]


def circuit_breaker(r: dict[str, Any]) -> Findings:
    """The connection circuit breaker stopped new connections."""
    cb = (r.get("load") or {}).get("circuit_breaker") or {}
    if not cb.get("tripped"):
        return []
    return [finding("circuit_breaker", "critical",
                    f"circuit breaker tripped at {cb.get('tripped_at_s')} s "
                    f"(connection failure rate {cb.get('failure_rate')} > {cb.get('limit')})",
                    "horde stopped opening connections because too many failed: the target "
                    "could not accept this load; see the connection findings",
                    dict(cb))]


def generator_saturated(r: dict[str, Any]) -> Findings:
    """horde itself was the bottleneck, so its figures may not be the target's."""
    g = r.get("generator") or {}
    if not g.get("saturated"):
        return []
    evidence = {k: g.get(k) for k in ("reasons", "cpu_percent_mean", "cpu_percent_max",
                                      "loop_lag_p99_ms")}
    return [finding("generator_saturated", "warning",
                    "generator saturated: " + "; ".join(g.get("reasons") or []),
                    "figures may show horde's limit, not the target's: drive fewer users "
                    "from this process, or split the load over more processes or machines",
                    evidence)]


def _first_example(r: dict[str, Any], category: str) -> str | None:
    """The first recorded message of ``category`` (any detail), shortened."""
    for key, text in (r.get("error_examples") or {}).items():
        if key == category or key.startswith(category + ":"):
            return str(text)[:EXAMPLE_CHARS]
    return None


UNFINISHED_SHARE = 0.05  # of operations, still waiting at the end, worth a finding
EMPTY_ITERATION_MS = 0.1  # an iteration this short (p50) awaited nothing real
EMPTY_ITERATION_COUNT = 100


def iterations_failed(r: dict[str, Any]) -> Findings:
    """Behaviour runs that raised: they did not do what the scenario meant, whatever the
    operations inside them measured."""
    it = r.get("iterations") or {}
    failed = it.get("failed") or 0
    if not failed:
        return []
    finished = failed + (it.get("completed") or 0)
    causes = it.get("failures") or {}
    mostly = ", ".join(f"{c} ×{n:,}" for c, n in list(causes.items())[:TOP_CATEGORIES])
    severity = "critical" if failed * 2 >= finished else "warning"
    return [finding(
        "iterations_failed", severity,
        f"{failed:,} of {finished:,} iterations failed ({mostly})",
        "each raised and was cut short; see errors for what was raised and where. After a "
        "failure a user backs off, and one whose connection the server dropped starts over "
        "(docs/reliability.md)",
        {"failed": failed, "completed": it.get("completed"), "failures": causes,
         "by_behaviour": {k: v for k, v in (it.get("by_behaviour") or {}).items()
                          if v.get("failed")}})]


def iterations_empty(r: dict[str, Any]) -> Findings:
    """A behaviour whose runs take under 0.1 ms awaited no I/O: it returns early, misses an
    ``await``, or runs on a connection that is gone — a loop measuring nothing."""
    empty = {k: m for k, m in (r.get("metrics") or {}).items()
             if m.get("metric") == "iteration" and (m.get("count") or 0) >= EMPTY_ITERATION_COUNT
             and (number(m.get("p50_ms")) or 1.0) < EMPTY_ITERATION_MS}
    if not empty:
        return []
    names = ", ".join(m.get("name") or k for k, m in empty.items())
    return [finding(
        "iterations_empty", "warning", f"iterations that do nothing: {names}",
        "these behaviours complete in under 0.1 ms (median), so they wait for no reply: "
        "check for an early return, a missing 'await', or a think time that should be "
        "there; horde yields after each such run so the rest of the run goes on",
        {k: {"count": m.get("count"), "p50_ms": m.get("p50_ms")} for k, m in empty.items()})]


def operations_unfinished(r: dict[str, Any]) -> Findings:
    """Operations the end of the run cut off, when they are none finished or 5 % or more:
    a hanging target shows here, not in errors."""
    ops = r.get("operations") or {}
    unfinished = ops.get("unfinished") or 0
    if not unfinished:
        return []
    by_metric = {k: m["unfinished"] for k, m in (r.get("metrics") or {}).items()
                 if m.get("unfinished")}
    finished = ops.get("finished") or 0
    if finished and unfinished < UNFINISHED_SHARE * (finished + unfinished):
        return []  # the few in flight when the run ended: normal, and shown in the figures
    severity = "critical" if not finished else "warning"
    return [finding(
        "operations_unfinished", severity,
        f"{unfinished:,} operations still waiting at the end"
        + (", and none finished" if not finished else ""),
        "they were cut off by the end of the run (or their user's retirement) while waiting "
        "for the target: a target that accepts and never answers looks like this. "
        "--graceful-stop lets the ones in flight finish",
        {"unfinished": unfinished, "finished": finished, "by_metric": by_metric})]
