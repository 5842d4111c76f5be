"""A lobby that broadcasts teams_updated to everyone, RATE times a second (for a bench).

    python bench/lobby/server.py PORT RATE
    horde run bench/lobby/unread.py --target http://127.0.0.1:PORT --users 100 -d 40s
"""
import asyncio
import sys

import socketio
from aiohttp import web

RATE = float(sys.argv[2])
sio = socketio.AsyncServer(async_mode="aiohttp")
app = web.Application()
sio.attach(app)
state = {"teams": [f"team-{i}" for i in range(20)]}

@sio.on("join")
async def join(sid, data=None):
    await sio.emit("joined", {"ok": True}, to=sid)

async def lobby(app):
    async def loop():
        n = 0
        while True:
            n += 1
            await sio.emit("teams_updated", {"n": n, **state})
            await asyncio.sleep(1 / RATE)
    task = asyncio.ensure_future(loop())
    yield
    task.cancel()

app.cleanup_ctx.append(lobby)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
