"""What an error category usually means and what to look at next.

Kept apart from the rules so docs/analysis.md and the findings say the same thing; the
categories are those of docs/results.md ("Error categories").
"""

from __future__ import annotations

ADVICE: dict[str, str] = {
    "http_429": "the target is rate limiting horde (see the rate_limited finding)",
    "http_500": "the server failed while handling requests: read its logs at the time of "
                "the errors; the first response is in error_examples",
    "http_502": "a proxy or gateway in front of the app got no valid answer from it: the "
                "app is crashing, restarting or too slow behind the proxy",
    "http_503": "the target is over capacity or a dependency is unavailable (queue full, "
                "pool exhausted, instance shedding load): find the load where it began in "
                "the per-second errors and scale or fix the bottleneck there",
    "http_504": "a proxy or gateway timed out waiting for the app: the app is too slow "
                "under this load; compare with the latency percentiles",
    "http_401": "requests were not authenticated: the scenario's tokens are missing or "
                "expired (a scenario problem, not a capacity one)",
    "http_403": "requests were forbidden: check the scenario's credentials and any WAF or "
                "bot protection in front of the target",
    "http_404": "requests hit paths that do not exist: check the scenario's URLs",
    "timeout": "the target answered too slowly or not at all within the timeout: it is "
               "overloaded or stalled; raise --timeout only if that slowness is acceptable",
    "connection_refused": "nothing accepted the connection: the target is down or "
                          "restarting, or its accept backlog overflowed (check listen "
                          "backlog and file-descriptor limits)",
    "dns_failure": "the target's host name did not resolve: check the URL and the "
                   "generator's DNS",
    "tls_error": "TLS failed: check the certificate (name, chain, expiry) and TLS versions",
    "handshake_rejected": "the WebSocket/Socket.IO upgrade was refused: check the path, "
                          "auth, the proxy's upgrade headers, or a connection limit "
                          "(the HTTP status is in error_details)",
    "closed_by_peer": "the server closed connections still in use: idle or proxy "
                      "timeouts, restarts, or load shedding (close codes in error_details)",
    "protocol_error": "malformed frames, packets or responses: a server bug, or a proxy "
                      "altering the traffic",
    "app_error": "the application rejected the work (Socket.IO connect_error or an error "
                 "event): see error_examples for its message",
    "check_failed": "the target answered, but not as the scenario expected: see the check "
                    "names in error_details",
    "scenario_exception": "the scenario itself raised, which is not the target's fault: "
                          "fix the traceback in error_examples",
    "isolation_failure": "a session saw another session's data (see the isolation finding)",
}


def advice_for(category: str) -> str:
    """The advice for ``category``, falling back on its HTTP status class."""
    if category in ADVICE:
        return ADVICE[category]
    if category.startswith("http_5"):
        return "the server failed to handle requests: read its logs at the time of the errors"
    if category.startswith("http_4"):
        return "the target rejected the requests as invalid: check what the scenario sends"
    return "see error_examples for the first occurrence"
