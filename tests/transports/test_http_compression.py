"""HTTP compression as browsers do it, against real aiohttp servers on 127.0.0.1.

The client asks for gzip and deflate, decodes what comes back (streamed bodies piece by
piece), and counts the body as the network carried it (compressed) beside its decoded
size."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from horde.errors import ProtocolError
from horde.metrics.recorder import Recorder
from horde.report.results import _bytes
from horde.sinks.console_summary import _bytes_line
from horde.transports.http import HttpClient

from .raw_server import start_app

PAGE = b"".join(b"<li>item %d of a long and very repetitive list</li>\n" % i for i in range(400))
PIECES = [b"data: {\"token\": \"word%d\"}\n\n" % i for i in range(20)]


class CompressingServer:
    """Replies gzipped (``/gzip``), deflated (``/deflate``), gzipped by aiohttp itself
    (``/auto``), as a gzip stream flushed piece by piece (``/stream``), with a body that
    is not what its header says (``/broken``); remembers each request's Accept-Encoding."""

    def __init__(self) -> None:
        self.accept: list[str | None] = []
        self.sizes: dict[str, int] = {}  # path -> compressed body bytes sent
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> CompressingServer:
        app = web.Application()
        app.add_routes([web.get("/gzip", self._gzip), web.get("/deflate", self._deflate),
                        web.get("/auto", self._auto), web.get("/stream", self._stream),
                        web.get("/broken", self._broken)])
        self._runner, port = await start_app(app)
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def _coded(self, request: web.Request, coding: str, body: bytes) -> web.Response:
        self.accept.append(request.headers.get("Accept-Encoding"))
        if coding not in (request.headers.get("Accept-Encoding") or ""):
            return web.Response(body=PAGE)
        self.sizes[request.path] = len(body)
        return web.Response(body=body, headers={"Content-Encoding": coding})

    async def _gzip(self, request: web.Request) -> web.Response:
        return self._coded(request, "gzip", gzip.compress(PAGE))

    async def _deflate(self, request: web.Request) -> web.Response:
        return self._coded(request, "deflate", zlib.compress(PAGE))

    async def _broken(self, request: web.Request) -> web.Response:
        return self._coded(request, "gzip", b"surely this is not gzip")

    async def _auto(self, request: web.Request) -> web.Response:
        self.accept.append(request.headers.get("Accept-Encoding"))
        response = web.Response(body=PAGE)
        response.enable_compression()
        return response

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        """An LLM-style stream: each piece compressed and flushed as it is written."""
        response = web.StreamResponse(headers={"Content-Encoding": "gzip"})
        await response.prepare(request)
        obj = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
        sent = 0
        for piece in PIECES:
            data = obj.compress(piece) + obj.flush(zlib.Z_SYNC_FLUSH)
            sent += len(data)
            await response.write(data)
            await asyncio.sleep(0.005)
        tail = obj.flush()
        sent += len(tail)
        await response.write(tail)
        self.sizes["/stream"] = sent
        await response.write_eof()
        return response


@pytest.fixture
async def server() -> AsyncIterator[CompressingServer]:
    async with CompressingServer() as srv:
        yield srv


@pytest.mark.parametrize("path", ["/gzip", "/deflate"])
async def test_compressed_body_decoded_and_counted_as_carried(
    server: CompressingServer, path: str
) -> None:
    recorder = Recorder()
    http = HttpClient(recorder=recorder, base_url=server.url)
    for _ in range(3):  # on one keep-alive connection
        response = await http.get(path)
        assert response.body == PAGE
    await http.close()
    assert server.accept == ["gzip, deflate"] * 3
    carried = server.sizes[path]
    assert carried < len(PAGE) // 4
    assert recorder.http.payload_received == 3 * carried
    assert recorder.http.payload_received + recorder.http.inflated_received == 3 * len(PAGE)
    # the network carried the compressed body: the kernel's count is below the page size
    assert recorder.http.connections == 1
    assert recorder.http.wire_received < len(PAGE)
    results = _bytes(recorder.traffic)
    assert results["payload_received"] == 3 * carried
    assert results["decoded_received"] == 3 * len(PAGE)
    assert results["by_protocol"]["http"]["decoded_received"] == 3 * len(PAGE)
    assert "payload, " in _bytes_line({"bytes": results})  # the summary shows both
    assert recorder.take_window().errors == {}


async def test_aiohttp_own_compression(server: CompressingServer) -> None:
    recorder = Recorder()
    http = HttpClient(recorder=recorder, base_url=server.url)
    response = await http.get("/auto")
    await http.close()
    assert response.body == PAGE
    assert response.headers["content-encoding"] in ("gzip", "deflate")
    assert 0 < recorder.http.payload_received < len(PAGE) // 4
    assert recorder.http.payload_received + recorder.http.inflated_received == len(PAGE)


async def test_opt_out_per_client_and_per_request(server: CompressingServer) -> None:
    recorder = Recorder()
    plain = HttpClient(recorder=recorder, base_url=server.url, decompress=False)
    assert (await plain.get("/gzip")).body == PAGE  # nothing asked, nothing compressed
    assert (await plain.get("/gzip", decompress=True)).body == PAGE  # asked, decoded
    await plain.close()
    http = HttpClient(recorder=recorder, base_url=server.url)
    assert (await http.get("/gzip", decompress=False)).body == PAGE
    # asked for gzip by hand but not decoding: the body as it came
    raw = await http.get("/gzip", decompress=False, headers={"Accept-Encoding": "gzip"})
    await http.close()
    assert raw.body == gzip.compress(PAGE) or gzip.decompress(raw.body) == PAGE
    assert server.accept == [None, "gzip, deflate", "identity", "gzip"]
    carried = server.sizes["/gzip"]
    assert recorder.http.payload_received == 2 * len(PAGE) + 2 * carried
    assert recorder.http.inflated_received == len(PAGE) - carried


async def test_streamed_body_decoded_piece_by_piece(server: CompressingServer) -> None:
    recorder = Recorder()
    http = HttpClient(recorder=recorder, base_url=server.url)
    result = await http.stream("GET", "/stream", name="tokens")
    await http.close()
    assert result.completed
    assert b"".join(result.chunks) == b"".join(PIECES)
    # each piece was flushed: the chunks come as the server wrote them, not at the end
    assert len(result.chunks) >= len(PIECES) // 2
    carried = server.sizes["/stream"]
    assert recorder.http.payload_received == carried
    assert recorder.http.payload_received + recorder.http.inflated_received == sum(
        map(len, PIECES))


async def test_a_body_that_does_not_decode_is_a_protocol_error(
    server: CompressingServer,
) -> None:
    recorder = Recorder()
    http = HttpClient(recorder=recorder, base_url=server.url)
    with pytest.raises(ProtocolError):
        await http.get("/broken")
    assert (await http.get("/gzip")).body == PAGE  # a fresh connection: the next one works
    await http.close()
    errors = recorder.take_window().errors
    assert errors == {("protocol_error", "content_coding"): 1}
