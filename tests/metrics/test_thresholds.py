"""Threshold expressions: parsed as tables, evaluated against real histograms."""

import pytest

from horde.errors import ConfigError
from horde.metrics import names
from horde.metrics.histogram import new_histogram
from horde.metrics.thresholds import evaluate, parse_threshold


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("p95(http_req{name=login}) < 100ms", ("p95", "http_req", (("name", "login"),), "<", 100.0)),
        ("p99(latency) <= 1.5s", ("p99", "latency", (), "<=", 1500.0)),
        ("mean(ws_reply{name=echo})>=2", ("mean", "ws_reply", (("name", "echo"),), ">=", 2.0)),
        ("count(sio_ack) == 10", ("count", "sio_ack", (), "==", 10.0)),
        ("rate(latency) > 100", ("rate", "latency", (), ">", 100.0)),
    ],
)
def test_aggregate_expressions(text, expected):
    t = parse_threshold(text)
    assert (t.aggregate, t.metric, t.tags, t.op, t.limit) == expected


@pytest.mark.parametrize(
    ("text", "path", "limit"),
    [
        ("connections.success_rate > 0.95", "connections.success_rate", 0.95),
        ("errors.rate < 1%", "errors.rate", 0.01),
        ("errors.http_503 == 0", "errors.http_503", 0.0),
        ("errors_total == 0", "errors_total", 0.0),
        # a stream's values are named after it, and an unnamed stream after its URL path
        ("values.stream_rate:/v1/chat/completions.p50 > 40",
         "values.stream_rate:/v1/chat/completions.p50", 40.0),
    ],
)
def test_path_expressions(text, path, limit):
    t = parse_threshold(text)
    assert (t.path, t.limit) == (path, limit)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("p95(http_req) 100ms", "expected LEFT OP VALUE"),
        ("p42(http_req) < 100ms", "unknown aggregate 'p42'"),
        ("p95(http_req) < fast", "'fast' is not a number"),
        ("p95(http_req{region=eu}) < 1", "only {name=...} tags"),
        ("count(http_req) < 5s", "count takes no time unit"),
        ("latency.p95 < 5", "unknown figure 'latency.p95'"),
        ("p95 http_req < 5", "neither AGGREGATE"),
    ],
)
def test_mistakes_are_named(text, message):
    with pytest.raises(ConfigError) as info:
        parse_threshold(text)
    assert message in str(info.value) and repr(text) in str(info.value)


def results(**overrides):
    base = {
        "duration_s": 10.0,
        "operations": {"finished": 110, "failed": 11, "error_rate": 0.1},
        "connections": {"attempted": 10, "success_rate": 1.0},
        "errors": {"http_503": 11},
        "errors_total": 11,
        "counters": {"checks_passed:ok": 9},
    }
    return base | overrides


def test_evaluation_merges_selected_histograms_and_reads_paths():
    http, ws = new_histogram(), new_histogram()
    for _ in range(90):
        http.record_value(10_000)
    for _ in range(10):
        ws.record_value(100_000)
    latencies = {(names.HTTP_REQ, "a"): http, (names.WS_REPLY, "a"): ws}
    checks = [
        parse_threshold("p50(latency{name=a}) < 11ms"),
        parse_threshold("p99(latency) < 50ms"),  # the WebSocket tail is merged in: fails
        parse_threshold("count(http_req) == 90"),
        parse_threshold("rate(latency) >= 10"),
        parse_threshold("errors.rate < 0.05"),  # 11 failed / 110 finished = 0.1: fails
        parse_threshold("errors.http_429 == 0"),  # never happened: 0
        parse_threshold("checks.rate > 0.5"),
        parse_threshold("p95(sio_ack) < 1s"),  # no samples: cannot pass
    ]
    verdicts = evaluate(tuple(checks), results(), latencies)
    assert [v["passed"] for v in verdicts] == [True, False, True, True, False, True, True, False]
    assert verdicts[1]["observed"] == pytest.approx(100.0, abs=0.1)
    assert verdicts[4]["observed"] == 0.1
    assert verdicts[7]["observed"] is None


def test_a_name_nothing_was_recorded_under_lists_the_names_that_were():
    """A typo in a threshold's name shows only after the load: the reason says what the
    run did record under that kind, so the typo is plain."""
    ttft, login = new_histogram(), new_histogram()
    ttft.record_value(120_000)
    login.record_value(20_000)
    latencies = {(names.USER_TIMER, "ttft"): ttft, (names.HTTP_REQ, "join"): new_histogram(),
                 (names.HTTP_REQ, "login"): login}
    checks = (parse_threshold("p95(timer{name=ttf}) < 500ms"),
              parse_threshold("values.tokens_per_sec.p50 > 10"),
              parse_threshold("p95(latency{name=lgin}) < 1s"))  # latency: every exchange, timers too
    verdicts = evaluate(checks, results(values={"tokens_per_s": {"p50": 16.6}}), latencies)
    assert [v["reason"] for v in verdicts] == [
        "no samples for timer{name=ttf} (recorded: ttft)",
        "no value recorded as 'tokens_per_sec' (recorded: tokens_per_s)",
        "no samples for latency{name=lgin} (recorded: login, ttft)"]  # timers are in it


def test_a_topic_or_stream_nothing_was_recorded_under_lists_those_that_were():
    """``broadcasts.room2.reach`` for topic ``room/2`` read only "is not in these results"."""
    checks = (parse_threshold("broadcasts.room2.reach >= 0.99"),
              parse_threshold("broadcasts.room/1.reach >= 0.99"),
              parse_threshold("streams.answr.stalls < 1"))
    found = results(broadcasts={"room/1": {"reach": 1.0}, "room/2": {"reach": 0.5}},
                    streams={"answer": {"stalls": 0}})
    verdicts = evaluate(checks, found, {})
    assert [(v["passed"], v["reason"]) for v in verdicts] == [
        (False, "nothing recorded as broadcasts.room2 (recorded: room/1, room/2)"),
        (True, "observed 1"),
        (False, "nothing recorded as streams.answr (recorded: answer)")]
