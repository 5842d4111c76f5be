"""W2: open one WebSocket per user and hold it."""

import horde


@horde.on_start
async def connect(user: horde.User) -> None:
    user.state.ws = await user.websocket("/")


@horde.behaviour
async def hold(user: horde.User) -> None:
    await user.think(3600)
