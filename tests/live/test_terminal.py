"""The terminal monitor: the view folds rows into running figures, the rich panel shows
every field, a log gets plain lines at the interval, and a saturation warning at once."""

from __future__ import annotations

import io

from rich.console import Console

from horde.live.terminal.monitor import TerminalMonitor
from horde.live.terminal.panel import LivePanel, render
from horde.live.terminal.view import LiveView, plain_line

WARNING = "generator saturated: event-loop lag p99 120 ms > 50 ms — figures may show horde's limit"


def row(t: float, **over) -> dict:
    base = {
        "t": t, "users": 8, "users_started": 4, "stage": "ramp-up", "target": 10,
        "connections_open": 16, "in_flight": 3, "peak_in_flight": 7,
        "operations": 250, "messages": 120, "errors": 2,
        "errors_by_category": {"http_503": 2},
        "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0,
        "metrics": {
            "ws_reply:join": {"count": 200, "p50_ms": 1.25, "p95_ms": 4.5, "p99_ms": 9.75},
            "http_req:/login": {"count": 50, "p50_ms": 3.0, "p95_ms": 6.0, "p99_ms": 8.0},
            "iteration:chat": {"count": 40, "p50_ms": 500.0, "p95_ms": 900.0, "p99_ms": 990.0},
            "ws_connect": {"count": 4, "p50_ms": 2.0, "p95_ms": 3.0, "p99_ms": 3.0},
            "sio_ack:x": {"count": 1, "p50_ms": 1.0, "p95_ms": 1.0, "p99_ms": 1.0},
        },
        "cpu_percent": 35.0, "rss_mb": 80.0, "loop_lag_ms": 1.5, "generator_warning": None,
    }
    return base | over


def test_the_view_keeps_running_totals_and_picks_the_main_latencies():
    view = LiveView(total_users=10)
    view.update(row(1.0))
    view.update(row(2.0, users=6, users_started=2, errors_by_category={"timeout": 1, "http_503": 1},
                    peak_in_flight=5))
    assert view.users_started == 6 and view.users_done == 0
    assert view.iterations == 80  # iteration:* counts, both seconds
    assert view.operations == 500
    assert view.peak_in_flight == 7  # the run's peak, not the last second's
    assert view.errors == {"http_503": 3, "timeout": 1} and view.errors_total == 4
    assert view.rate("operations") == 250.0
    main = [label for label, _ in view.latencies()]
    assert main == ["ws_reply:join", "http_req:/login", "ws_connect"]  # by count, no iteration
    view.update(row(2.5, operations=100))  # a last, half-second window
    assert view.rate("operations") == 200.0


def test_the_main_latencies_keep_their_places_from_second_to_second():
    """Two metrics with as many samples each second (a stream's first chunk and total)
    swapped places at random; one busier for a second jumped ahead of the run's main one."""
    view = LiveView(total_users=10)

    def second(t: float, first: int, total: int, ws: int) -> list[str]:
        view.update(row(t, metrics={
            "stream_total:answer": {"count": total, "p50_ms": 9.0, "p95_ms": 9.0, "p99_ms": 9.0},
            "stream_first:answer": {"count": first, "p50_ms": 1.0, "p95_ms": 1.0, "p99_ms": 1.0},
            "ws_connect": {"count": ws, "p50_ms": 2.0, "p95_ms": 2.0, "p99_ms": 2.0}}))
        return [label for label, _ in view.latencies()]

    order = ["stream_first:answer", "stream_total:answer", "ws_connect"]
    assert second(1.0, 40, 40, 2) == order  # a tie: by name
    assert second(2.0, 40, 40, 0) == order[:2]
    assert second(3.0, 10, 10, 30) == order  # 30 connects in one second: still third


def test_the_panel_renders_every_field():
    view = LiveView(total_users=10)
    view.update(row(1.0))
    view.update(row(2.0, target_cpu_percent=55.0, target_rss_mb=120.0, target_connections=17,
                    generator_warning=WARNING))
    console = Console(record=True, force_terminal=True, width=120, file=io.StringIO())
    console.print(render(view))
    text = console.export_text()
    for expected in (
        "elapsed", "2 s", "stage", "ramp-up", "users", "8 / 10", "connections", "16",
        "in flight", "3 (peak 7)", "started / done", "8 / 0 users", "iterations", "80",
        "operations/s", "250", "messages/s", "120",
        "ws_reply:join", "1.2", "4.5", "9.8", "http_req:/login", "p50 ms", "p95 ms", "p99 ms",
        "errors", "4", "http_503 4",
        "horde", "cpu 35%", "loop lag 1.5 ms", "target", "cpu 55%", "rss 120 MB", "conns 17",
        "generator saturated: event-loop lag p99 120 ms", "horde's limit",
    ):
        assert expected in text, expected
    assert "iteration:chat" not in text


def test_a_past_warning_stays_visible_on_the_panel():
    view = LiveView(total_users=10)
    view.update(row(1.0, generator_warning=WARNING))
    view.update(row(2.0))
    console = Console(record=True, force_terminal=True, width=120, file=io.StringIO())
    console.print(render(view))
    assert "generator was saturated at 1 s" in console.export_text()


def test_a_log_gets_a_plain_line_per_interval_and_warnings_at_once():
    out = io.StringIO()  # not a terminal
    sink = TerminalMonitor(10, out, interval_s=2)
    for t in range(1, 7):
        sink.on_row(row(float(t), generator_warning=WARNING if t in (3, 4) else None))
    sink.on_finish({})
    lines = out.getvalue().splitlines()
    progress = [line for line in lines if "WARNING" not in line]
    assert [line.split("]")[0] for line in progress] == ["[     2s", "[     4s", "[     6s"]
    warnings = [line for line in lines if "WARNING" in line]
    assert warnings == [f"[     3s] WARNING: {WARNING}"]  # once, when it started
    assert lines.index(warnings[0]) == 1  # before the 4 s line: not held back to the interval
    line = progress[0]
    for part in ("ramp-up", "users 8/10", "started 8", "conns 16", "in-flight 3 (peak 7)",
                 "op/s 250", "msg/s 120", "ws_reply:join p50/p95/p99 1.2/4.5/9.8 ms",
                 "errors 4 (http_503 4)"):
        assert part in line, part


def test_a_log_lines_rates_cover_the_seconds_since_the_line_before():
    """Pings every few seconds: a line every 5 s showed the last second's op/s, 0 in
    every line of a run that averaged 26.8."""
    out = io.StringIO()
    sink = TerminalMonitor(10, out, interval_s=5)
    for t in range(1, 11):
        burst = t in (3, 8)
        sink.on_row(row(float(t), operations=50 if burst else 0, messages=100 if burst else 0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert "op/s 10 |" in line and "msg/s 20 |" in line, line


def test_a_log_defaults_to_a_line_every_five_seconds():
    out = io.StringIO()
    sink = TerminalMonitor(10, out)
    for t in range(1, 11):
        sink.on_row(row(float(t)))
    assert len(out.getvalue().splitlines()) == 2


def test_a_terminal_gets_the_panel_redrawn_in_place():
    out = io.StringIO()
    sink = TerminalMonitor(10, out, tty=True)
    assert sink.interval_s == 1.0
    sink.on_row(row(1.0))
    sink.on_row(row(2.0, generator_warning=WARNING))
    assert isinstance(sink._panel, LivePanel)
    sink.on_finish({})
    text = out.getvalue()
    assert "operations/s" in text and "ws_reply:join" in text and "horde's limit" in text
    assert sink._panel._live is None  # stopped: the summary prints below it


def test_plain_line_of_a_first_empty_row():
    view = LiveView(total_users=3)
    view.update({"t": 1.0, "users": 0, "operations": 0, "messages": 0})
    assert plain_line(view).startswith("[     1s] users 0/3")
