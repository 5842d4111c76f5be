"""A ``horde.secret`` value used in a URL, a header, a body, a WebSocket message and an
exception message never reaches the console, results.json, any report format or the run
history: every place is searched for it byte by byte after a real run."""

from __future__ import annotations

from pathlib import Path

import pytest

from horde.cli import main

pytestmark = pytest.mark.timeout(90)

SECRET = "s3cr3t-Pa55-7f1d"

LEAKY = """
import horde

TOKEN = horde.secret("HORDE_TEST_TOKEN")

@horde.behaviour
async def leak(user):
    auth = {"Authorization": "Bearer " + TOKEN}
    await user.http.get("/status/500?token=" + TOKEN, headers=auth)
    await user.http.get("/echo?token=" + TOKEN, headers=auth)
    await user.http.post("/echo", data="password=" + TOKEN)
    ws = await user.websocket("/ws?token=" + TOKEN)
    await ws.request("hello " + TOKEN, name="hello")
    await ws.close()
    user.check(False, "token " + TOKEN)
    raise RuntimeError("scenario failed holding " + TOKEN)
"""


def test_a_secret_never_leaves_horde(tmp_path: Path, echo_server: str, capsys,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HORDE_TEST_TOKEN", SECRET)
    scenario = tmp_path / "leaky.py"
    scenario.write_text(LEAKY)
    out, history = tmp_path / "out", tmp_path / "runs.sqlite"
    main(["run", str(scenario), "--target", echo_server, "--iterations", "2", "--users", "2",
          "--out", str(out), "--format", "json,html,md,csv,junit", "--history", str(history),
          "--log-level", "DEBUG"])
    report_code = main(["report", "latest", "--history", str(history), "--format", "html,md",
                        "--out", str(tmp_path / "from-history")])
    console = capsys.readouterr()
    assert report_code == 0, console.err
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name != "leaky.py"]
    names = {p.name for p in files}
    assert {"results.json", "report.html", "report.md", "runs.sqlite"} <= names, names
    assert any(p.suffix == ".csv" for p in files) and any(p.suffix == ".xml" for p in files)
    leaks = [str(p) for p in files if SECRET.encode() in p.read_bytes()]
    assert leaks == []
    assert SECRET not in console.out and SECRET not in console.err
    results = (out / "results.json").read_text()
    assert "***" in results  # redacted, not dropped: the examples still show where it was
    assert "scenario_exception" in results and "http_500" in results
