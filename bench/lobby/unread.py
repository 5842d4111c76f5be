"""Each user joins the lobby once a second and never reads its teams_updated broadcasts."""

import horde


@horde.behaviour
async def play(user):
    sio = user.state.__dict__.get("sio") or await user.socketio()
    user.state.sio = sio
    await sio.emit("join", {})
    await sio.wait_for("joined", timeout=10)
    await user.think(1.0)
