"""W1 with JSON decoding and a correlation predicate (what Artillery's `match` does)."""

import horde

MSG = {"type": "ping", "seq": 12345, "d": "abcdef"}


@horde.on_start
async def connect(user: horde.User) -> None:
    user.state.ws = await user.websocket("/", codec=horde.JSON)


@horde.behaviour
async def echo(user: horde.User) -> None:
    await user.state.ws.request(MSG, name="echo", match=lambda m: m["type"] == "ping")
