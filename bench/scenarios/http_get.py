"""W3: each user loops GET / over its keep-alive connection."""

import horde


@horde.behaviour
async def get(user: horde.User) -> None:
    await user.http.get("/", name="index")
