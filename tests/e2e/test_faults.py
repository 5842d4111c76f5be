"""Runs against servers that fail on purpose (issue 7): each a real server process and a
real ``horde run`` process; each ends on time, writes results.json and counts every fault
in its own category."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.support import ROOT, free_port, read_results, wait_for_connections
from tests.transports.fault_servers import EchoProcess, FaultProcess

pytestmark = pytest.mark.timeout(90)


def horde_run(scenario: Path, target: str, out: Path, *flags: str) -> tuple[int, float]:
    """``horde run`` in a child process: (exit code, wall seconds)."""
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "horde", "run", str(scenario), "--target", target, "--out",
         str(out), "--quiet", "--no-history", *flags],
        capture_output=True, text=True, timeout=80, cwd=ROOT)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, time.monotonic() - started


def errors(results: dict[str, Any]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    return results["errors"], results.get("error_details", {})


def test_server_killed_and_restarted_users_reconnect(write_scenario, tmp_path: Path) -> None:
    users = 8
    server = EchoProcess(free_port()).start()
    scenario = write_scenario(
        """
        import horde

        RECONNECT = horde.Reconnect(max_attempts=20, initial=0.3, max_delay=1, jitter=0.2)

        async def rejoin(ws):
            await ws.send({"join": "room"})
            assert await ws.receive(timeout=5) == {"join": "room"}

        @horde.on_start
        async def start(user):
            user.state.ws = await user.websocket(
                "/ws", codec=horde.JSON, reconnect=RECONNECT, on_reconnect=rejoin)

        @horde.behaviour
        async def echo(user):
            await user.state.ws.request({"n": user.iteration}, name="echo")
            await user.think(0.05)
        """
    )
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", str(scenario), "--target", server.url,
         "-u", str(users), "-d", "7s", "--out", str(out), "--quiet", "--no-history"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        wait_for_connections(proc.pid, server.port, users)  # every user is connected
        server.kill()
        time.sleep(1.0)
        server.start()
        _, stderr = proc.communicate(timeout=40)
    finally:
        proc.kill()
        server.kill()
    assert "Traceback" not in stderr, stderr
    results = read_results(out)
    conns = results["connections"]
    assert (conns["dropped"], conns["reconnected"]) == (users, users)
    assert conns["succeeded"] == 2 * users
    found, details = errors(results)
    assert found["closed_by_peer"] == users and details["closed_by_peer"] == {"1006": users}
    assert set(found) <= {"closed_by_peer", "connection_refused"}  # refused: while it was down
    assert conns["failed"] == found.get("connection_refused", 0)
    assert results["metrics"]["ws_reconnect"]["count"] == users
    assert results["counters"]["ws_reconnect_attempts"] >= users
    assert results["operations"]["finished"] > 0 and results["duration_s"] < 9


def test_a_server_that_never_answers_times_out_each_operation(write_scenario,
                                                              tmp_path: Path) -> None:
    with FaultProcess("silent") as silent:
        scenario = write_scenario(
            """
            import horde

            @horde.behaviour
            async def hang(user):
                kind = user.id % 3
                if kind == 0:
                    await user.websocket("/ws")
                elif kind == 1:
                    await user.socketio()
                else:
                    await user.http.get("/x", name="http_get")
            """
        )
        code, took = horde_run(scenario, silent.url, tmp_path, "-u", "3", "-d", "3s",
                               "--timeout", "1s")
    results = read_results(tmp_path)
    found, details = errors(results)
    assert set(found) == {"timeout"}
    assert set(details["timeout"]) == {"ws_connect", "sio_connect", "http_get"}
    assert all(n >= 2 for n in details["timeout"].values())  # ~1 per second per user
    assert results["connections"]["failed"] >= 4  # ws + sio connects (HTTP's TCP succeeds)
    assert took < 3 + 10 and code == 1  # nothing but timeouts, and no thresholds: failed


CODES = [1000, 1001, 1006, 1008, 1011, 4000]


def test_each_close_code_is_closed_by_peer_with_the_code(write_scenario,
                                                         tmp_path: Path) -> None:
    with FaultProcess("close") as server:
        scenario = write_scenario(
            f"""
            import horde

            CODES = {CODES}

            @horde.behaviour
            async def closed(user):
                ws = await user.websocket(f"/close/{{CODES[user.id % len(CODES)]}}")
                await ws.receive(timeout=3)
            """
        )
        code, took = horde_run(scenario, server.url, tmp_path, "-u", str(len(CODES)),
                               "-i", "1")
    results = read_results(tmp_path)
    found, details = errors(results)
    assert found == {"closed_by_peer": len(CODES)}
    assert details["closed_by_peer"] == {str(c): 1 for c in CODES}
    assert results["connections"]["dropped"] == len(CODES)
    assert took < 15 and code == 1


def test_malformed_frames_packets_and_json_are_protocol_errors(write_scenario,
                                                               tmp_path: Path) -> None:
    with FaultProcess("badframe") as frames, FaultProcess("badsio") as sio:
        scenario = write_scenario(
            f"""
            import asyncio
            import json
            import horde

            PATHS = ["/opcode", "/length", "/utf8", "/json", "sio"]

            @horde.behaviour
            async def bad(user):
                path = PATHS[user.id % len(PATHS)]
                if path == "sio":
                    await user.socketio("{sio.url}")
                elif path == "/json":
                    # a strict codec: horde.JSON passes text that is not JSON through
                    strict = horde.FunctionCodec(decode=json.loads)
                    ws = await user.websocket("{frames.url}/json".replace("http", "ws"),
                                              codec=strict)
                    await asyncio.sleep(0.5)  # the bad message is counted and dropped
                    await ws.close()
                else:
                    ws = await user.websocket("{frames.url}".replace("http", "ws") + path)
                    await ws.receive(timeout=3)
            """
        )
        code, took = horde_run(scenario, frames.url, tmp_path, "-u", "5", "-i", "1")
    results = read_results(tmp_path)
    found, details = errors(results)
    assert found == {"protocol_error": 5}, details
    assert details["protocol_error"] == {
        "bad_frame": 2, "invalid_utf8": 1, "decode": 1, "socketio": 1}
    assert results["connections"]["dropped"] == 3  # the three frames picows refused
    assert took < 15 and code == 1


def test_thousands_of_pending_requests_all_time_out(write_scenario, tmp_path: Path) -> None:
    users = 2000
    with FaultProcess("slow") as slow:
        scenario = write_scenario(
            """
            import horde

            @horde.behaviour
            async def wait(user):
                await user.http.get("/slow", name="slow")
            """
        )
        code, took = horde_run(scenario, slow.url, tmp_path, "-u", str(users), "-r", "2000",
                               "-i", "1", "--timeout", "1s")
    results = read_results(tmp_path)
    found, details = errors(results)
    assert found == {"timeout": users} and details["timeout"] == {"slow": users}
    assert results["operations"]["peak_in_flight"] > users // 2
    assert results["metrics"]["http_req:slow"]["failures"] == {"timeout": users}
    assert results["timeseries"][-1]["in_flight"] == 0
    rss = (results.get("generator") or {}).get("rss_peak_mb")
    if rss is not None:
        assert rss < 1024
    assert took < 30 and code == 1


def test_a_closed_port_is_connection_refused(write_scenario, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    scenario = write_scenario(
        """
        import horde

        @horde.on_start
        async def start(user):
            user.state.ws = await user.websocket("/ws")

        @horde.behaviour
        async def idle(user):
            await user.think(0.1)
        """
    )
    _, took = horde_run(scenario, f"http://127.0.0.1:{port}", tmp_path, "-u", "4", "-d", "2s")
    results = read_results(tmp_path)
    found, _ = errors(results)
    assert set(found) == {"connection_refused"}
    assert found["connection_refused"] == results["connections"]["failed"] >= 4
    assert results["connections"]["succeeded"] == 0
    assert took < 2 + 10


def test_results_json_is_valid_json(tmp_path: Path) -> None:
    """(read_results parses it; this guards the helper itself)"""
    (tmp_path / "results.json").write_text(json.dumps({"errors": {}}))
    assert read_results(tmp_path) == {"errors": {}}


async def test_a_server_that_stops_reading_times_out_the_send_instead_of_hanging():
    """Write flow control: once the socket buffers are full, a send waits for the peer to
    read — at most the timeout, then it is a ``timeout`` with detail ``ws_send``."""
    from horde.errors import OperationTimeoutError
    from horde.metrics.recorder import Recorder
    from horde.transports.websocket import WebSocketConnection

    with FaultProcess("deaf") as deaf:
        recorder = Recorder()
        ws = await WebSocketConnection.connect(
            deaf.url.replace("http", "ws") + "/ws", recorder=recorder, default_timeout=0.5,
            timeout=2,
        )
        chunk = b"x" * 65536
        with pytest.raises(OperationTimeoutError, match="stopped reading"):
            for _ in range(10_000):  # ~650 MB: far past any socket buffer
                await ws.send(chunk)
        window = recorder.take_window()
        assert window.errors == {("timeout", "ws_send"): 1}
        await ws.close()
