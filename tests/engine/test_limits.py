"""Open files: the soft limit goes up to the hard one at start, said at info level; a hard
limit below what the plan needs is one warning line with the fix, before any load."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support import ROOT

from horde.engine.limits import (
    CEILING,
    FILES_PER_USER,
    RESERVE,
    UNLIMITED,
    OpenFiles,
    files_needed,
    plan_limit,
)
from horde.shapes.plan import Plan, build

pytestmark = pytest.mark.timeout(60)


def users(peak: float) -> Plan:
    return build("ramp", "users", [(10, 0, peak, "up"), (20, peak, peak, "hold")])


@pytest.mark.parametrize(("plan", "processes", "needed"), [
    (users(1000), 1, 1000 * FILES_PER_USER + RESERVE),
    (users(1000), 4, 250 * FILES_PER_USER + RESERVE),  # each worker holds its share
    (users(999.5), 2, 500 * FILES_PER_USER + RESERVE),  # rounded up
    (build("arrival-rate", "sessions/s", [(10, 50, 50, "s")]), 1, None),  # no known peak
])
def test_what_a_plan_needs(plan: Plan, processes: int, needed: int | None) -> None:
    assert files_needed(plan, processes) == needed


def test_an_open_model_with_a_cap_needs_the_cap() -> None:
    plan = Plan("arrival-rate", "sessions/s", users(1).segments, max_concurrent=300)
    assert files_needed(plan) == 300 * FILES_PER_USER + RESERVE


@pytest.mark.parametrize(("soft", "hard", "needed", "after"), [
    (1024, 524_288, 2256, OpenFiles(1024, 524_288, 524_288, 2256)),  # raised, enough
    (1024, 4096, 20_256, OpenFiles(1024, 4096, 4096, 20_256)),  # raised, still short
    (4096, 4096, 1000, OpenFiles(4096, 4096, 4096, 1000)),  # nothing to do
    (1024, UNLIMITED, None, OpenFiles(1024, CEILING, UNLIMITED, None)),  # the kernel's cap
    (UNLIMITED, UNLIMITED, 10**9, OpenFiles(UNLIMITED, UNLIMITED, UNLIMITED, 10**9)),
])
def test_the_soft_limit_goes_to_the_hard_one(soft: int, hard: int, needed: int | None,
                                             after: OpenFiles) -> None:
    limits = plan_limit(soft, hard, needed)
    assert limits == after
    assert limits.raised == (after.soft > soft)
    assert limits.short == (needed is not None and after.soft < needed)


CALL = """
import logging, resource
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
from horde.engine.limits import raise_open_files
from horde.shapes.plan import build
limits = raise_open_files(build("ramp", "users", [(1, 0, {users}, "up")]))
print("NOW", resource.getrlimit(resource.RLIMIT_NOFILE)[0], limits.raised, limits.short)
"""


def _limited(soft: int, hard: int, code: str, *args: str) -> subprocess.CompletedProcess[str]:
    def lower() -> None:  # in the child only: this process keeps its own limits
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return subprocess.run([sys.executable, *args, code] if code else [sys.executable, *args],
                          capture_output=True, text=True, timeout=60, preexec_fn=lower,
                          cwd=ROOT)


def test_a_real_process_raises_its_soft_limit_and_says_so() -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    hard = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    done = _limited(256, hard, CALL.format(users=100), "-c")
    assert done.returncode == 0, done.stderr
    assert f"NOW {hard} True False" in done.stdout
    assert f"INFO open files: soft limit raised from 256 to {hard}" in done.stderr
    assert "WARNING" not in done.stderr


def test_a_hard_limit_too_low_for_the_plan_is_one_warning_line(tmp_path: Path) -> None:
    """Through the real CLI: 300 users need 856 descriptors; the hard limit is 512."""
    scenario = tmp_path / "idle.py"
    scenario.write_text("import horde\n\n@horde.behaviour\nasync def idle(user):\n"
                        "    await user.think(0.2)\n    user.record('idle', 1)\n")
    done = _limited(128, 512, "", "-m", "horde", "run", str(scenario),
                    "--target", "http://127.0.0.1:9", "--users", "300", "--spawn-rate", "1000",
                    "--duration", "1s", "-q", "--no-history")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "open files" in line]
    needed = 300 * FILES_PER_USER + RESERVE
    assert len(warnings) == 1, done.stderr
    assert "WARNING" in warnings[0]
    assert f"the limit is 512 but this run may need about {needed:,}" in warnings[0]
    for fix in ("ulimit -n", "/etc/security/limits.conf", "LimitNOFILE"):
        assert fix in warnings[0]


def test_capacity_says_so_for_its_largest_step(tmp_path: Path) -> None:
    scenario = tmp_path / "idle.py"
    scenario.write_text("import horde\n\n@horde.behaviour\nasync def idle(user):\n"
                        "    await user.think(0.2)\n    user.record('idle', 1)\n")
    done = _limited(128, 512, "", "-m", "horde", "capacity", str(scenario),
                    "--target", "http://127.0.0.1:9", "--threshold", "checks.rate >= 0",
                    "--start", "10", "--step", "290", "--max", "300",
                    "--step-duration", "1s", "-q")
    warnings = [line for line in done.stderr.splitlines() if "open files" in line]
    assert len(warnings) == 1, done.stderr
    needed = 300 * FILES_PER_USER + RESERVE
    assert f"the limit is 512 but this run may need about {needed:,}" in warnings[0]


API = """
import asyncio, logging, resource, sys
from pathlib import Path
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
import horde
from horde.config.model import RunConfig
from horde.scenario.loader import load_scenario

config = RunConfig(scenario=Path(sys.argv[1]), target="http://127.0.0.1:9", users=300,
                   spawn_rate=1000, duration_s=0.5, progress=False)
results = asyncio.run(horde.run(config, load_scenario(config.scenario)))
print("SOFT", resource.getrlimit(resource.RLIMIT_NOFILE)[0], results["status"])
"""


@pytest.mark.parametrize("roles", [False, True])
def test_horde_run_keeps_its_programs_limit_and_says_when_it_is_too_low(tmp_path: Path,
                                                                        roles: bool) -> None:
    """A program's own limits are left as they are: one warning line, before any load,
    says the plan does not fit and how the program raises them. With ROLES the roster's
    300 users count, not the config's."""
    scenario = tmp_path / "idle.py"
    scenario.write_text("import horde\n\n@horde.behaviour\nasync def idle(user):\n"
                        "    await user.think(0.2)\n")
    if roles:
        scenario.write_text(scenario.read_text() +
                            "\nROLES = (horde.role('player', count=300),)\n")
    done = _limited(512, 4096, "", "-c", API.replace("users=300", "users=1" if roles else
                                                     "users=300"), str(scenario))
    assert done.returncode == 0, done.stderr
    assert "SOFT 512 completed" in done.stdout  # not raised
    warnings = [line for line in done.stderr.splitlines() if "open files" in line]
    needed = 300 * FILES_PER_USER + RESERVE
    assert len(warnings) == 1, done.stderr
    assert warnings[0].startswith(f"WARNING open files: the soft limit is 512 but this run "
                                  f"may need about {needed:,}")
    assert "the hard limit is 4,096" in warnings[0] and "resource.setrlimit" in warnings[0]


def test_the_pytest_plugin_says_so_too(tmp_path: Path) -> None:
    (tmp_path / "idle.py").write_text("import horde\n\n@horde.behaviour\nasync def idle(user):\n"
                                      "    await user.think(0.2)\n")
    (tmp_path / "test_load.py").write_text(
        "def test_load(horde_run):\n"
        "    results = horde_run.sync('idle.py', target='http://127.0.0.1:9', users=300,\n"
        "                             duration='1s')\n"
        "    assert results['status'] == 'completed'\n")
    done = _limited(512, 4096, "", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "-o", "log_level=WARNING", str(tmp_path / "test_load.py"))
    assert done.returncode == 0, done.stdout[-2000:]
    # pytest's warnings summary shows it, for a test that passed too
    assert "UserWarning: horde: open files: the soft limit is 512 but this run may need " \
           f"about {300 * FILES_PER_USER + RESERVE:,}" in done.stdout, done.stdout[-2000:]
