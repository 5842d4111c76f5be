"""Metric names: snake_case with a protocol prefix, one constant each.

A *latency* metric is recorded into a histogram per (metric, name); a *counter* counts
events per (metric, name). Which latencies are operations (with outcomes, counted in
requests/s and ``errors.rate``) is :mod:`horde.metrics.operations`' business.
"""

from __future__ import annotations

# latencies (histograms, microseconds)
HTTP_CONNECT = "http_connect"  # TCP (+TLS) connect of a pooled HTTP connection
HTTP_REQ = "http_req"  # request sent → whole response read
HTTP_TTFB = "http_ttfb"  # request sent → first response byte
WS_CONNECT = "ws_connect"  # TCP + WebSocket handshake
WS_REPLY = "ws_reply"  # message sent → matching reply (named correlation)
SIO_CONNECT = "sio_connect"  # Engine.IO open + namespace connect
SIO_ACK = "sio_ack"  # emit → ack
SIO_REPLY = "sio_reply"  # emit → the event that answers it (sio.request)
USER_TIMER = "timer"  # scenario-defined timings (user.timer / user.record)
ITERATION = "iteration"  # one run of a behaviour function
INTENDED = "intended"  # a paced block, from its intended start (coordinated omission)
SESSION = "session"  # an open-model session, @on_start to @on_stop (intended:session: from due)

# counters
WS_MSG_IN = "ws_msg_in"
WS_MSG_OUT = "ws_msg_out"
SIO_EVENT_IN = "sio_event_in"
SIO_ACK_IN = "sio_ack_in"  # acks received: messages too
SIO_EMIT = "sio_emit"
# events nobody waited for, by event name: queued and never taken (left at the end, or
# dropped past the connection's inbox_limit), and the dropped ones alone; the value is the
# most one connection held at once (recorded when it left some unclaimed)
SIO_UNCLAIMED = "sio_unclaimed"
SIO_INBOX_DROPPED = "sio_inbox_dropped"
SIO_INBOX_PEAK = "sio_inbox_peak"
HTTP_STATUS_OK = "http_status_ok"  # a status >= 400 the request listed in ok_status (name: it)
USER_RESTARTS = "user_restarts"  # users restarted after a failed iteration (--on-error restart)

# reconnects (a connection with reconnect=): attempts per drop, drop → reconnected latency
WS_RECONNECT = "ws_reconnect"
WS_RECONNECT_ATTEMPTS = "ws_reconnect_attempts"
SIO_RECONNECT = "sio_reconnect"
SIO_RECONNECT_ATTEMPTS = "sio_reconnect_attempts"
SIO_RECOVERY = "sio_recovery"  # per reconnect the server offered recovery for: recovered|lost

# broadcasts and push checks
BROADCAST = "broadcast"  # broadcast trigger → one recipient's receipt (name = the topic)
ISOLATION_FAILURE = "isolation_failure"  # error: a session saw another session's token

# streams
STREAM_FIRST = "stream_first"  # stream started (message sent) → first chunk
STREAM_GAP = "stream_gap"  # one chunk → the next
STREAM_TOTAL = "stream_total"  # stream started → its last chunk (completed streams only)
STREAM_CHUNKS = "stream_chunks"  # counter: chunks received
STREAM_STALLS = "stream_stalls"  # counter: gaps longer than the stream's stall_after
STREAM_INCOMPLETE = "stream_incomplete"  # counter: streams ended early (timeout, closed)
STREAM_RATE = "stream_rate"  # value per completed stream: chunks/s, first chunk → last
SSE_CONNECT = "sse_connect"  # SSE request sent → response headers (each (re)connect)
SSE_EVENT_IN = "sse_event_in"  # counter: SSE events received
SSE_RECONNECT = "sse_reconnect"  # counter: SSE reconnects after the stream ended

# messages received, in results.json's messages and the live msg/s
MESSAGE_IN_COUNTERS = frozenset({WS_MSG_IN, SIO_EVENT_IN, SIO_ACK_IN, SSE_EVENT_IN})

LATENCY_METRICS = frozenset({
    HTTP_CONNECT, HTTP_REQ, HTTP_TTFB, WS_CONNECT, WS_REPLY, SIO_CONNECT, SIO_ACK, SIO_REPLY,
    USER_TIMER, ITERATION, INTENDED, SESSION, WS_RECONNECT, SIO_RECONNECT, BROADCAST,
    STREAM_FIRST, STREAM_GAP, STREAM_TOTAL, SSE_CONNECT,
})
"""Every latency metric horde records: what a threshold's ``p95(METRIC)`` may name."""
