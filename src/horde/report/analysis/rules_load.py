"""Rules over the load itself: run status, thresholds, errors, rate limiting,
connections, the generator, and latency against load.

Each rule takes the results dict and returns its findings (usually none or one). A rule
fires only on figures results.json holds, and puts those figures in the evidence.
"""

from __future__ import annotations

from typing import Any

from horde.errors import ConfigError
from horde.metrics import names
from horde.metrics.thresholds import parse_threshold
from horde.report.analysis.advice import advice_for
from horde.report.analysis.basis import number
from horde.report.analysis.items import finding

Findings = list[dict[str, Any]]

ERROR_RATE_WARNING = 0.01  # 002's "error rate > 1%: check server logs"
ERROR_RATE_CRITICAL = 0.05
CONNECT_CRITICAL = 0.95
TOP_CATEGORIES = 3
EXAMPLE_CHARS = 200
RATE_LIMIT_COUNTER = "custom:rate_limit"  # user.count("rate_limited"), "rate_limit_hits", ...
SLOW_P95_MS = 1000.0  # 002's "high latency (p95 > 1 s)", used only when no threshold says
RISE_FACTOR = 2.0  # p95 at least doubled ...
MIN_RISE_MS = 5.0  # ... by at least this much, so sub-millisecond noise does not count
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


def no_traffic(r: dict[str, Any]) -> Findings:
    """Nothing measured at all: every other figure would be empty."""
    measured = any((m.get("count") or 0) > 0 for m in (r.get("metrics") or {}).values())
    attempted = (r.get("connections") or {}).get("attempted") or 0
    if measured or attempted or (r.get("requests") or {}).get("total"):
        return []
    return [finding("no_traffic", "warning", "nothing was measured",
                    "no request, message, connection or timer was recorded: check that the "
                    "scenario's behaviours run and reach the target",
                    {"requests": (r.get("requests") or {}).get("total", 0),
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
        title = f"threshold failed: {expression} (observed {observed}"
        title += f", limit {evidence['limit']})" if "limit" in evidence else ")"
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
    """Errors ÷ operations (requests + connection attempts, as the ``errors.rate``
    threshold figure), with the top categories and what each usually means."""
    total = r.get("errors_total") or 0
    if not total:
        return []
    operations = ((r.get("requests") or {}).get("total") or 0) + (
        (r.get("connections") or {}).get("attempted") or 0)
    rate = round(total / operations, 6) if operations else None
    errors = r.get("errors") or {}
    top = dict(sorted(errors.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_CATEGORIES])
    details = {c: r["error_details"][c] for c in top if c in (r.get("error_details") or {})}
    evidence = {"errors_total": total, "operations": operations, "error_rate": rate,
                "top": top, "details": details}
    example = _first_example(r, next(iter(top), ""))
    if example:
        evidence["example"] = example
    if rate is None or rate >= ERROR_RATE_CRITICAL:
        severity = "critical"
    else:
        severity = "warning" if rate >= ERROR_RATE_WARNING else "info"
    share = "no requests or connections" if rate is None else (
        f"{rate:.2%} of {operations:,} operations")
    mostly = ", ".join(f"{c} ×{n:,}" for c, n in top.items())
    title = f"{total:,} errors ({share}), mostly {mostly}"
    detail = "; ".join(f"{c}: {advice_for(c)}" for c in top)
    return [finding("error_rate", severity, title, detail, evidence)]


def rate_limited(r: dict[str, Any]) -> Findings:
    """HTTP 429s, upgrades refused with 429, or a scenario counter named rate_limit*."""
    errors = r.get("errors") or {}
    evidence: dict[str, Any] = {}
    if errors.get("http_429"):
        evidence["http_429"] = errors["http_429"]
    refused = ((r.get("error_details") or {}).get("handshake_rejected") or {}).get("429")
    if refused:
        evidence["handshake_rejected_429"] = refused
    for key, n in (r.get("counters") or {}).items():
        if key.startswith(RATE_LIMIT_COUNTER) and n:
            evidence[key] = n
    if not evidence:
        return []
    evidence["requests"] = (r.get("requests") or {}).get("total", 0)
    hits = sum(n for k, n in evidence.items() if k != "requests")
    return [finding(
        "rate_limited", "warning", f"rate limiting seen: {hits:,} limited responses",
        "the target throttled horde, so latency and throughput here measure its limiter, "
        "not the application: exempt the test clients (or give each user its own token/IP), "
        "or lower the request rate; if the limit is the point, assert it with a threshold "
        "such as 'errors.http_429 > 0'", evidence)]


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


def latency_high(r: dict[str, Any]) -> Findings:
    """Without a latency threshold there is no target to miss; still flag a p95 over
    1 s on request→reply metrics, and say the threshold to set."""
    if any(_is_latency(t.get("expression", "")) for t in r.get("thresholds") or []):
        return []
    slow = {k: m["p95_ms"] for k, m in (r.get("metrics") or {}).items()
            if m.get("metric") in names.REQUEST_METRICS
            and (number(m.get("p95_ms")) or 0) > SLOW_P95_MS}
    if not slow:
        return []
    worst = max(slow, key=slow.__getitem__)
    return [finding("latency_high", "warning",
                    f"p95 over {SLOW_P95_MS:.0f} ms with no latency threshold set: "
                    f"{worst} {slow[worst]:,.1f} ms",
                    "decide the target and set it, e.g. --threshold 'p95(latency) < 500ms'; "
                    "then see the per-stage table for where latency grew",
                    {"p95_ms": slow, "assumed_limit_ms": SLOW_P95_MS})]


def latency_rising(r: dict[str, Any]) -> Findings:
    """p95 grew with users across the stages: the target is approaching capacity."""
    stages = [s for s in (r.get("load") or {}).get("stages") or []
              if (s.get("requests") or 0) > 0 and number(s.get("p95_ms"))
              and number(s.get("peak_users")) is not None]
    if len(stages) < 2:
        return []
    first, last = stages[0], stages[-1]
    if last["peak_users"] <= first["peak_users"]:
        return []
    if last["p95_ms"] < first["p95_ms"] * RISE_FACTOR or \
            last["p95_ms"] - first["p95_ms"] < MIN_RISE_MS:
        return []
    knee = next(s for s in stages if s["p95_ms"] >= first["p95_ms"] * RISE_FACTOR)
    table = [{k: s.get(k) for k in ("stage", "peak_users", "rate_per_s", "p95_ms", "errors")}
             for s in stages]
    return [finding(
        "latency_rising", "warning",
        f"latency rises with load: p95 {first['p95_ms']:,} ms at {first['peak_users']:,} "
        f"users → {last['p95_ms']:,} ms at {last['peak_users']:,} users",
        f"approaching capacity: p95 first doubled in '{knee['stage']}' "
        f"({knee['peak_users']:,} users); keep expected load below that, or look for the "
        "bottleneck (CPU, database pool, locks) at that load",
        {"stages": table, "rise_factor": round(last["p95_ms"] / first["p95_ms"], 2)})]


def _is_latency(expression: str) -> bool:
    try:
        return parse_threshold(expression).aggregate not in (None, "count", "rate")
    except ConfigError:
        return False


def _first_example(r: dict[str, Any], category: str) -> str | None:
    """The first recorded message of ``category`` (any detail), shortened."""
    for key, text in (r.get("error_examples") or {}).items():
        if key == category or key.startswith(category + ":"):
            return str(text)[:EXAMPLE_CHARS]
    return None
