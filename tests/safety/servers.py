"""Servers for the safety tests: a victim that counts every connection it is offered, and
a front server on 127.0.0.1 whose redirects point at the victim."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web
from tests.transports.raw_server import start_app

VICTIM_HOST = "127.0.0.2"  # another loopback address: a different host to the policy


class Victim:
    """A TCP server on 127.0.0.2 that only counts: connections accepted, bytes received."""

    def __init__(self) -> None:
        self.connections = 0
        self.received = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    def url(self, scheme: str = "http", path: str = "/") -> str:
        return f"{scheme}://{VICTIM_HOST}:{self.port}{path}"

    async def __aenter__(self) -> Victim:
        self._server = await asyncio.start_server(self._handle, VICTIM_HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        data = await reader.read(65536)
        self.received += len(data)
        writer.close()


async def _ok(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


class Front:
    """aiohttp on 127.0.0.1: ``/ok`` answers, ``/go`` and ``/socket.io/`` redirect to
    the victim (an HTTP hop and an Engine.IO polling hop)."""

    def __init__(self, victim: Victim) -> None:
        self.victim = victim
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> Front:
        app = web.Application()
        app.router.add_get("/ok", _ok)
        app.router.add_get("/go", self._redirect)
        app.router.add_get("/socket.io/", self._redirect)
        self._runner, self.port = await start_app(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _redirect(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(self.victim.url(path=request.path_qs))


@contextlib.contextmanager
def tls_echo_server(cert: Path, key: Path) -> Iterator[int]:
    """The echo demo app over TLS in a thread of its own (so an in-process ``horde run``,
    which owns its event loop, can use it); yields the port."""
    from horde.demo.echo import build_app

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    loop = asyncio.new_event_loop()
    started: concurrent.futures.Future[tuple[web.AppRunner, int]] = concurrent.futures.Future()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            started.set_result(loop.run_until_complete(start_app(build_app(), context)))
        except BaseException as exc:  # pragma: no cover - shown by the test's failure
            started.set_exception(exc)
            return
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    runner, port = started.result(timeout=20)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
