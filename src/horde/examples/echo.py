"""Echo: every protocol horde speaks, against the built-in echo server.

    horde demo echo                      # starts the server and runs this file
    horde run examples/echo.py --target http://127.0.0.1:8000 --users 50 --duration 20s

Each user keeps one WebSocket and one Socket.IO connection open and, in a loop, picks a
behaviour by weight: a WebSocket request→reply, a Socket.IO emit-with-ack, or an HTTP GET.
"""

import horde

NAME = "echo"


@horde.on_start
async def connect(user: horde.User) -> None:
    user.state.ws = await user.websocket("/ws", codec=horde.JSON, event_key=lambda m: m.get("type"))
    user.state.sio = await user.socketio()
    user.state.seq = 0


@horde.behaviour(weight=3)
async def websocket_echo(user: horde.User) -> None:
    user.state.seq += 1
    seq = user.state.seq
    reply = await user.state.ws.request(
        {"type": "ping", "seq": seq}, name="echo", match=lambda m: m.get("seq") == seq
    )
    user.check(reply["type"] == "ping", "ws echo intact")
    await user.think(horde.uniform(0.05, 0.15))


@horde.behaviour(weight=2)
async def socketio_echo(user: horde.User) -> None:
    reply = await user.state.sio.call("echo", {"hello": user.id}, name="echo")
    user.check(reply == {"hello": user.id}, "sio ack intact")
    await user.think(horde.uniform(0.05, 0.15))


@horde.behaviour(weight=1)
async def http_echo(user: horde.User) -> None:
    response = await user.http.get("/echo", params={"user": user.id}, name="/echo")
    user.check(response.status == 200, "http 200")
    await user.think(horde.uniform(0.05, 0.15))
