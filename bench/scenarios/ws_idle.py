"""W2: open one WebSocket per user and hold it.

Every user connects at once (the harness's spawn rate is the user count), so the last of
100,000 waits for the generator to get through the others: far longer than horde's 10 s
default connect timeout on one core. The long timeout lets the run measure how fast they
open instead of failing the tail.
"""

import horde

CONNECT_TIMEOUT_S = 180.0


@horde.on_start
async def connect(user: horde.User) -> None:
    user.state.ws = await user.websocket("/", timeout=CONNECT_TIMEOUT_S)


@horde.behaviour
async def hold(user: horde.User) -> None:
    await user.think(3600)
