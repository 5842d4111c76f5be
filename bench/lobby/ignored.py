"""The same, with the broadcasts ignored from the first one (counted, never queued)."""

import horde


@horde.on_start
async def connect(user: horde.User) -> None:
    user.state.sio = await user.socketio(ignore=("teams_updated",))


@horde.behaviour
async def play(user: horde.User) -> None:
    await user.state.sio.emit("join", {})
    await user.state.sio.wait_for("joined", timeout=10)
    await user.think(1.0)
