"""What the transports share: small future and error helpers. One copy each, so a fix
lands in every transport at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


def settle(fut: asyncio.Future[None] | None, exc: BaseException | None = None) -> None:
    """Resolve ``fut`` (or fail it with ``exc``) unless nobody waits or it is done."""
    if fut is not None and not fut.done():
        if exc is None:
            fut.set_result(None)
        else:
            fut.set_exception(exc)


HANDSHAKE_CUT = ("the server closed the connection during the WebSocket handshake, without "
                 "answering the upgrade (a subprotocol or path it refuses?)")
"""Why a WebSocket connect failed when the socket closed before the server answered."""

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
