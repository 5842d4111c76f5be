"""Every port horde listens on (dashboard, Prometheus) is bound to loopback unless the
user names another address: checked on the command line's defaults and on the sockets."""

from __future__ import annotations

import io
import ipaddress

import pytest

from horde.cli import build_parser
from horde.live.dashboard import from_options as dashboard
from horde.live.prometheus import from_options as prometheus

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize("command", [["run", "s.py"], ["demo", "echo"]])
def test_defaults_are_loopback(command: list[str]) -> None:
    args = build_parser().parse_args(command)
    assert args.ui_host == "127.0.0.1"
    if hasattr(args, "prometheus_host"):
        assert args.prometheus_host == "127.0.0.1"


def _bound(runner) -> list[str]:
    return [str(addr[0]) for addr in runner.addresses]


async def test_dashboard_socket_is_loopback_only() -> None:
    board = dashboard(port=0)
    board._stream = io.StringIO()
    async with board:
        hosts = _bound(board._runner)
    assert hosts and all(ipaddress.ip_address(h).is_loopback for h in hosts), hosts


async def test_prometheus_socket_is_loopback_only() -> None:
    exporter = prometheus(port=0)
    exporter.stream = io.StringIO()
    async with exporter:
        hosts = _bound(exporter._runner)
        assert exporter.url.startswith("http://127.0.0.1:")
    assert hosts and all(ipaddress.ip_address(h).is_loopback for h in hosts), hosts


def test_a_dashboard_off_loopback_needs_a_token() -> None:
    assert dashboard("0.0.0.0", 0).token  # generated (and printed) when not given
    assert dashboard("127.0.0.1", 0).token is None
