"""W1: each user keeps one WebSocket and loops send 40-byte JSON → wait for the echo.

A normal horde scenario: the reply is timed under a name (``ws_reply:echo``).
"""

import horde

MSG = '{"type":"ping","seq":12345,"d":"abcdef"}'


@horde.on_start
async def connect(user: horde.User) -> None:
    user.state.ws = await user.websocket("/")


@horde.behaviour
async def echo(user: horde.User) -> None:
    await user.state.ws.request(MSG, name="echo")
