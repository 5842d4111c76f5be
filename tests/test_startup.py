"""What starting up imports: pytest loads horde's plugin in every session on a machine horde
is installed on, and ``horde --help`` or a refused flag must answer at once — so neither
may import the engine and its dependencies. Checked by module, in a fresh interpreter:
the times themselves are bench/startup.py's (docs/benchmarks.md), never asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# what a run needs, and what turning flags into a typed RunConfig needs
RUN = ("horde.engine.runner", "horde.transports.http", "horde.transports.websocket",
       "horde.report", "uvloop", "rich", "aiohttp", "ray", "picows", "httptools")
CONFIG = ("horde.config.model", "pydantic", "yaml", "hdrh")


def modules_after(code: str, cwd: Path | None = None) -> set[str]:
    """The modules loaded once ``code`` ran in a fresh interpreter, less those loaded before
    it by ``import pytest`` (which pytest has loaded before any plugin)."""
    script = (
        "import json, sys\nimport pytest\nbefore = set(sys.modules)\n"
        f"{code}\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True, cwd=cwd)
    return set(json.loads(done.stdout.splitlines()[-1]))


def among(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_loading_the_pytest_plugin_imports_nothing_but_itself() -> None:
    assert modules_after("import horde.pytest_plugin") == {"horde", "horde.pytest_plugin"}


def test_horde_help_imports_no_engine() -> None:
    loaded = modules_after(
        "from horde.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert "horde.cli" in loaded
    assert among(loaded, RUN + CONFIG) == []


@pytest.mark.parametrize("flags", [["missing.py"], ["x.py", "--users", "-1"]])
def test_a_refused_run_imports_no_engine(tmp_path: Path, flags: list[str]) -> None:
    (tmp_path / "x.py").write_text("import horde\n\n@horde.behaviour\nasync def b(user):\n"
                                   "    pass\n")
    loaded = modules_after(
        f"from horde.cli import main\nassert main(['run', *{flags!r}, '-t', 'http://h']) == 2",
        cwd=tmp_path,
    )
    assert "horde.cli" in loaded
    # refused while the flags were read: before the typed config (pydantic), let alone
    # anything a run needs
    assert among(loaded, RUN + CONFIG) == []


def test_a_run_loads_only_the_clients_its_scenario_uses(tmp_path: Path) -> None:
    """Socket.IO's codecs come with python-engineio's whole package (its servers, aiohttp,
    requests) and the live views' web server with aiohttp: a run of a plain HTTP scenario
    without a live view loads none of them (about a third of a run's start-up), nor the
    CA store when no connection uses TLS."""
    (tmp_path / "x.py").write_text("import horde\n\n@horde.behaviour\nasync def b(user):\n"
                                   "    pass\n")
    loaded = modules_after(
        "from horde.cli import main\n"
        "code = main(['run', 'x.py', '-t', 'http://127.0.0.1:9', '--iterations', '1',"
        " '-q', '--no-history', '--out', 'out'])\n"
        "assert code != 2, code  # ran (1: no operation was timed, so no verdict passes)\n"
        "from horde.safety.tls import default_ssl_context\n"
        "assert default_ssl_context.cache_info().currsize == 0, 'the CA store was loaded'",
        cwd=tmp_path,
    )
    assert "horde.engine.runner" in loaded and "horde.transports.http" in loaded
    assert (tmp_path / "out" / "results.json").exists()
    assert among(loaded, ("engineio", "socketio", "aiohttp", "requests")) == []
