"""SIO: each user loops emit-with-ack 'echo' with a 64-byte payload (as the peers do)."""

import horde

PAYLOAD = {"msg": "x" * 64}


@horde.on_start
async def connect(user: horde.User) -> None:
    user.state.sio = await user.socketio()


@horde.behaviour
async def echo(user: horde.User) -> None:
    await user.state.sio.call("echo", PAYLOAD, name="echo")
