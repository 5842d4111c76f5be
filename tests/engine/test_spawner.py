import asyncio

from horde.engine.spawner import spawn, start_offsets


def test_offsets_follow_the_rate():
    assert list(start_offsets(4, 2.0)) == [0.0, 0.5, 1.0, 1.5]
    assert list(start_offsets(0, 5.0)) == []


async def test_spawn_starts_users_at_their_offsets():
    loop = asyncio.get_running_loop()
    started: list[tuple[int, float]] = []
    t0 = loop.time()
    await spawn(5, 20.0, lambda i: started.append((i, loop.time() - t0)), loop.time)
    assert [i for i, _ in started] == [0, 1, 2, 3, 4]
    for i, at in started:
        assert at >= i / 20.0 - 0.001
        assert at < i / 20.0 + 0.05
