"""The command line, fuzzed in process: random argv for every command that does not start
a server. Each ends with exit 0, 1 or 2 and no traceback on stderr, or reaches the point
where load would start — where the test stops it (``run_with_signals`` is replaced), so
no example ever sends a packet."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import horde.engine.loop
from horde.cli import main

from .settings import FUZZ
from .test_config import CONNECT_SPECS, DURATIONS, NUMBERS, SHAPE_SPECS, THRESHOLDS


class LoadWouldStart(Exception):
    """Raised instead of running the event loop: the input was accepted."""


def _no_load(main_coro, *, use_uvloop: bool = True):
    raise LoadWouldStart


INTS = st.one_of(st.integers(-3, 70000).map(str), NUMBERS.map(str))
TEXT = st.text(max_size=12)
FLAG_VALUES: dict[str, st.SearchStrategy[str] | None] = {
    "--target": st.sampled_from(["http://127.0.0.1:1", "ws://127.0.0.1:1/x", "ftp://a", "http://[::1",
                                 "http://h:99999", "", "https://127.0.0.1:1/p?q=1", "localhost"]),
    "--users": INTS, "-u": INTS, "--spawn-rate": INTS, "--iterations": INTS, "--seed": INTS,
    "--duration": DURATIONS, "--timeout": DURATIONS, "--abort-grace": DURATIONS,
    "--max-duration": DURATIONS, "--step-duration": DURATIONS, "--monitor-interval": DURATIONS,
    "--baseline": DURATIONS, "--latency-floor": DURATIONS,
    "--shape": SHAPE_SPECS, "--connect": CONNECT_SPECS, "--threshold": THRESHOLDS,
    "--circuit-breaker": NUMBERS.map(str),
    "--log-level": st.sampled_from(["DEBUG", "ERROR", "debug", "LOUD"]),
    "--param": st.sampled_from(["a=1", "=", "x", "a==b", "teams=3"]),
    "--format": st.sampled_from(["json", "html,md", "csv,junit", "pdf", "", ","]),
    "--out": st.sampled_from(["out", "out/deeper", "."]),
    "--config": st.sampled_from(["good.yaml", "bad.yaml", "missing.yaml", "good.py"]),
    "--allow-hosts": st.sampled_from(["127.0.0.1", "10.0.0.0/8,*.lab", "10.0.0.0/33", "", "a b"]),
    "--deny-hosts": st.sampled_from(["127.0.0.0/8", "*.internal", "::1/129", ",,"]),
    "--ca-bundle": st.sampled_from(["missing.pem", "good.yaml"]),
    "--ui-port": INTS, "--ui-host": st.sampled_from(["127.0.0.1", "0.0.0.0", ""]),
    "--ui-token": st.sampled_from(["", " ", "t0k"]),
    "--prometheus-port": INTS, "--prometheus-host": st.sampled_from(["127.0.0.1", "::1"]),
    "--monitor-pid": INTS, "--history": st.sampled_from(["h.sqlite", "dir/"]),
    "--start": INTS, "--step": INTS, "--max": INTS, "--bisect": INTS, "--limit": INTS,
    "--tolerance": st.sampled_from(["10%", "0.1", "-5%", "x", "%"]),
    "--metric": st.sampled_from(["http_req:*", "* p95", "", "["]),
    "--abort-on-fail": None, "--quiet": None, "--insecure": None, "--ui": None,
    "--no-history": None, "--no-uvloop": None,
}
SCENARIOS = st.sampled_from(["good.py", "broken.py", "missing.py", "good.yaml"])
RUN_IDS = st.sampled_from(["latest", "-1", "1", "x", "0"])
POSITIONALS = {
    "run": st.lists(SCENARIOS, max_size=1), "capacity": st.lists(SCENARIOS, max_size=1),
    "plan": st.lists(st.one_of(SHAPE_SPECS, SCENARIOS), min_size=1, max_size=1),
    "runs": st.just([]), "report": st.lists(RUN_IDS, min_size=1, max_size=1),
    "compare": st.lists(RUN_IDS, min_size=2, max_size=2),
}
FLAG = st.sampled_from(sorted(FLAG_VALUES)).flatmap(
    lambda flag: st.just([flag]) if FLAG_VALUES[flag] is None
    else FLAG_VALUES[flag].map(lambda value: [flag, value]))


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(sorted(POSITIONALS)))
    argv = [command, *draw(POSITIONALS[command])]
    for flag in draw(st.lists(st.one_of(FLAG, FLAG, TEXT.map(lambda t: [t])), max_size=6)):
        argv.extend(flag)
    return argv


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory of inputs (scenarios, config files) the argv refer to by name."""
    (tmp_path / "good.py").write_text("import horde\n\n@horde.behaviour\nasync def b(user):\n    pass\n")
    (tmp_path / "broken.py").write_text("import horde\n\nthis is not python\n")
    (tmp_path / "good.yaml").write_text("scenario: good.py\ntarget: http://127.0.0.1:1\n")
    (tmp_path / "bad.yaml").write_text("users: [1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HORDE_HISTORY", str(tmp_path / "history.sqlite"))
    monkeypatch.setattr(horde.engine.loop, "run_with_signals", _no_load)
    return tmp_path


@FUZZ
@given(argv=argvs())
@example(argv=["run", "good.py", "--target", "http://127.0.0.1:1", "--shape",
               "steps(start=1, increment=0, interval=1s, max=5)"])
@example(argv=["run", "good.py", "--target", "http://127.0.0.1:1", "--duration", "inf"])
@example(argv=["plan", "burst(size=1, every=1s, count=999999999999)"])
@example(argv=["run", "good.py", "--target", "http://127.0.0.1:1", "--deny-hosts", "::1/129"])
@example(argv=["compare", "x", "-1", "--tolerance", "%"])
def test_cli_never_shows_a_traceback(workdir: Path, capsys, argv: list[str]) -> None:
    capsys.readouterr()
    try:
        code = main(argv)
    except LoadWouldStart:
        code = None
    except SystemExit as exc:  # only argparse's own --help / -h exits
        assert exc.code == 0 and {"-h", "--help"} & set(argv), argv
        code = 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out, (argv, err)
    assert code in (None, 0, 1, 2), (argv, code, err)
    if code == 2:
        lines = err.strip().splitlines()
        assert lines and lines[0].startswith("horde: error: "), (argv, err)
