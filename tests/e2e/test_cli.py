"""The command line as a user meets it: exit codes, one-line errors, Ctrl-C, the demo."""

import os
import signal
import subprocess
import sys
import time

import pytest
from tests.support import ROOT, free_port, horde_cli, read_results

from horde.version import __version__

QUIET_SCENARIO = """
import horde

@horde.behaviour
async def tick(user):
    user.record("tick", 1)
    await user.think(0.1)
"""


TICKING_SCENARIO = QUIET_SCENARIO + """
    if user.iteration == 7:
        print("ticked 8", flush=True)
"""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.py", "--target", "http://127.0.0.1:1"], "missing.py: scenario file not found"),
        (["run", "{scenario}", "--target", "ftp://example"], "bad target URL 'ftp://example'"),
        (["run", "{scenario}", "--target", "http://127.0.0.1:1", "--users", "0"], "argument --users/-u: must be at least 1, not 0"),
        (["run", "{scenario}", "--target", "http://127.0.0.1:1", "--duration", "soon"], "bad duration"),
        (["run", "{scenario}", "--target", "http://127.0.0.1:1", "--users", "many"], "invalid int"),
        (["run", "{scenario}"], "missing target: give --target URL"),
        (["run", "--target", "http://127.0.0.1:1"], "missing scenario: give a scenario file"),
        # both in one place: --users was dropped without a word (3 users ran, not 50)
        (["run", "{scenario}", "--target", "http://127.0.0.1:1", "--shape", "ramp(to=3, over=2s)",
          "--users", "50"], "shape and users both given: a shape sets the users itself"),
        (["run", "{scenario}", "--target", "http://127.0.0.1:1", "--shape", "ramp(to=3, over=2s)",
          "--spawn-rate", "5"], "shape and spawn-rate both given"),
        (["demo", "nope"], "unknown demo 'nope'"),
        (["serve", "nope"], "unknown demo 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(write_scenario, args, message):
    scenario = write_scenario(QUIET_SCENARIO)
    result = horde_cli(*[a.format(scenario=scenario) for a in args])
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("horde: error: ") and message in lines[0]
    assert "Traceback" not in result.stderr


def test_version_is_one_line_and_exit_0():
    result = horde_cli("--version")
    assert (result.returncode, result.stdout) == (0, f"horde {__version__}\n")


def test_broken_scenario_names_file_and_line(write_scenario):
    scenario = write_scenario("import horde\n\n\nundefined_name + 1\n")
    result = horde_cli("run", str(scenario), "--target", "http://127.0.0.1:1")
    assert result.returncode == 2
    assert f"{scenario}:4: NameError" in result.stderr.strip()


def test_unreachable_target_completes_with_classified_errors(write_scenario, tmp_path):
    scenario = write_scenario(
        """
        import horde

        @horde.behaviour
        async def get(user):
            await user.http.get("/")
        """
    )
    port = free_port()
    out = tmp_path / "out"
    result = horde_cli(
        "run", str(scenario), "--target", f"http://127.0.0.1:{port}", "--users", "3",
        "--iterations", "2", "--out", str(out), "--quiet",
    )
    assert result.returncode == 1, result.stderr  # it completed, and it failed: no thresholds
    results = read_results(out)
    assert results["errors"] == {"connection_refused": 6}
    assert results["connections"]["failed"] == 6 and results["connections"]["succeeded"] == 0


def test_sigint_mid_run_still_writes_complete_results(write_scenario, tmp_path):
    scenario = write_scenario(TICKING_SCENARIO)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", str(scenario), "--target", "http://127.0.0.1:1",
         "--users", "5", "--duration", "60s", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    ticked = [proc.stdout.readline() for _ in range(5)]  # every user has ticked 8 times
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert ticked == ["ticked 8\n"] * 5
    assert proc.returncode == 4, stderr  # interrupted: never 0, results written all the same
    results = read_results(out)
    assert results["status"] == "interrupted" and results["passed"] is False
    assert 0.8 < results["duration_s"] < 50  # stopped by the signal, long before 60 s
    assert results["metrics"]["timer:tick"]["count"] >= 5 * 8
    assert len(results["timeseries"]) >= 2
    assert "SIGINT received" in stderr
    assert "INTERRUPTED (interrupted" in stdout and "PASSED" not in stdout


SLOW_TO_STOP = """
import asyncio
import horde

@horde.behaviour
async def tick(user):
    if user.iteration == 0:
        print("ticking", flush=True)
    user.record("tick", 1)
    await user.think(0.1)

@horde.on_stop
async def linger(user):
    print("stopping", flush=True)
    await asyncio.sleep(60)  # the run is still stopping when the second Ctrl-C comes
"""


def test_a_second_sigint_while_stopping_exits_130_at_once_without_results(write_scenario,
                                                                          tmp_path):
    """The CLI decides that exit (the engine only reports the second signal)."""
    scenario = write_scenario(SLOW_TO_STOP)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", str(scenario), "--target", "http://127.0.0.1:1",
         "--users", "1", "--duration", "60s", "--stop-timeout", "60s", "--quiet",
         "--no-history", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "ticking"  # the user is running
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline().strip() == "stopping"  # on_stop lingers
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "interrupted again, exiting without results" in stderr
    assert not (out / "results.json").exists()


def test_sigterm_also_writes_results(write_scenario, tmp_path):
    scenario = write_scenario(QUIET_SCENARIO)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", str(scenario), "--target", "http://127.0.0.1:1",
         "--users", "2", "--duration", "60s", "--out", str(out), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(2.0)
    os.kill(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=30)
    assert read_results(out)["status"] == "interrupted"


def test_demo_echo_runs_and_reports(tmp_path):
    out = tmp_path / "out"
    result = horde_cli("demo", "echo", "--users", "20", "--duration", "4s", "--out", str(out))
    assert result.returncode == 0, result.stderr
    results = read_results(out)
    assert results["errors"] == {}
    connections = results["connections"]
    # every user holds a WebSocket and a Socket.IO, plus an HTTP one once it picks that behaviour
    assert 40 < connections["succeeded"] <= 60
    assert connections["succeeded"] == connections["attempted"]
    for key in ("ws_reply:echo", "sio_ack:echo", "http_req:/echo"):
        assert results["metrics"][key]["count"] > 20, key
    assert "latency (ms)" in result.stdout
    assert str(ROOT / "examples" / "echo.py") in result.stderr


@pytest.mark.parametrize("hook", ["on_start", "behaviour"])
def test_a_usage_error_inside_a_user_ends_the_run_with_exit_2(write_scenario, tmp_path, hook):
    scenario = write_scenario(
        f"""
        import horde

        @horde.{hook}
        async def connect(user):
            await user.socketio(transports="ws")

        @horde.behaviour
        async def idle(user):
            await user.think(0.1)
        """
    )
    out = tmp_path / "out"
    began = time.monotonic()
    result = horde_cli("run", str(scenario), "--target", f"http://127.0.0.1:{free_port()}",
                       "--users", "2", "--duration", "60s", "--out", str(out), "--quiet")
    assert result.returncode == 2, result.stderr
    assert time.monotonic() - began < 50  # ended by the error, not by the duration
    assert result.stderr.strip().splitlines()[-1] == (  # after the history line
        "horde: error: transports='ws': give \"websocket\", \"polling\", or both in the "
        "order to try, e.g. (\"polling\", \"websocket\")")
    assert "Traceback" not in result.stderr
    results = read_results(out)
    assert results["status"] == "aborted" and "usage error" in results["abort_reason"]
    assert "scenario_exception" not in results["errors"]


def test_a_reader_that_goes_away_ends_the_listing_quietly():
    """`horde examples | head -1`: no BrokenPipeError traceback, SIGPIPE's exit code. The
    reader is gone before the first line is written, so the write always fails."""
    import os
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "horde", "examples"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_a_duration_given_ends_the_scenarios_shape_early(write_scenario, tmp_path, echo_server):
    """``horde demo chatbot --duration 8s`` ran its shape's whole 40 s: a duration given
    on the command line (or in a config file) was dropped without a word when the
    scenario's OPTIONS had a shape. It ends the shape there, as Locust's --run-time does."""
    scenario = write_scenario(
        """
        import horde

        OPTIONS = {"shape": "steps(start=1, increment=1, interval=20s, max=3)"}  # 60 s

        @horde.behaviour
        async def get(user):
            await user.http.get("/echo")
            await user.think(0.2)
        """
    )
    out = tmp_path / "out"
    result = horde_cli("run", str(scenario), "--target", echo_server, "--duration", "2s",
                       "--out", str(out), "--quiet", "--no-history", timeout=60)
    results = read_results(out)
    assert result.returncode == 0, result.stderr[-2000:]
    assert results["load"]["plan"] == [{"stage": "stage 1: 1 users", "start_s": 0.0,
                                        "duration_s": 2.0, "from": 1.0, "to": 1.0}]
    assert results["duration_s"] < 10 and results["metrics"]["http_req:/echo"]["count"] >= 2
