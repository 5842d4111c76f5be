"""``--local-ips``: the list is parsed without sockets; against the real echo server on
127.0.0.1, every connection of a run comes from the listed addresses in turn — WebSocket,
HTTP, SSE, Socket.IO on either transport — and a bad list is one line and exit 2 before
anything connects."""

from __future__ import annotations

import os
import socket
from collections import Counter
from pathlib import Path

import pytest
import uvloop
from aiohttp import web

from horde.cli import main
from horde.config.load import read_config_file
from horde.config.model import RunConfig
from horde.demo.echo import build_app
from horde.engine.runner import run
from horde.errors import ConfigError
from horde.metrics.recorder import Recorder
from horde.scenario.loader import load_scenario
from horde.transports.http import HttpClient
from horde.transports.local_addresses import (
    MAX_ADDRESSES,
    SourceAddresses,
    check_target_version,
    expand,
    local_addr,
    parse_local_ips,
    use_local_addresses,
)
from horde.transports.socketio import SocketIOConnection
from horde.transports.websocket import WebSocketConnection

pytestmark = pytest.mark.timeout(60)

THREE = ("127.0.0.2", "127.0.0.3", "127.0.0.4")

# -- the list, without sockets -----------------------------------------------------------


@pytest.mark.parametrize(("given", "addresses"), [
    ("127.0.0.2-127.0.0.4", THREE),
    ("127.0.0.5", ("127.0.0.5",)),
    (" 127.0.0.2 , 127.0.0.3-127.0.0.4 ", THREE),
    ("10.1.0.0/30", ("10.1.0.1", "10.1.0.2")),  # host addresses: no network, no broadcast
    ("10.1.0.6/31", ("10.1.0.6", "10.1.0.7")),  # a point-to-point pair: both
    ("10.1.0.9/32", ("10.1.0.9",)),
    ("127.0.0.3-127.0.0.4,127.0.0.2-127.0.0.3", ("127.0.0.3", "127.0.0.4", "127.0.0.2")),
    ("fd00::1-fd00::3", ("fd00::1", "fd00::2", "fd00::3")),
    ("fd00::/126", ("fd00::1", "fd00::2", "fd00::3")),  # IPv6 has no broadcast
    ("10.0.0.0/16", None),
])
def test_lists_expand_in_order_each_address_once(given: str, addresses: tuple[str, ...] | None
                                                 ) -> None:
    specs = parse_local_ips(given)
    if addresses is None:
        assert len(expand(specs)) == 65_534
    else:
        assert expand(specs) == addresses


def test_items_repeat_and_split_on_commas() -> None:
    assert parse_local_ips(["127.0.0.2,127.0.0.3", "127.0.0.4"]) == THREE
    assert parse_local_ips([]) == ()


@pytest.mark.parametrize(("given", "says"), [
    ("127.0.0.9-127.0.0.2", "backwards: 127.0.0.2 is below 127.0.0.9"),
    ("127.0.0.300", "bad item '127.0.0.300'"),
    ("localhost", "bad item 'localhost'"),
    ("10.0.0.0/33", "bad item '10.0.0.0/33'"),
    ("127.0.0.1-::1", "same IP version"),
    ("127.0.0.2,::1", "IPv4 and IPv6 addresses mixed"),
    ("10.0.0.0/8", "16,777,214 addresses; at most 65,536"),
    ("10.0.0.0/16,10.1.0.0/31", f"65,536 addresses; at most {MAX_ADDRESSES:,}"),
    ("224.0.0.1", "224.0.0.1 cannot be a connection's source"),
    ("0.0.0.0", "0.0.0.0 cannot be a connection's source"),
])
def test_bad_lists_are_config_errors(given: str, says: str) -> None:
    if "65,536 addresses" in says:  # exactly the limit is fine; one more is not
        parse_local_ips("10.0.0.0/16,10.1.0.0/32,10.1.0.1")
        given += ",10.2.0.1"
        says = "65,537 addresses"
    with pytest.raises(ConfigError, match="--local-ips") as caught:
        parse_local_ips(given)
    assert says in str(caught.value)


def test_the_chooser_goes_round_robin_and_none_without_a_list() -> None:
    chooser = SourceAddresses(THREE)
    assert [chooser.take()[0] for _ in range(7)] == [*THREE, *THREE, "127.0.0.2"]
    assert chooser.take() == ("127.0.0.3", 0)  # port 0: the kernel picks it
    assert local_addr() is None
    with use_local_addresses(("127.0.0.2-127.0.0.3",)):
        assert [local_addr(), local_addr(), local_addr()] == [
            ("127.0.0.2", 0), ("127.0.0.3", 0), ("127.0.0.2", 0)]
        with use_local_addresses(()):
            assert local_addr() is None
    assert local_addr() is None


def test_config_file_key_and_run_config(tmp_path: Path) -> None:
    file = tmp_path / "horde.yaml"
    file.write_text("local_ips: 127.0.0.2-127.0.0.4, 10.0.0.0/30\n")
    values = read_config_file(file)
    assert values["local_ips"] == ("127.0.0.2-127.0.0.4", "10.0.0.0/30")
    config = RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:1", **values)
    assert config.local_ips == ("127.0.0.2-127.0.0.4", "10.0.0.0/30")
    file.write_text("local_ips: [127.0.0.9-127.0.0.2]\n")
    with pytest.raises(ConfigError, match=r"local_ips.*backwards"):
        read_config_file(file)
    with pytest.raises(ConfigError, match="backwards"):
        RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:1",
                  local_ips=("127.0.0.9-127.0.0.2",))


# -- real connections --------------------------------------------------------------------

SCENARIOS = {
    "websocket": """
    ws = await user.websocket("/ws")
    await ws.send("hi")
    await ws.receive()
    await ws.close()
""",
    "http": """
    for _ in range(3):  # one keep-alive connection per user
        response = await user.http.get("/echo")
        user.check(response.status == 200, "echo answers")
""",
    "sse": """
    stream = await user.sse("/sse?n=2&ms=5", reconnect=False)
    await stream.next()
    await stream.close()
""",
    "socketio": """
    sio = await user.socketio()
    await sio.call("echo", 1)
    await sio.disconnect()
""",
    "socketio-polling": """
    sio = await user.socketio(transports=["polling"])
    await sio.call("echo", 1)
    await sio.disconnect()
""",
}


class PeerLog:
    """The echo demo, noting every request's peer (address, port): a connection each."""

    def __init__(self) -> None:
        self.connections: set[tuple[str, int]] = set()
        self.sessions: dict[str, set[str]] = {}  # Engine.IO sid → the addresses it came from
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> PeerLog:
        @web.middleware
        async def note(request: web.Request, handler):  # type: ignore[no-untyped-def]
            peer = request.transport.get_extra_info("peername")  # type: ignore[union-attr]
            self.connections.add((peer[0], peer[1]))
            if "sid" in request.query:
                self.sessions.setdefault(request.query["sid"], set()).add(peer[0])
            return await handler(request)

        app = build_app()
        app.middlewares.append(note)
        # a polling session's last GET stays pending on the server: do not wait it out
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def per_address(self) -> Counter[str]:
        return Counter(address for address, _ in self.connections)


async def _run(tmp_path: Path, body: str, target: str, local_ips: tuple[str, ...]) -> dict:
    path = tmp_path / "scenario.py"
    path.write_text(f"import horde\n\n@horde.behaviour\nasync def go(user):{body}")
    config = RunConfig(scenario=path, target=target, users=6, iterations=1, progress=False,
                       timeout_s=10, local_ips=local_ips)
    return await run(config, load_scenario(path))


@pytest.mark.parametrize("transport", ["websocket", "http", "sse", "socketio"])
async def test_each_connection_comes_from_the_next_address(tmp_path: Path, transport: str
                                                           ) -> None:
    async with PeerLog() as server:
        results = await _run(tmp_path, SCENARIOS[transport], server.url,
                             ("127.0.0.2-127.0.0.4",))
    assert results["errors"] == {}, results["error_examples"]
    assert results["connections"]["succeeded"] == 6
    # six connections over three addresses, in turn: two each, and none from 127.0.0.1
    assert server.per_address() == dict.fromkeys(THREE, 2), server.connections


async def test_a_polling_session_keeps_one_address(tmp_path: Path) -> None:
    """aiohttp may open a second connection for a POST beside the pending GET: both come
    from the session's one address; the sessions take the addresses in turn."""
    async with PeerLog() as server:
        results = await _run(tmp_path, SCENARIOS["socketio-polling"], server.url, THREE)
    assert results["errors"] == {}, results["error_examples"]
    assert set(server.per_address()) == set(THREE)
    assert len(server.sessions) == 6
    assert all(len(addresses) == 1 for addresses in server.sessions.values())
    assert Counter(a for s in server.sessions.values() for a in s) == dict.fromkeys(THREE, 2)


async def test_without_a_list_nothing_changes(tmp_path: Path) -> None:
    async with PeerLog() as server:
        results = await _run(tmp_path, SCENARIOS["websocket"], server.url, ())
    assert results["errors"] == {}
    assert server.per_address() == {"127.0.0.1": 6}


def test_a_bad_list_is_one_line_and_exit_2_before_any_connection(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "scenario.py"
    path.write_text("import horde\n\n@horde.behaviour\nasync def go(user):"
                    + SCENARIOS["http"])
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        target = f"http://127.0.0.1:{listener.getsockname()[1]}"
        code = main(["run", str(path), "--target", target, "-q", "--no-history",
                     "--iterations", "1", "--local-ips", "127.0.0.9-127.0.0.2"])
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        "horde: error: --local-ips: bad item '127.0.0.9-127.0.0.2' (backwards: 127.0.0.2 "
        "is below 127.0.0.9); expected an address range (127.0.0.2-127.0.0.40), a CIDR "
        "(10.1.0.0/24) or an address"]


def _reuse_addr_of_sockets_from(address: str) -> list[int]:
    """SO_REUSEADDR of each of this process's TCP sockets bound to ``address``."""
    flags = []
    for name in os.listdir("/proc/self/fd"):
        try:
            sock = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue  # not a socket, or already gone
        with sock:
            if sock.family != socket.AF_INET or sock.type != socket.SOCK_STREAM:
                continue
            if sock.getsockname()[0] == address:
                flags.append(sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR))
    return flags


async def _open(kind: str, url: str) -> object:
    if kind == "websocket":
        return await WebSocketConnection.connect(url.replace("http", "ws") + "/ws",
                                                 recorder=Recorder())
    if kind == "socketio":
        return await SocketIOConnection.connect(url, recorder=Recorder())
    http = HttpClient(recorder=Recorder(), base_url=url)
    assert (await http.get("/echo")).status == 200  # the keep-alive connection stays open
    return http


@pytest.mark.parametrize("kind", ["websocket", "http", "socketio"])
def test_source_sockets_are_bound_without_so_reuseaddr(kind: str) -> None:
    """On uvloop, as a run is: libuv sets SO_REUSEADDR before every bind it makes, and
    with it the kernel hands out ports from a quarter of the range before searching all
    of it on every connect (bench/source_ports.py: ~6,000 quick connects per address
    instead of ~12,000). horde binds the sockets itself."""

    async def scenario() -> tuple[list[int], Counter[str]]:
        async with PeerLog() as server:
            with use_local_addresses(("127.0.0.5",)):
                conn = await _open(kind, server.url)
            try:
                return _reuse_addr_of_sockets_from("127.0.0.5"), server.per_address()
            finally:
                if isinstance(conn, SocketIOConnection):
                    await conn.disconnect()
                else:
                    await conn.close()  # type: ignore[attr-defined]

    flags, peers = uvloop.run(scenario())
    assert flags == [0]
    assert peers == {"127.0.0.5": 1}


def test_a_list_of_the_other_ip_version_than_the_targets_address_is_refused_before_load():
    with pytest.raises(ConfigError, match=r"IPv6 addresses for a target at 127.0.0.1 \(IPv4\)"):
        RunConfig(scenario=Path("s.py"), target="http://127.0.0.1:8000", local_ips=("::1",))
    with pytest.raises(ConfigError, match=r"IPv4 addresses for a target at ::1 \(IPv6\)"):
        check_target_version(("127.0.0.2-127.0.0.9",), "ws://[::1]:9000/ws")
    check_target_version(("::1",), "http://[::1]:80")  # the same version
    check_target_version(("::1",), "http://app.internal")  # a name: known when connecting
    check_target_version((), "http://127.0.0.1")  # no list
