"""What issue 11 saw go wrong, each against real servers on 127.0.0.1 and the real CLI:
failures counted nowhere, passes by accident, hangs, tracebacks instead of results."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.support import ROOT, free_port, read_results
from tests.transports.fault_servers import EchoProcess, FaultProcess

pytestmark = pytest.mark.timeout(120)


def horde(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "horde", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def run(scenario: Path, target: str, out: Path, *flags: str) -> tuple[int, dict[str, Any], str]:
    proc = horde("run", str(scenario), "--target", target, "--out", str(out), "--quiet",
                 "--no-history", *flags)
    return proc.returncode, read_results(out), proc.stdout + proc.stderr


# -- 1: a connection dropped mid-run --------------------------------------------------------

DROPPED = """
import horde

@horde.on_start
async def start(user):
    user.state.ws = await user.websocket("/ws", codec=horde.JSON)

@horde.behaviour(weight=2)
async def send(user):
    await user.state.ws.send({"n": user.iteration})

@horde.behaviour
async def ask(user):
    await user.state.ws.request({"n": user.iteration}, name="echo")
    await user.think(0.05)
"""


def test_a_dropped_connection_fails_iterations_counts_them_and_does_not_spin(
        write_scenario, tmp_path: Path) -> None:
    users = 4
    server = EchoProcess(free_port()).start()
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", str(write_scenario(DROPPED)), "--target",
         server.url, "-u", str(users), "-d", "6s", "--out", str(out), "--no-history",
         "--monitor-interval", "1s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # the load is on
            if line.startswith("["):
                break
        server.kill()
        time.sleep(1.0)
        server.start()
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        server.kill()
    assert "Traceback" not in stderr, stderr
    results = read_results(out)
    iterations = results["iterations"]
    # iterations that raised PeerClosedError failed (the first use of the dead socket fails
    # by the drop itself, counted once: one closed_by_peer per user)
    assert iterations["failed"] >= users
    assert iterations["failures"]["closed_by_peer"] >= users
    assert results["errors"]["closed_by_peer"] == users == results["connections"]["dropped"]
    # the rows after the drop show the errors (the old build said 0 per second)
    assert sum(row["errors"] for row in results["timeseries"]) == results["errors_total"]
    # users started over on the restarted server instead of spinning on the dead socket
    assert results["counters"]["user_restarts"] >= users
    assert results["connections"]["succeeded"] >= 2 * users
    assert iterations["failed"] < 200  # a spin at 0.06 ms per iteration made tens of thousands
    assert results["passed"] is False and proc.returncode == 1


# -- 2: a server that accepts TCP and never answers -----------------------------------------

def test_accept_and_hang_is_no_pass_and_says_what_never_finished(write_scenario,
                                                                 tmp_path: Path) -> None:
    scenario = write_scenario("""
        import horde

        @horde.on_start
        async def start(user):
            user.state.ws = await user.websocket("/ws")

        @horde.behaviour
        async def ask(user):
            await user.state.ws.request("x", name="x")
        """)
    with FaultProcess("silent") as silent:
        code, results, output = run(scenario, silent.url, tmp_path, "-u", "3", "-d", "3s",
                                    "--threshold", "errors.rate < 1%")
    assert code == 1 and results["passed"] is False
    (threshold,) = results["thresholds"]
    assert threshold["observed"] is None and not threshold["passed"]
    assert threshold["reason"] == "no operation finished, so there is no error rate"
    assert results["connections"]["attempted"] == 3 == results["connections"]["unfinished"]
    assert results["operations"]["unfinished"] == 3
    assert results["metrics"]["ws_connect"]["unfinished"] == 3
    assert "connections: 0/3 ok (-), failed 0, unfinished 3" in output
    assert "3 unfinished at the end" in output


# -- 3: no thresholds against a closed port --------------------------------------------------

def test_no_thresholds_and_a_closed_port_fails_everywhere(write_scenario,
                                                          tmp_path: Path) -> None:
    scenario = write_scenario("""
        import horde

        @horde.behaviour
        async def get(user):
            await user.http.get("/x")
        """)
    history = tmp_path / "runs.sqlite"
    proc = horde("run", str(scenario), "--target", f"http://127.0.0.1:{free_port()}", "-u",
                 "2", "-d", "2s", "--out", str(tmp_path / "out"), "--quiet", "--history",
                 str(history), "--format", "junit")
    results = read_results(tmp_path / "out")
    assert proc.returncode == 1 and results["passed"] is False
    assert results["verdict"]["reason"].startswith("2 errors (connection_refused") or \
        "errors (connection_refused" in results["verdict"]["reason"]
    assert "FAILED" in proc.stdout and "no thresholds set" in proc.stdout
    runs = horde("runs", "--history", str(history))
    assert runs.returncode == 0 and " no " in runs.stdout
    junit = (tmp_path / "out" / "junit.xml").read_text()
    assert "<failure" in junit


# -- 4: interrupted runs -------------------------------------------------------------------

@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_never_reads_green(write_scenario, tmp_path: Path,
                                              echo_server: str, sig: signal.Signals) -> None:
    scenario = write_scenario("""
        import horde

        @horde.behaviour
        async def get(user):
            await user.http.get("/echo")
            await user.think(0.1)
        """)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", str(scenario), "--target", echo_server, "-u",
         "2", "-d", "20s", "--out", str(out), "--no-history", "--monitor-interval", "1s",
         "--threshold", "p95(http_req) < 10s"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith("["):
            break
    proc.send_signal(sig)
    stdout, _ = proc.communicate(timeout=30)
    results = read_results(out)
    assert proc.returncode == 4
    assert results["status"] == "interrupted" and results["passed"] is False
    assert results["thresholds"][0]["passed"]  # the threshold held; the run still did not
    assert "INTERRUPTED" in stdout and "PASSED" not in stdout


def test_a_signal_while_starting_up_still_ends_clearly(write_scenario, tmp_path: Path,
                                                       echo_server: str) -> None:
    """13: SIGTERM before the run's own handler was installed killed horde silently."""
    scenario = write_scenario("""
        import horde

        @horde.behaviour
        async def get(user):
            await user.http.get("/echo")
        """)
    out = tmp_path / "out"
    for delay in (0.05, 0.3, 0.6):  # during interpreter start, imports, scenario load
        proc = subprocess.Popen(
            [sys.executable, "-m", "horde", "run", str(scenario), "--target", echo_server,
             "-d", "20s", "--out", str(out), "--quiet", "--no-history"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode != 0, delay
        if (out / "results.json").exists():
            assert read_results(out)["status"] == "interrupted"
            (out / "results.json").unlink()
        else:  # killed before horde could catch it: the shell's code, nothing half-written
            assert proc.returncode == -signal.SIGTERM, (delay, stderr)


# -- 5: an unknown metric in a threshold ------------------------------------------------------

def test_a_threshold_on_an_unknown_metric_is_refused_before_load(write_scenario,
                                                                 echo_server: str) -> None:
    scenario = write_scenario("""
        import horde

        @horde.behaviour
        async def get(user):
            await user.http.get("/echo")
        """)
    started = time.monotonic()
    proc = horde("run", str(scenario), "--target", echo_server, "-d", "30s", "--no-history",
                 "--threshold", "p95(latncy) < 200ms")
    assert proc.returncode == 2 and time.monotonic() - started < 20
    assert proc.stderr.count("\n") == 1
    assert "unknown metric 'latncy'" in proc.stderr and "http_req" in proc.stderr


def test_a_named_metric_without_samples_fails_with_a_reason(write_scenario, tmp_path: Path,
                                                            echo_server: str) -> None:
    scenario = write_scenario("""
        import horde

        @horde.behaviour
        async def get(user):
            await user.http.get("/echo", name="echo")
            await user.think(0.1)
        """)
    code, results, output = run(scenario, echo_server, tmp_path, "-d", "1s", "--threshold",
                                "p95(http_req{name=login}) < 200ms")
    assert code == 1
    # a typo in a name is seen only after the load: the names recorded are listed
    assert results["thresholds"][0]["reason"] == (
        "no samples for http_req{name=login} (recorded: echo)")
    assert "no samples for http_req{name=login}" in output and "None" not in output


# -- 6, 15, 16: streams, timers and Socket.IO replies are operations ---------------------------

OPERATIONS = """
import horde

@horde.on_start
async def start(user):
    user.state.ws = await user.websocket("/ws", codec=horde.JSON)
    user.state.sio = await user.socketio()

@horde.behaviour
async def everything(user):
    result = await user.state.ws.stream(
        {"stream": 5, "interval_ms": 5, "id": user.iteration}, name="answer",
        match=lambda m: m.get("id") == user.iteration, end=lambda m: m.get("done"))
    user.check(len(result.chunks) == 4, "four chunks, the closing message apart")
    with user.timer("block"):
        await user.http.get("/delay/5", name="delay")
    chunk = await user.state.sio.request(
        "stream", {"stream": 1, "id": user.id}, reply="chunk", name="sio echo",
        match=lambda c: c.get("id") == user.id)
    user.check(chunk["done"], "the reply event")
    user.record("server side", 3.5)
"""


def test_every_timed_exchange_is_an_operation(write_scenario, tmp_path: Path,
                                              echo_server: str) -> None:
    code, results, output = run(write_scenario(OPERATIONS), echo_server, tmp_path,
                                "-u", "2", "--iterations", "3", "--timeout", "5s")
    assert code == 0, output
    m = results["metrics"]
    for label in ("stream_total:answer", "timer:block", "http_req:delay",
                  "sio_reply:sio echo", "timer:server side"):
        assert m[label]["count"] == m[label]["ok"] == 6, label
    kinds = results["operations"]["by_kind"]
    assert kinds["stream"]["finished"] == 6 and kinds["sio_request"]["finished"] == 6
    assert kinds["timer"]["finished"] == 12
    # a WebSocket and a Socket.IO connect per user; an HTTP connect is part of its request
    assert kinds["connect"]["finished"] == 4 and "ok" not in m["http_connect"]
    finished = sum(k["finished"] for k in kinds.values())
    assert results["operations"]["finished"] == finished
    assert sum(row["operations"] for row in results["timeseries"]) == finished
    assert results["counters"]["stream_chunks:answer"] == 24  # the end message is no chunk
    assert results["errors"] == {}
    assert f"operations: {finished:,} finished" in output


def test_a_stream_whose_answers_all_time_out_has_an_error_rate_of_one(
        write_scenario, tmp_path: Path) -> None:
    scenario = write_scenario("""
        import horde

        @horde.on_start
        async def start(user):
            user.state.ws = await user.websocket("/ws", codec=horde.JSON)

        @horde.behaviour
        async def ask(user):
            await user.state.ws.stream({"q": 1}, name="answer", until=lambda m: True,
                                       timeout=0.3)
        """)
    with FaultProcess("deaf") as deaf:
        code, results, _ = run(scenario, deaf.url, tmp_path, "-u", "3",
                                    "--iterations", "3", "--threshold", "errors.rate < 1%")
    ops = results["operations"]
    answers = results["metrics"]["stream_total:answer"]
    assert answers["failed"] == 9 and answers["failures"] == {"timeout": 9}
    # 9 of 12: the 9 answers failed, the 3 connects did not; never above 100 %
    assert ops["failed"] == 9 and ops["finished"] == 12 and ops["error_rate"] == 0.75
    assert code == 1 and results["thresholds"][0]["reason"] == "observed 75.00 %"
    error_rate = [f for f in results["analysis"]["findings"] if f["rule"] == "error_rate"]
    assert "9 of 12 operations failed, 75.00%" in error_rate[0]["title"]


def test_an_http_error_to_a_stream_fails_it_and_a_refused_one_never_connected(
        write_scenario, tmp_path: Path, echo_server: str) -> None:
    scenario = write_scenario(f"""
        import horde

        @horde.behaviour
        async def streams(user):
            missing = await user.http.stream("GET", "/nothing/here", name="missing")
            user.check(missing.reason == "failed" and missing.error == "http_404", "404")
            user.check(missing.response.status == 404 and not missing.chunks, "no chunks")
            refused = await user.http.stream("GET", "http://127.0.0.1:{free_port()}/x",
                                             name="refused")
            user.check(refused.reason == "failed", "refused: failed")
            user.check(refused.error == "connection_refused", "refused: why")
            fine = await user.http.stream("GET", "/stream/3/5", name="fine")
            user.check(fine.completed and len(fine.chunks) >= 1, "fine")
        """)
    code, results, _ = run(scenario, echo_server, tmp_path, "-u", "1", "--iterations", "2")
    assert "check_failed" not in results["errors"], results["error_details"]
    m = results["metrics"]
    assert "stream_first:missing" not in m and m["stream_total:missing"]["count"] == 0
    assert m["stream_total:missing"]["failures"] == {"http_404": 2}
    assert m["stream_total:refused"]["failures"] == {"connection_refused": 2}
    assert m["stream_total:fine"]["ok"] == 2
    assert results["streams"]["missing"]["completed"] == 0
    assert code == 1


# -- 7: hung and wrong hooks ----------------------------------------------------------------

def test_a_hung_setup_is_bounded_by_the_timeout(write_scenario, tmp_path: Path,
                                                echo_server: str) -> None:
    scenario = write_scenario("""
        import asyncio
        import horde

        @horde.setup
        async def login(ctx):
            await asyncio.sleep(3600)

        @horde.behaviour
        async def get(user):
            await user.http.get("/echo")
        """)
    started = time.monotonic()
    code, results, _ = run(scenario, echo_server, tmp_path, "--timeout", "1s", "-d",
                                "30s")
    assert time.monotonic() - started < 20
    assert code == 1 and results["status"] == "setup_failed"
    assert results["error_details"]["timeout"] == {"setup": 1}


def test_a_hung_teardown_ends_on_the_first_signal_and_results_are_written(
        write_scenario, tmp_path: Path, echo_server: str) -> None:
    scenario = write_scenario("""
        import asyncio
        import sys
        import horde

        @horde.teardown(timeout=600)
        async def clean(ctx, shared):
            print("teardown started", file=sys.stderr, flush=True)
            await asyncio.sleep(3600)

        @horde.behaviour
        async def get(user):
            await user.http.get("/echo")
            await user.think(0.1)
        """)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", str(scenario), "--target", echo_server,
         "-d", "1s", "--out", str(out), "--quiet", "--no-history"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "teardown started" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    results = read_results(out)
    assert results["status"] == "completed" and proc.returncode == 0, stderr
    assert "timeout" not in results["errors"]  # interrupted is nobody's error


def test_a_hook_with_the_wrong_signature_is_refused_at_load(write_scenario,
                                                            echo_server: str) -> None:
    scenario = write_scenario("""
        import horde

        @horde.behaviour
        async def get(user):
            await user.http.get("/echo")

        @horde.teardown
        async def td(ctx):
            pass
        """)
    proc = horde("run", str(scenario), "--target", echo_server, "--no-history")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert f"{scenario}:8: @teardown td(ctx) must accept (ctx, shared)" in proc.stderr


# -- 8: output paths ------------------------------------------------------------------------

def test_out_must_be_a_writable_folder_before_any_load(write_scenario, tmp_path: Path,
                                                        echo_server: str) -> None:
    scenario = write_scenario("""
        import horde

        @horde.behaviour
        async def get(user):
            await user.http.get("/echo")
        """)
    afile = tmp_path / "afile"
    afile.write_text("x")
    proc = horde("run", str(scenario), "--target", echo_server, "-d", "30s", "--no-history",
                 "--out", str(afile))
    assert proc.returncode == 2 and proc.stderr.strip().endswith("is a file, not a folder")
    report = horde("report", "latest", "--out", str(afile), "--history",
                   str(tmp_path / "none.sqlite"))
    assert report.returncode == 2 and report.stderr.count("\n") == 1


# -- 10: sessions are timed on the operations' clock ----------------------------------------

def test_open_model_sessions_are_timed_in_microseconds(write_scenario, tmp_path: Path,
                                                       echo_server: str) -> None:
    scenario = write_scenario("""
        import horde

        @horde.behaviour
        async def once(user):
            await user.http.get("/delay/3", name="delay")
        """)
    _, results, _ = run(scenario, echo_server, tmp_path, "--shape",
                           "arrival-rate(rate=20, duration=2s)")
    sessions = results["metrics"]["session"]
    assert sessions["count"] >= 20
    # the loop clock ticks in whole ms under uvloop: every session came out a multiple of 1
    values = [sessions[k] for k in ("min_ms", "p50_ms", "p90_ms", "max_ms")]
    assert any(round(v, 3) != round(v) for v in values), values
    assert sessions["min_ms"] >= results["metrics"]["http_req:delay"]["min_ms"]


# -- 17, 12: what the console shows -----------------------------------------------------------

def test_the_console_names_the_exception_and_where_and_shows_no_none(
        write_scenario, tmp_path: Path, echo_server: str) -> None:
    scenario = write_scenario("""
        import horde

        @horde.behaviour
        async def add(user):
            await user.http.get("/echo")
            return 1 + "one"
        """)
    code, _, output = run(scenario, echo_server, tmp_path, "-u", "1",
                                "--iterations", "2")
    flat = " ".join(output.replace("│", " ").split())  # the table may wrap the cell
    assert "TypeError: unsupported operand type(s) for +: 'int' and 'str' (scenario.py:7) ×2" \
        in flat, output
    for word in ("None", "nan", "<horde."):
        assert word not in output, word
    assert code == 1


def test_graceful_stop_in_a_config_file_is_honoured(write_scenario, tmp_path: Path,
                                                    echo_server: str) -> None:
    """9: the key was read and then silently dropped."""
    scenario = write_scenario("""
        import horde

        @horde.behaviour
        async def slow(user):
            await user.http.get("/delay/1500", name="slow")
        """)
    config = tmp_path / "run.yaml"
    config.write_text("graceful_stop: 5s\nusers: 2\nduration: 1s\n")
    _, results, output = run(scenario, echo_server, tmp_path / "graceful", "--config",
                                str(config))
    assert results["metrics"]["http_req:slow"]["ok"] == 2, output
    assert results["operations"]["unfinished"] == 0
    cut = run(scenario, echo_server, tmp_path / "cut", "-u", "2", "-d", "1s")[1]
    assert cut["operations"]["unfinished"] == 2  # without it: cut off at the deadline


def test_results_json_is_valid_json_without_nan(tmp_path: Path, echo_server: str,
                                                write_scenario) -> None:
    scenario = write_scenario("""
        import horde

        @horde.behaviour
        async def get(user):
            await user.http.get("/echo")
        """)
    run(scenario, echo_server, tmp_path, "-d", "1s")
    text = (tmp_path / "results.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in results.json"))
