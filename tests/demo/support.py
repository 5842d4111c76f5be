"""One way for the demo-server tests to run a demo in-process on a real socket."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp.test_utils import TestServer

from horde.demo.serve import build, options_for


@contextlib.asynccontextmanager
async def demo_app(name: str, *faults: str, **settings: object) -> AsyncIterator[str]:
    """Demo ``name`` in-process on 127.0.0.1 with these faults and settings; its base URL."""
    options = options_for(name, faults, [f"{k}={v}" for k, v in settings.items()])
    server = TestServer(build(name, options), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
