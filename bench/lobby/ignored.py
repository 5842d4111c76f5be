"""The same, with the broadcasts ignored from the first one (counted, never queued)."""

import horde


@horde.behaviour
async def play(user):
    sio = user.state.__dict__.get("sio") or await user.socketio(ignore=("teams_updated",))
    user.state.sio = sio
    await sio.request("join", {}, reply="joined")
    await user.think(1.0)
