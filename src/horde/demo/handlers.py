"""Small handlers and helpers every demo server uses."""

from __future__ import annotations

from typing import Any

from aiohttp import web


async def health(request: web.Request) -> web.Response:
    """``GET /health``: the server is up (what launchers and tests poll)."""
    return web.Response(text="ok")


async def send_json(ws: web.WebSocketResponse, message: dict[str, Any]) -> bool:
    """Send ``message`` unless the client is gone; False when it could not be sent (a
    client that left mid-stream is normal under load, not a server error)."""
    if ws.closed:
        return False
    try:
        await ws.send_json(message)
    except ConnectionResetError:
        return False
    return True
