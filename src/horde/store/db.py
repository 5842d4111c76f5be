"""The history file: one SQLite database, a ``runs`` row per run and a ``rows`` row per
second of each run.

Why SQLite in WAL mode with ``synchronous=NORMAL``: every per-second row is its own
committed transaction, appended to the WAL file without an fsync, so a process killed
with SIGKILL loses nothing that was committed (the OS holds the pages; only a power cut
could lose the last seconds), and a commit costs tens of microseconds on the event loop.
Readers (``horde runs`` in another terminal) never block the writer.

A run is ``running`` from ``begin_run`` until ``finish_run``. A ``running`` row whose
process is gone is reported as ``incomplete``: that run was killed.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from horde.errors import UsageError

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at    TEXT NOT NULL,             -- ISO 8601, UTC
    finished_at   TEXT,                      -- NULL until the run ends
    scenario      TEXT NOT NULL,
    scenario_file TEXT,
    target        TEXT NOT NULL,
    config        TEXT NOT NULL,             -- JSON: the typed RunConfig, secrets redacted
    status        TEXT NOT NULL,             -- 'running' until finish_run: then results.status
    passed        INTEGER,                   -- 0/1 once finished
    duration_s    REAL,
    summary       TEXT,                      -- JSON: horde.store.listing.summarize()
    results       TEXT,                      -- JSON: the whole results dict
    pid           INTEGER NOT NULL,          -- to tell a live run from a killed one
    host          TEXT NOT NULL,
    horde_version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rows (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    t      REAL NOT NULL,                    -- seconds since the run started
    row    TEXT NOT NULL                     -- JSON: one element of results["timeseries"]
);
CREATE UNIQUE INDEX IF NOT EXISTS rows_by_run ON rows (run_id, t);
"""
_COLUMNS = (
    "id, started_at, finished_at, scenario, scenario_file, target, config, status, passed, "
    "duration_s, summary, pid, host, "
    "(SELECT count(*) FROM rows WHERE run_id = runs.id) AS n_rows, "
    "(SELECT max(t) FROM rows WHERE run_id = runs.id) AS last_t"
)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as listed: its facts, its summary once finished, how many seconds stored."""

    id: int
    started_at: str
    finished_at: str | None
    scenario: str
    scenario_file: str | None
    target: str
    config: dict[str, Any]
    status: str  # "incomplete" when it was left "running" by a process that is gone
    passed: bool | None
    duration_s: float | None
    summary: dict[str, Any] | None
    rows: int
    last_t: float | None

    @property
    def incomplete(self) -> bool:
        return self.status == "incomplete"


class RunStore:
    """Reads and writes one history file. Not thread-safe: one store per thread."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    def begin_run(self, facts: dict[str, Any]) -> int:
        """Record a run that is starting; its id is what every later call names."""
        cur = self.conn.execute(
            "INSERT INTO runs (started_at, scenario, scenario_file, target, config, status,"
            " pid, host, horde_version) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
            (
                facts.get("started_at") or _now(), facts["scenario"], facts.get("scenario_file"),
                facts["target"], json.dumps(facts.get("config", {}), default=str),
                os.getpid(), socket.gethostname(), facts.get("horde_version", ""),
            ),
        )
        return int(cur.lastrowid or 0)

    def add_row(self, run_id: int, row: dict[str, Any]) -> None:
        """One second of the run, committed at once (autocommit): it survives a SIGKILL."""
        self.conn.execute(
            "INSERT OR REPLACE INTO rows (run_id, t, row) VALUES (?, ?, ?)",
            (run_id, row["t"], json.dumps(row, default=str)),
        )

    def finish_run(self, run_id: int, results: dict[str, Any], summary: dict[str, Any]) -> None:
        self.conn.execute(
            "UPDATE runs SET finished_at = ?, status = ?, passed = ?, duration_s = ?,"
            " summary = ?, results = ? WHERE id = ?",
            (
                results.get("finished_at") or _now(), results["status"],
                None if results.get("passed") is None else int(bool(results["passed"])),
                results.get("duration_s"), json.dumps(summary, default=str),
                json.dumps(results, default=str), run_id,
            ),
        )

    def runs(self, limit: int | None = None) -> list[RunRecord]:
        """The newest ``limit`` runs, newest first."""
        sql = f"SELECT {_COLUMNS} FROM runs ORDER BY id DESC"
        params: tuple[Any, ...] = ()
        if limit is not None:
            sql += " LIMIT ?"
            params = (limit,)
        return [_record(r) for r in self._read(sql, params)]

    def get(self, ref: str) -> RunRecord:
        """A run by id (``7``), ``latest``/``last``, or counting back (``-1`` newest, ``-2``
        the one before); an unknown one is the user's mistake."""
        run_id = self.resolve(ref)
        found = self._read(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        if not found:
            raise UsageError(f"no run {ref!r} in {self.path} (see 'horde runs')")
        return _record(found[0])

    def resolve(self, ref: str) -> int:
        text = ref.strip().lower().lstrip("#")
        if text in ("latest", "last"):
            text = "-1"
        try:
            number = int(text)
        except ValueError:
            raise UsageError(
                f"bad run id {ref!r}: give a number, 'latest', or -1, -2, ... (see 'horde runs')"
            ) from None
        if number > 0:
            return number
        if number == 0:
            raise UsageError("bad run id '0': ids start at 1; -1 is the latest run")
        found = self._read("SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?", (-number - 1,))
        if not found:
            raise UsageError(f"no run {ref!r} in {self.path} (see 'horde runs')")
        return int(found[0]["id"])

    def rows(self, run_id: int) -> list[dict[str, Any]]:
        found = self._read("SELECT row FROM rows WHERE run_id = ? ORDER BY t", (run_id,))
        return [json.loads(r["row"]) for r in found]

    def results(self, run_id: int) -> dict[str, Any] | None:
        """The results dict stored at the end of the run; ``None`` if it never ended."""
        found = self._read("SELECT results FROM runs WHERE id = ?", (run_id,))
        if not found or found[0]["results"] is None:
            return None
        return json.loads(found[0]["results"])

    def defer_checkpoints(self) -> None:
        """For the duration of a run: no automatic WAL checkpoint (an fsync that stalls a
        commit for ~15 ms every few thousand rows). The run checkpoints once at its end."""
        self.conn.execute("PRAGMA wal_autocheckpoint=0")

    def checkpoint(self) -> None:
        """Copy the WAL into the database without waiting for readers (PASSIVE): whatever
        is left is checkpointed by the last connection to close."""
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        self.conn.close()

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{self.path}: cannot read the run history: {exc}") from None


def open_store(path: Path, *, create: bool = True) -> RunStore:
    """Open (and with ``create``, make) the history file. ``create=False`` is for the
    reading commands: a missing file is a one-line usage error, not a new empty file."""
    path = Path(path)
    if not create and not path.exists():
        raise UsageError(f"no run history at {path} (run 'horde run' first, or give --history)")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=2.0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        _migrate(conn)
    except (sqlite3.DatabaseError, OSError) as exc:
        hint = "give --history PATH or --no-history" if create else "give --history PATH"
        raise UsageError(f"cannot open the run history {path}: {exc} ({hint})") from None
    return RunStore(conn, path)


def _migrate(conn: sqlite3.Connection) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(f"written by a newer horde (schema {version})")
    if version < SCHEMA_VERSION:
        conn.executescript(SCHEMA)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _record(r: sqlite3.Row) -> RunRecord:
    status = r["status"]
    if status == "running" and not _alive(r["pid"], r["host"]):
        status = "incomplete"
    return RunRecord(
        id=r["id"], started_at=r["started_at"], finished_at=r["finished_at"],
        scenario=r["scenario"], scenario_file=r["scenario_file"], target=r["target"],
        config=json.loads(r["config"]), status=status,
        passed=None if r["passed"] is None else bool(r["passed"]),
        duration_s=r["duration_s"], summary=json.loads(r["summary"]) if r["summary"] else None,
        rows=r["n_rows"], last_t=r["last_t"],
    )


def _alive(pid: int, host: str) -> bool:
    """Is the process that wrote this run still there? On another host we cannot tell,
    so the run is taken as still going."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """A killed process its parent has not reaped yet still answers ``kill(pid, 0)``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # not Linux, or gone meanwhile
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
