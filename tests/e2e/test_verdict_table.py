"""docs/results.md's verdict table, row by row: each fault made real (a server on
127.0.0.1 in its own process, a real ``horde run`` process), and the exit code, ``passed``,
``status`` and error categories asserted exactly as the table says them."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.support import ROOT, free_port, read_results
from tests.transports.fault_servers import EchoProcess, FaultProcess

pytestmark = pytest.mark.timeout(120)

DOCS = ROOT / "docs" / "results.md"

HTTP = """
import horde

@horde.behaviour
async def get(user):
    await user.http.get("{path}", name="get")
    await user.think(0.1)
"""

WS = """
import horde

@horde.on_start
async def start(user):
    user.state.ws = await user.websocket("{path}", codec=horde.JSON)

@horde.behaviour
async def echo(user):
    await user.state.ws.request({{"n": user.iteration}}, name="echo")
    await user.think(0.1)
"""

RAISES = """
import horde

@horde.behaviour
async def broken(user):
    await user.http.get("/echo", name="get")
    raise RuntimeError("the scenario's own bug")
"""

CHECK = """
import horde

@horde.behaviour
async def checked(user):
    response = await user.http.get("/echo", name="get")
    user.check(response.status == 201, "created")
    await user.think(0.1)
"""

IDLE = """
import horde

@horde.behaviour
async def idle(user):
    await user.think(0.2)
"""


@dataclass
class Case:
    """How to make one row's fault: the scenario, its server, the flags."""

    scenario: str
    server: str = "echo"  # echo | closed | a fault_servers mode | killed | restarted
    path: str = "/echo"
    flags: tuple[str, ...] = ()
    signal_after_first_row: bool = False
    duration: str = "2s"
    extra: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {
    "no fault": Case(HTTP),
    "closed port": Case(HTTP, server="closed"),
    "accept-and-hang": Case(WS, server="silent", path="/ws"),
    "server killed mid-run": Case(WS, server="killed", path="/ws", duration="4s"),
    "killed and restarted": Case(WS, server="restarted", path="/ws", duration="5s"),
    "5xx": Case(HTTP, path="/status/503"),
    "429": Case(HTTP, path="/status/429"),
    "malformed frames": Case(WS, server="badframe", path="/opcode"),
    "replies past the timeout": Case(HTTP, server="slow", flags=("--timeout", "1s")),
    "scenario exception": Case(RAISES),
    "failed check": Case(CHECK),
    "nothing measured": Case(IDLE),
    "interrupted": Case(HTTP, duration="30s", signal_after_first_row=True),
    "aborted": Case(HTTP, path="/delay/20", duration="20s",
                    flags=("--threshold", "p95(http_req) < 1ms", "--abort-on-fail",
                           "--abort-grace", "1s")),
}


@dataclass(frozen=True)
class Row:
    fault: str
    exit_code: int
    passed: bool
    status: str
    categories: frozenset[str]


def table_rows() -> list[Row]:
    """The verdict table of docs/results.md, parsed."""
    text = DOCS.read_text()
    start = text.index("## Verdicts and exit codes")
    rows = []
    for line in text[start:].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[1].strip("`").isdigit():
            continue
        fault, code, passed, status, categories = cells
        rows.append(Row(fault, int(code.strip("`")), passed.strip("`") == "true",
                        status.strip("`"), frozenset(re.findall(r"`([a-z_0-9]+)`", categories))))
    return rows


ROWS = table_rows()


def test_the_table_covers_every_fault_the_issue_names() -> None:
    assert {r.fault for r in ROWS} == set(CASES)


@contextmanager
def server_for(case: Case) -> Iterator[tuple[str, Callable[[], None]]]:
    """The target URL, and what to do once the load runs (kill or restart the server)."""
    if case.server == "closed":
        yield f"http://127.0.0.1:{free_port()}", lambda: None
    elif case.server in ("echo", "killed", "restarted"):
        echo = EchoProcess(free_port()).start()

        def mid_run() -> None:
            if case.server == "echo":
                return
            echo.kill()
            if case.server == "restarted":
                time.sleep(0.5)
                echo.start()

        try:
            yield echo.url, mid_run
        finally:
            echo.kill()
    else:
        with FaultProcess(case.server) as fault:
            yield fault.url, lambda: None


def run_case(case: Case, out: Path, scenario: Path) -> tuple[int, str]:
    with server_for(case) as (url, mid_run):
        args = [sys.executable, "-m", "horde", "run", str(scenario), "--target", url,
                "-u", "3", "-d", case.duration, "--out", str(out), "--no-history",
                "--monitor-interval", "1s", *case.flags]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=ROOT)
        assert proc.stderr is not None
        if case.signal_after_first_row or case.server in ("killed", "restarted"):
            for line in proc.stderr:  # the monitor's first line: the load is on
                if line.startswith("["):
                    break
            time.sleep(1.0)
            if case.signal_after_first_row:
                proc.send_signal(signal.SIGTERM)
            else:
                mid_run()
        stdout, stderr = proc.communicate(timeout=90)
    return proc.returncode, stdout + stderr


@pytest.mark.parametrize("row", ROWS, ids=[r.fault for r in ROWS])
def test_each_row_of_the_verdict_table(row: Row, tmp_path: Path) -> None:
    case = CASES[row.fault]
    scenario = tmp_path / "scenario.py"
    scenario.write_text(case.scenario.format(path=case.path))
    code, output = run_case(case, tmp_path / "out", scenario)
    assert "Traceback" not in output, output
    results = read_results(tmp_path / "out")
    assert (code, results["passed"], results["status"]) == (
        row.exit_code, row.passed, row.status), output
    assert set(results["errors"]) == row.categories, output
    verdict = "PASSED" if row.passed else (
        "INTERRUPTED" if row.status == "interrupted" else
        "ABORTED" if row.status == "aborted" else "FAILED")
    assert f": {verdict} (" in output
    assert results["verdict"]["reason"] in output
