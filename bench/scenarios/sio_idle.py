"""SIO idle: connect one Socket.IO client per user and hold it."""

import horde


@horde.on_start
async def connect(user: horde.User) -> None:
    user.state.sio = await user.socketio()


@horde.behaviour
async def hold(user: horde.User) -> None:
    await user.think(3600)
