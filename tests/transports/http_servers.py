"""Real in-process HTTP servers for the HTTP client tests, with fault injection.

* :class:`AiohttpServer` — a well-behaved aiohttp app on 127.0.0.1:<free port> that counts
  requests and the client connections they came on; the path picks the behaviour.
* :class:`RawServer` — a bare asyncio server running a script per connection, for what
  a real server would never send: garbage, half a body, a silent hang-up.
* :func:`self_signed_cert` — a throw-away certificate for the https tests.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from .raw_server import start_app


class AiohttpServer:
    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.requests = 0
        self.peers: set[tuple[str, int]] = set()
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        host = "localhost" if self.ssl_context else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}"

    async def __aenter__(self) -> AiohttpServer:
        app = web.Application(middlewares=[self._count])
        routes = [
            web.get("/json", self._json),
            web.post("/echo", self._echo),
            web.put("/echo", self._echo),
            web.get("/echo", self._echo),
            web.post("/login", self._login),
            web.get("/whoami", self._whoami),
            web.post("/logout", self._logout),
            web.get("/rooms/{room}/poll", self._json),
            web.get("/chunked/{n}", self._chunked),
            web.get("/status/{code}", self._status),
            web.get("/delay/{ms}", self._delay),
            web.get("/redirect/{n}", self._redirect),
        ]
        app.add_routes(routes)
        self._runner, self.port = await start_app(app, self.ssl_context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    @web.middleware
    async def _count(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        self.requests += 1
        assert request.transport is not None
        self.peers.add(request.transport.get_extra_info("peername"))
        return await handler(request)

    async def _json(self, request: web.Request) -> web.Response:
        return web.json_response({"hello": "world", "path": request.path})

    async def _echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response(
            {
                "method": request.method,
                "query": [[k, v] for k, v in request.query.items()],
                "headers": dict(request.headers),
                "body": body.decode(),
                "content_type": request.headers.get("Content-Type"),
            }
        )

    async def _login(self, request: web.Request) -> web.Response:
        response = web.json_response({"ok": True})
        response.set_cookie("sid", "abc123", path="/")
        response.set_cookie("theme", "dark", path="/")
        return response

    async def _whoami(self, request: web.Request) -> web.Response:
        return web.json_response({"cookies": dict(request.cookies)})

    async def _logout(self, request: web.Request) -> web.Response:
        response = web.json_response({"ok": True})
        response.del_cookie("sid", path="/")
        return response

    async def _chunked(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i in range(int(request.match_info["n"])):
            await response.write(f"part{i};".encode())
        await response.write_eof()
        return response

    async def _status(self, request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    async def _delay(self, request: web.Request) -> web.Response:
        await asyncio.sleep(int(request.match_info["ms"]) / 1000)
        return web.Response(text="late")

    async def _redirect(self, request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        location = f"/redirect/{n - 1}" if n > 1 else "/json"
        raise web.HTTPFound(location)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request head (and its Content-Length body) off the wire."""
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":")[1]))
    return head


def ok(body: bytes = b"ok") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A one-day certificate for localhost (and 127.0.0.1) and its key."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-days", "1", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def server_ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def dumps(value: object) -> bytes:
    return json.dumps(value).encode()
