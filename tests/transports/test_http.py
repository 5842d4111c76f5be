"""HttpClient against real servers on 127.0.0.1, judged by what the Recorder counted."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvloop

from horde.errors import (
    DnsError,
    OperationTimeoutError,
    PeerClosedError,
    ProtocolError,
    TargetRefusedError,
    TlsError,
)
from horde.metrics.names import HTTP_CONNECT, HTTP_REQ, HTTP_TTFB
from horde.metrics.recorder import Recorder
from horde.transports.http import HttpClient

from .http_servers import (
    AiohttpServer,
    ok,
    read_request,
    self_signed_cert,
    server_ssl_context,
)
from .raw_server import RawServer

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
async def server() -> AsyncIterator[AiohttpServer]:
    async with AiohttpServer() as srv:
        yield srv


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(server: AiohttpServer, recorder: Recorder) -> AsyncIterator[HttpClient]:
    http = HttpClient(recorder=recorder, base_url=server.url)
    yield http
    await http.close()


def count(recorder_window, metric: str, name: str | None) -> int:
    hist = recorder_window.latencies.get((metric, name))
    return 0 if hist is None else hist.get_total_count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_get_and_post_json_round_trip(client: HttpClient, recorder: Recorder) -> None:
    response = await client.get("/json")
    assert response.status == 200 and response.ok
    assert response.json() == {"hello": "world", "path": "/json"}
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.url.endswith("/json") and response.elapsed_ms > 0

    posted = await client.post("/echo", json={"a": [1, 2]})
    echo = posted.json()
    assert echo["body"] == '{"a":[1,2]}' and echo["content_type"] == "application/json"

    w = recorder.take_window()
    assert count(w, HTTP_REQ, "/json") == count(w, HTTP_TTFB, "/json") == 1
    assert count(w, HTTP_REQ, "/echo") == 1 and count(w, HTTP_CONNECT, None) == 1
    assert w.errors == {}
    # payload: the bodies; the wire (headers and all) is read from the kernel at the close
    assert w.bytes_sent == len('{"a":[1,2]}')
    assert w.bytes_received == len(response.body) + len(posted.body)
    assert recorder.in_flight == 0 and recorder.open_connections == 1
    await client.close()
    await asyncio.sleep(0.05)  # connection_lost runs on the next loop turn
    wire = recorder.http
    assert wire.connections == 1
    assert wire.wire_sent > 100 + w.bytes_sent and wire.wire_received > w.bytes_received + 100


async def test_headers_params_and_text_body(server: AiohttpServer, recorder: Recorder) -> None:
    http = HttpClient(recorder=recorder, base_url=server.url, headers={"Authorization": "t0"})
    try:
        response = await http.get(
            "/echo?z=0", params={"a": 1, "b": ["x", "y"]}, headers={"X-Test": "yes"}
        )
        echo = response.json()
        assert echo["query"] == [["z", "0"], ["a", "1"], ["b", "x"], ["b", "y"]]
        assert response.url == f"{server.url}/echo?z=0&a=1&b=x&b=y"
        assert echo["headers"]["X-Test"] == "yes" and echo["headers"]["Authorization"] == "t0"
        assert echo["headers"]["User-Agent"].startswith("horde/")
        override = (await http.get("/echo", headers={"authorization": "t1"})).json()
        assert override["headers"]["Authorization"] == "t1"
        put = (await http.put("/echo", data="plain")).json()
        assert put["method"] == "PUT" and put["body"] == "plain"
        assert put["content_type"].startswith("text/plain")
    finally:
        await http.close()
    assert recorder.take_window().errors == {}


async def test_cookies_set_by_login_sent_back_and_deleted(client: HttpClient) -> None:
    assert (await client.get("/whoami")).json() == {"cookies": {}}
    await client.post("/login")
    assert client.cookies.get("sid") == "abc123"
    assert (await client.get("/whoami")).json() == {"cookies": {"sid": "abc123", "theme": "dark"}}
    await client.post("/logout")  # Max-Age=0
    assert client.cookies.get("sid") is None
    assert (await client.get("/whoami")).json() == {"cookies": {"theme": "dark"}}


async def test_keep_alive_reuses_one_connection(
    client: HttpClient, server: AiohttpServer, recorder: Recorder
) -> None:
    for _ in range(50):
        assert (await client.get("/json")).status == 200
    assert server.requests == 50 and len(server.peers) == 1
    assert recorder.connections.attempted == recorder.connections.succeeded == 1
    assert count(recorder.take_window(), HTTP_REQ, "/json") == 50
    await client.close()
    assert recorder.open_connections == 0 and recorder.connections.dropped == 0


async def test_head_and_options_keep_the_connection(
    client: HttpClient, server: AiohttpServer
) -> None:
    head = await client.head("/json")
    assert head.status == 200 and head.body == b"" and int(head.headers["content-length"]) > 0
    assert (await client.get("/json")).json()["hello"] == "world"
    assert (await client.options("/json")).status == 405
    assert (await client.delete("/json")).status == 405
    assert len(server.peers) == 1


async def test_named_requests_share_one_name(client: HttpClient, recorder: Recorder) -> None:
    await client.get("/rooms/1/poll", name="poll")
    await client.get("/rooms/2/poll?since=3", name="poll")
    await client.get("/rooms/3/poll?since=4")
    w = recorder.take_window()
    assert count(w, HTTP_REQ, "poll") == 2 and count(w, HTTP_TTFB, "poll") == 2
    assert count(w, HTTP_REQ, "/rooms/3/poll") == 1  # unnamed: the path, no query


async def test_chunked_body(client: HttpClient) -> None:
    response = await client.get("/chunked/50")
    assert response.body == b"".join(b"part%d;" % i for i in range(50))
    assert response.headers["transfer-encoding"] == "chunked"
    assert (await client.get("/json")).status == 200  # connection still usable


async def test_close_delimited_body(recorder: Recorder) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of ")
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(b"it, until close")

    async with RawServer(script) as srv:
        http = HttpClient(recorder=recorder, base_url=srv.url)
        assert (await http.get("/")).text == "all of it, until close"
        assert (await http.get("/")).text == "all of it, until close"
        await http.close()
    assert srv.connections == 2
    assert recorder.take_window().errors == {}
    assert recorder.connections.dropped == 0 and recorder.open_connections == 0


async def test_error_statuses_counted_and_returned(client: HttpClient, recorder: Recorder) -> None:
    assert (await client.get("/status/503")).status == 503
    r429 = await client.get("/status/429")
    assert r429.status == 429 and not r429.ok and r429.text == "status"
    assert (await client.get("/status/503")).ok is False
    allowed = await client.get("/status/404", ok_status={404})
    assert allowed.ok
    assert (await client.get("/status/204")).ok
    w = recorder.take_window()
    assert w.errors == {("http_503", None): 2, ("http_429", None): 1}
    assert count(w, HTTP_REQ, "/status/503") == 2  # still timed
    assert "http_503" in recorder.error_examples


async def test_connection_refused(recorder: Recorder) -> None:
    http = HttpClient(recorder=recorder, base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TargetRefusedError):
        await http.get("/")
    w = recorder.take_window()
    assert w.errors == {("connection_refused", None): 1}
    assert recorder.connections.attempted == recorder.connections.failed == 1
    assert recorder.in_flight == 0 and recorder.open_connections == 0


async def test_refused_on_every_address_of_a_name(recorder: Recorder) -> None:
    http = HttpClient(recorder=recorder, base_url=f"http://localhost:{free_port()}")
    with pytest.raises(TargetRefusedError):
        await http.get("/")


async def test_dns_failure(recorder: Recorder) -> None:
    http = HttpClient(recorder=recorder, timeout=5)
    with pytest.raises(DnsError):
        await http.get("http://nonexistent.invalid/")
    assert recorder.take_window().errors == {("dns_failure", None): 1}
    assert recorder.connections.failed == 1


async def test_tls_untrusted_then_trusted(tmp_path: Path, recorder: Recorder) -> None:
    cert, key = self_signed_cert(tmp_path)
    async with AiohttpServer(server_ssl_context(cert, key)) as srv:
        untrusting = HttpClient(recorder=recorder, base_url=srv.url)
        with pytest.raises(TlsError):
            await untrusting.get("/json")
        assert recorder.take_window().errors == {("tls_error", None): 1}

        trusting = HttpClient(
            recorder=recorder,
            base_url=srv.url,
            ssl_context=ssl.create_default_context(cafile=str(cert)),
        )
        for _ in range(3):
            assert (await trusting.get("/json")).json()["hello"] == "world"
        await trusting.close()
        w = recorder.take_window()
        assert w.errors == {} and count(w, HTTP_CONNECT, None) == 1
        assert count(w, HTTP_REQ, "/json") == 3 and len(srv.peers) == 1
    assert recorder.open_connections == 0


async def test_connect_timeout_during_a_stalled_tls_handshake(recorder: Recorder) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2)  # accepts TCP, never answers the ClientHello

    async with RawServer(script) as srv:
        http = HttpClient(recorder=recorder, timeout=0.2)
        with pytest.raises(OperationTimeoutError):
            await http.get(f"https://127.0.0.1:{srv.port}/")
    assert recorder.take_window().errors == {("timeout", "http_connect"): 1}
    assert recorder.connections.failed == 1 and recorder.open_connections == 0


async def test_response_timeout(client: HttpClient, recorder: Recorder) -> None:
    with pytest.raises(OperationTimeoutError):
        await client.get("/delay/1000", timeout=0.2)
    w = recorder.take_window()
    assert w.errors == {("timeout", "/delay/1000"): 1} and count(w, HTTP_REQ, "/delay/1000") == 0
    assert recorder.open_connections == 0 and recorder.connections.dropped == 0
    assert (await client.get("/json")).status == 200  # a new connection takes over


async def test_one_timer_per_connection_not_per_request(
    client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    armed: list[float] = []
    call_at = loop.call_at
    monkeypatch.setattr(loop, "call_at", lambda when, *a, **k: armed.append(when)
                        or call_at(when, *a, **k))
    for _ in range(20):
        assert (await client.get("/json")).status == 200
    # the connect's timeout, the connection's one timer, the server's keep-alive (same loop)
    assert len(armed) <= 4


async def test_timeout_on_a_connection_that_answered_before(client: HttpClient) -> None:
    assert (await client.get("/json", timeout=5)).status == 200  # its timer: in 5 s
    with pytest.raises(OperationTimeoutError):  # an earlier deadline moves the timer forward
        await client.get("/delay/1000", timeout=0.2)
    assert (await client.get("/json", timeout=0.2)).status == 200  # its timer: in 0.2 s
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(OperationTimeoutError):  # that timer fires early, and waits on
        await client.get("/delay/2000", timeout=0.6)
    assert loop.time() - began >= 0.55


async def test_plain_request_bytes_made_once_until_headers_or_cookies_change(
    client: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    encode = client._encode
    made: list[str] = []
    monkeypatch.setattr(client, "_encode", lambda m, u, *a: made.append(u.path) or encode(m, u, *a))
    for _ in range(5):
        assert "X-T" not in (await client.get("/echo")).json()["headers"]
    assert made == ["/echo"]
    client.headers["X-T"] = "1"
    assert (await client.get("/echo")).json()["headers"]["X-T"] == "1"
    await client.post("/login")
    assert (await client.get("/echo")).json()["headers"]["Cookie"] == "sid=abc123; theme=dark"
    del client.headers["X-T"]
    assert "X-T" not in (await client.get("/echo")).json()["headers"]
    assert made == ["/echo", "/echo", "/login", "/echo", "/echo"]


async def test_drop_mid_body_is_closed_by_peer(recorder: Recorder) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly a little")
        await writer.drain()
        writer.transport.abort()

    async with RawServer(script) as srv:
        http = HttpClient(recorder=recorder, base_url=srv.url)
        with pytest.raises(PeerClosedError):
            await http.get("/")
    assert srv.connections == 1  # bytes were received: never retried
    assert recorder.take_window().errors == {("closed_by_peer", None): 1}
    assert recorder.connections.dropped == 1 and recorder.open_connections == 0


async def test_malformed_status_line_is_protocol_error(recorder: Recorder) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 OK-ish\r\n\r\n")
        await asyncio.sleep(1)

    async with RawServer(script) as srv:
        http = HttpClient(recorder=recorder, base_url=srv.url)
        with pytest.raises(ProtocolError):
            await http.get("/")
    assert recorder.take_window().errors == {("protocol_error", None): 1}
    assert recorder.open_connections == 0 and recorder.connections.dropped == 0


async def test_stale_keep_alive_is_retried_once(recorder: Recorder) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ok(b"first"))
        await read_request(reader)  # second request on this connection: hang up silently

    async with RawServer(script) as srv:
        http = HttpClient(recorder=recorder, base_url=srv.url)
        assert (await http.get("/")).body == b"first"
        assert (await http.post("/", data=b"x")).body == b"first"  # retried: reused + stale
        await http.close()
    assert srv.connections == 2
    assert recorder.take_window().errors == {} and recorder.connections.dropped == 0


async def test_idle_connection_closed_by_server_is_a_clean_close(recorder: Recorder) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(ok())  # a keep-alive reply, then the server hangs up on the idle connection

    async with RawServer(script) as srv:
        http = HttpClient(recorder=recorder, base_url=srv.url)
        for _ in range(3):
            assert (await http.get("/")).ok
            await asyncio.sleep(0.1)
        await http.close()
    assert srv.connections == 3 and recorder.take_window().errors == {}
    assert recorder.connections.dropped == 0 and recorder.open_connections == 0


async def test_cancelled_request_drops_its_connection(
    client: HttpClient, recorder: Recorder
) -> None:
    task = asyncio.create_task(client.get("/delay/1000"))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert recorder.in_flight == 0 and recorder.open_connections == 0
    assert recorder.take_window().errors == {}
    assert (await client.get("/json")).ok


async def test_fresh_connection_closed_before_reply_is_not_retried_for_post(
    recorder: Recorder,
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)

    async with RawServer(script) as srv:
        http = HttpClient(recorder=recorder, base_url=srv.url)
        with pytest.raises(PeerClosedError):
            await http.post("/", json={})
        assert srv.connections == 1
        with pytest.raises(PeerClosedError):
            await http.get("/")  # idempotent: retried once, then given up
        assert srv.connections == 3
    assert recorder.take_window().errors == {("closed_by_peer", None): 2}


async def test_redirects_only_when_asked(client: HttpClient, recorder: Recorder) -> None:
    assert (await client.get("/redirect/2")).status == 302
    followed = await client.get("/redirect/3", follow_redirects=True)
    assert followed.status == 200 and followed.url.endswith("/json")
    with pytest.raises(ProtocolError):
        await client.get("/redirect/6", follow_redirects=True)
    assert recorder.take_window().errors == {("protocol_error", "too_many_redirects"): 1}


async def test_delayed_reply_measured_precisely(client: HttpClient, recorder: Recorder) -> None:
    await client.get("/json")  # connect first: the delay samples measure the reply only
    recorder.take_window()
    for _ in range(5):
        await client.get("/delay/200", name="slow")
    w = recorder.take_window()
    p50 = w.latencies[(HTTP_REQ, "slow")].get_value_at_percentile(50)
    assert abs(p50 - 200_000) <= 5_000, p50


async def test_pool_cap_queues_concurrent_requests(server: AiohttpServer) -> None:
    recorder = Recorder()
    http = HttpClient(recorder=recorder, base_url=server.url, max_connections_per_host=2)
    responses = await asyncio.gather(*(http.get("/delay/20") for _ in range(10)))
    assert [r.status for r in responses] == [200] * 10
    assert recorder.connections.attempted == 2 and len(server.peers) == 2
    assert recorder.peak_in_flight == 12  # the 10 requests and the 2 connects they waited on
    await http.close()


async def test_many_concurrent_clients(server: AiohttpServer) -> None:
    recorder = Recorder()
    clients = [HttpClient(recorder=recorder, base_url=server.url) for _ in range(100)]

    async def user(http: HttpClient) -> None:
        for _ in range(20):
            await http.get("/json")

    await asyncio.gather(*(user(c) for c in clients))
    w = recorder.take_window()
    assert w.errors == {}
    assert server.requests == count(w, HTTP_REQ, "/json") == 2000
    assert recorder.connections.succeeded == 100 == len(server.peers)
    await asyncio.gather(*(c.close() for c in clients))
    assert recorder.open_connections == 0 and recorder.in_flight == 0


def test_works_on_uvloop(tmp_path: Path) -> None:
    """The same client on uvloop's transports: keep-alive, close-delimited, TLS, failures."""
    recorder = Recorder()
    cert, key = self_signed_cert(tmp_path)

    async def scenario() -> None:
        async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\n\r\nclosed")

        async with AiohttpServer() as srv, RawServer(script) as raw:
            http = HttpClient(recorder=recorder, base_url=srv.url)
            for _ in range(10):
                assert (await http.get("/json")).json()["hello"] == "world"
            assert (await http.get(raw.url)).body == b"closed"
            await http.close()
            assert len(srv.peers) == 1
        async with AiohttpServer(server_ssl_context(cert, key)) as tls:
            with pytest.raises(TlsError):
                await HttpClient(recorder=recorder).get(f"{tls.url}/json")
            trusting = ssl.create_default_context(cafile=str(cert))
            http = HttpClient(recorder=recorder, base_url=tls.url, ssl_context=trusting)
            assert (await http.get("/json")).status == 200
            await http.close()
        with pytest.raises(TargetRefusedError):
            await HttpClient(recorder=recorder).get(f"http://127.0.0.1:{free_port()}/")
        with pytest.raises(DnsError):
            await HttpClient(recorder=recorder).get("http://nonexistent.invalid/")

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())
    w = recorder.take_window()
    assert w.errors == {
        ("connection_refused", None): 1,
        ("tls_error", None): 1,
        ("dns_failure", None): 1,
    }
    assert count(w, HTTP_REQ, "/json") == 11 and recorder.open_connections == 0
