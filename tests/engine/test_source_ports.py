"""Source ports: a plan whose peak puts more than half the ephemeral range on each source
address is one warning line, with how many addresses --local-ips should give, before load.

The cliff it warns of was measured on this machine (bench/source_ports.py): 28–30 µs of
CPU per bind-and-connect from one address up to 12,000 connections, 3.3–3.6 ms past 14,000.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support import ROOT

from horde.engine.source_ports import (
    SourcePorts,
    check_source_ports,
    ephemeral_ports,
    plan_ports,
)
from horde.shapes.plan import Plan, build

pytestmark = pytest.mark.timeout(60)

DEFAULT_RANGE = 60999 - 32768 + 1  # Linux's default: 28,232 ports


def users(peak: float) -> Plan:
    return build("ramp", "users", [(10, 0, peak, "up"), (20, peak, peak, "hold")])


@pytest.mark.parametrize(("needed", "addresses", "found"), [
    (14_000, 0, (14_000, False, False, 1)),  # within the fast half of one address
    (14_117, 0, (14_117, True, False, 2)),  # one past it
    (30_000, 0, (30_000, True, True, 3)),  # past the whole range: connects fail
    (100_000, 8, (12_500, False, False, 8)),  # the 100,000 benchmark's 8 addresses
    (100_000, 4, (25_000, True, False, 8)),
])
def test_what_a_plan_asks_of_each_address(
        needed: int, addresses: int, found: tuple[int, bool, bool, int]) -> None:
    ports = plan_ports(needed, addresses, DEFAULT_RANGE)
    assert ports.fast == 14_116
    assert (ports.per_address, ports.slow, ports.short, ports.addresses_wanted) == found


def test_the_range_is_read_from_the_kernel_file(tmp_path: Path) -> None:
    f = tmp_path / "range"
    f.write_text("32768\t60999\n")
    assert ephemeral_ports(f) == DEFAULT_RANGE
    f.write_text("garbage")
    assert ephemeral_ports(f) is None
    assert ephemeral_ports(tmp_path / "missing") is None


def _range_file(tmp_path: Path, low: int, high: int) -> Path:
    f = tmp_path / "ip_local_port_range"
    f.write_text(f"{low}\t{high}\n")
    return f


def test_a_plan_past_half_the_range_is_one_warning_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _range_file(tmp_path, 32768, 60999)
    with caplog.at_level(logging.WARNING, "horde"):
        found = check_source_ports(users(20_000), (), on_cluster=False, path=path)
    assert found == SourcePorts(addresses=1, ports=DEFAULT_RANGE, needed=20_000)
    assert [r.getMessage() for r in caplog.records] == [
        "source ports: this run may hold about 20,000 connections to the target on 1 "
        "source address, 20,000 each; the ephemeral range has 28,232 ports and connects "
        "past half of them cost the kernel about 100 times more CPU each (its search for "
        "a free port); give at least 2 addresses with --local-ips (docs/scaling.md)"]


def test_past_the_whole_range_the_line_says_connects_fail(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _range_file(tmp_path, 50000, 50999)  # 1,000 ports
    with caplog.at_level(logging.WARNING, "horde"):
        check_source_ports(users(3000), ("127.0.0.2-127.0.0.3",), on_cluster=False,
                           path=path)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "on 2 source addresses, 1,500 each" in line
    assert "connects past them fail with 'Cannot assign requested address'" in line
    assert "give at least 6 addresses" in line


@pytest.mark.parametrize(("plan", "local_ips", "on_cluster"), [
    (users(10_000), (), False),  # within the fast half
    (users(40_000), ("127.0.0.2-127.0.0.5",), False),  # 10,000 on each of 4
    (users(40_000), (), True),  # a cluster's nodes each have their own ports
    (build("arrival-rate", "sessions/s", [(10, 50_000, 50_000, "s")]), (), False),  # no peak
])
def test_no_warning_when_the_ports_suffice_or_are_unknown(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, plan: Plan,
        local_ips: tuple[str, ...], on_cluster: bool) -> None:
    path = _range_file(tmp_path, 32768, 60999)
    with caplog.at_level(logging.WARNING, "horde"):
        check_source_ports(plan, local_ips, on_cluster=on_cluster, path=path)
    assert caplog.records == []


@pytest.mark.skipif(ephemeral_ports() is None, reason="no ephemeral range to read (not Linux)")
def test_the_cli_warns_before_the_load(tmp_path: Path) -> None:
    """Through the real CLI: one more user than half this machine's range, on one address;
    the users only think, so nothing is sent anywhere."""
    ports = ephemeral_ports()
    assert ports is not None
    planned = ports // 2 + 1
    scenario = tmp_path / "idle.py"
    scenario.write_text("import horde\n\n@horde.behaviour\nasync def idle(user):\n"
                        "    await user.think(0.2)\n    user.record('idle', 1)\n")
    done = subprocess.run(
        [sys.executable, "-m", "horde", "run", str(scenario), "--target", "http://127.0.0.1:9",
         "--users", str(planned), "--spawn-rate", "1", "--duration", "1s", "-q",
         "--no-history"], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    lines = [x for x in done.stderr.splitlines() if "source ports" in x]
    assert len(lines) == 1, done.stderr
    assert f"about {planned:,} connections to the target on 1 source address" in lines[0]
    assert "give at least 2 addresses with --local-ips" in lines[0]
