"""The history file on its own: runs and rows in, the same runs and rows out."""

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from horde.errors import UsageError
from horde.store import history_path
from horde.store.db import open_store


def _row(t: float, requests: int = 10) -> dict:
    return {"t": t, "users": 2, "requests": requests, "errors": 0, "p95_ms": 1.5,
            "metrics": {"http_req:x": {"count": requests, "p50_ms": 1.0, "p95_ms": 1.5,
                                       "p99_ms": 2.0}}}


def _facts(name: str = "echo") -> dict:
    return {"scenario": name, "scenario_file": f"{name}.py", "target": "http://127.0.0.1:1",
            "config": {"users": 2, "thresholds": []}, "horde_version": "0"}


def test_a_run_and_its_rows_come_back_as_written(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite")
    run_id = store.begin_run(_facts())
    for t in (1.0, 2.0, 3.0):
        store.add_row(run_id, _row(t))
    assert store.get(str(run_id)).status == "running"  # this very process is alive
    results = {"status": "completed", "passed": True, "duration_s": 3.0, "x": [1, 2]}
    store.finish_run(run_id, results, {"requests": 30})
    store.close()

    store = open_store(tmp_path / "h.sqlite", create=False)
    record = store.get(str(run_id))
    assert (record.status, record.passed, record.duration_s) == ("completed", True, 3.0)
    assert record.config == {"users": 2, "thresholds": []}
    assert record.summary == {"requests": 30}
    assert (record.rows, record.last_t) == (3, 3.0)
    assert store.rows(run_id) == [_row(1.0), _row(2.0), _row(3.0)]
    assert store.results(run_id) == results


def test_runs_are_named_by_id_latest_or_counting_back(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite")
    ids = [store.begin_run(_facts(f"s{i}")) for i in range(3)]
    assert ids == [1, 2, 3]
    assert [r.id for r in store.runs()] == [3, 2, 1]
    assert [r.id for r in store.runs(limit=2)] == [3, 2]
    assert store.resolve("latest") == store.resolve("last") == store.resolve("-1") == 3
    assert store.resolve("-3") == 1 and store.resolve("#2") == 2
    for bad, message in [("9", "no run '9'"), ("-4", "no run '-4'"), ("0", "ids start at 1"),
                         ("abc", "bad run id 'abc'")]:
        with pytest.raises(UsageError, match=message):
            store.get(bad)


def test_a_running_run_whose_process_is_gone_is_incomplete(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite")
    run_id = store.begin_run(_facts())
    store.add_row(run_id, _row(1.0))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    store.conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (int(gone.stdout), run_id))
    record = store.get("latest")
    assert record.status == "incomplete" and record.incomplete
    assert store.results(run_id) is None


def test_a_killed_process_not_yet_reaped_counts_as_gone(tmp_path: Path) -> None:
    store = open_store(tmp_path / "h.sqlite")
    run_id = store.begin_run(_facts())
    zombie = subprocess.Popen(["sleep", "30"])
    zombie.kill()  # not waited for: a zombie, which still answers kill(pid, 0)
    try:
        store.conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (zombie.pid, run_id))
        for _ in range(500):  # up to 10 s, for a busy machine
            if store.get("latest").status == "incomplete":
                break
            time.sleep(0.02)
        assert store.get("latest").status == "incomplete"
    finally:
        zombie.wait()


def test_reading_never_creates_a_file_and_a_foreign_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no run history at"):
        open_store(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database at all" * 100)
    with pytest.raises(UsageError, match="cannot open the run history"):
        open_store(junk, create=False)


def test_the_file_is_wal_and_written_rows_are_visible_to_another_reader(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    store = open_store(path)
    store.defer_checkpoints()
    run_id = store.begin_run(_facts())
    store.add_row(run_id, _row(1.0))
    reader = sqlite3.connect(path)  # as `horde runs` in another terminal would
    assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert reader.execute("SELECT count(*) FROM rows").fetchone()[0] == 1
    reader.close()


def test_the_history_path_is_the_flag_then_the_env_then_the_working_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HORDE_HISTORY", "/tmp/env.sqlite")
    assert history_path("flag.sqlite") == Path("flag.sqlite")
    assert history_path(None) == Path("/tmp/env.sqlite")
    assert history_path("flag.sqlite", disabled=True) is None
    monkeypatch.delenv("HORDE_HISTORY")
    assert history_path(None) == Path("horde-runs.sqlite")
