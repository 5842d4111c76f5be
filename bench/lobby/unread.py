"""Each user joins the lobby once a second and never reads its teams_updated broadcasts."""

import horde


@horde.on_start
async def connect(user: horde.User) -> None:
    user.state.sio = await user.socketio()


@horde.behaviour
async def play(user: horde.User) -> None:
    await user.state.sio.emit("join", {})
    await user.state.sio.wait_for("joined", timeout=10)
    await user.think(1.0)
