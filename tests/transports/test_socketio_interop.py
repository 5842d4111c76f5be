"""SocketIOConnection against Node's socket.io 4 server (``tests/interop``), every transport.

The server runs as a child process for this module; ``npm ci --prefix tests/interop``
installs it (``make test`` does). Without it these tests skip and say so.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .socketio_contract import SocketIOContract
from .socketio_servers import NodeSocketIOServer, node_missing_reason

# one xdist worker runs the whole module, so its module fixture (Node's server) runs once
pytestmark = [pytest.mark.interop, pytest.mark.timeout(15), pytest.mark.xdist_group("node_sio")]


@pytest.fixture(scope="module")
def node_server() -> Iterator[NodeSocketIOServer]:
    reason = node_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    srv = NodeSocketIOServer().start()
    try:
        yield srv
    finally:
        srv.stop()


class TestNodeSocketIOServer(SocketIOContract):
    @pytest.fixture
    def server(self, node_server: NodeSocketIOServer) -> NodeSocketIOServer:
        return node_server
