"""Soak: each user keeps one WebSocket and sends a JSON message every second, on a
fixed schedule, waiting for each echo (``bench/soak.py`` runs 2,000 of them for 30 min)."""

import horde

MSG = '{"type":"tick","d":"abcdefghijklmnop"}'


@horde.on_start
async def connect(user: horde.User) -> None:
    user.state.ws = await user.websocket("/ws")


@horde.behaviour
async def tick(user: horde.User) -> None:
    async with user.paced(1.0, "tick"):
        await user.state.ws.request(MSG, name="tick")
