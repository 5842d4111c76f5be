"""What the transports share: picows' logger and source sockets, small future and
handshake helpers. One copy each, so a fix lands in every transport at once."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from picows import WSTransport
from picows.url import WSParsedURL

from horde.transports.local_addresses import connect_from, local_addr

# A LoggerAdapter (not a Logger) stops picows from creating a child Logger per connection.
PICOWS_LOG = logging.LoggerAdapter(logging.getLogger("horde.transports.picows"), {})


def picows_socket() -> Callable[[WSParsedURL], Awaitable[socket.socket]] | None:
    """``ws_connect(socket_factory=...)`` for the next ``--local-ips`` source address: a
    socket horde binds and connects itself (``connect_from``: no ``SO_REUSEADDR``); None
    without a list, so picows connects as usual."""
    source = local_addr()
    if source is None:
        return None
    return lambda url: connect_from(source, url.host, url.port)


def settle(fut: asyncio.Future[None] | None, exc: BaseException | None = None) -> None:
    """Resolve ``fut`` (or fail it with ``exc``) unless nobody waits or it is done."""
    if fut is not None and not fut.done():
        if exc is None:
            fut.set_result(None)
        else:
            fut.set_exception(exc)


def forget_handshake(transport: WSTransport) -> None:
    """Drop the handshake's header maps that picows keeps for the connection's whole life.

    Two CIMultiDicts per connection that nothing reads after the upgrade: 1.6 KB of every
    idle connection, measured holding 10,000 of them (docs/benchmarks.md).
    """
    for message in (transport.request, transport.response):
        if message is not None:
            message.headers = None
    if transport.response is not None:
        transport.response.body = None


HANDSHAKE_CUT = ("the server closed the connection during the WebSocket handshake, without "
                 "answering the upgrade (a subprotocol or path it refuses?)")
"""Why a connect failed when picows returned no listener: the socket closed unanswered."""

ERROR_DETAIL_CHARS = 80  # the detail keys the error counters: short, so few distinct ones


def error_detail(data: object, describe: Callable[[Any], object] | None = None) -> str:
    """What an application's error message says, as an ``app_error`` detail: what the
    scenario's ``describe(data)`` returns (its ``error_detail=``), else the ``message``
    field when it is a dict with one (the first argument, for several), else its text;
    cut to :data:`ERROR_DETAIL_CHARS`. The detail keys a counter, so it must name the
    kind of error, not the message (a unique id in every error made one row each)."""
    if describe is not None:
        text = str(describe(data))
    else:
        if isinstance(data, tuple) and data:
            data = data[0]
        message = data.get("message") if isinstance(data, dict) else None
        text = str(data if message is None else message)
    return text if len(text) <= ERROR_DETAIL_CHARS else text[:ERROR_DETAIL_CHARS - 1] + "…"
