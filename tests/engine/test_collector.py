"""Full collections held while a run's users grow, on a fake clock.

``pace_full_collections`` reads the size every ``CHECK_S`` of the loop's clock; under
looptime that clock moves only when every task waits, so each check here sees exactly
the size the test set before it. Full collections are counted with ``gc.callbacks``.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from horde.config.model import RunConfig
from horde.engine.collector import CHECK_S, GAP_S, HELD, pace_full_collections
from horde.engine.runner import run
from horde.scenario.loader import load_scenario


@pytest.fixture
def full_collections() -> Iterator[list[float]]:
    """The loop times of the full collections run while the test runs."""
    seen: list[float] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            try:
                seen.append(asyncio.get_running_loop().time())
            except RuntimeError:  # a collection outside the test's loop
                seen.append(float("nan"))

    before = gc.get_threshold()
    gc.callbacks.append(note)
    yield seen
    gc.callbacks.remove(note)
    assert gc.get_threshold() == before, "the thresholds were not given back"


class Size:
    """What the pacer reads: set by the test between checks."""

    def __init__(self) -> None:
        self.value = 0

    def __call__(self) -> int:
        return self.value


async def started() -> tuple[Size, asyncio.Task[None]]:
    """A pacer that has read its first size (0); the size it reads."""
    size = Size()
    pacer = asyncio.create_task(pace_full_collections(size))
    await asyncio.sleep(0)
    return size, pacer


async def grow(size: Size, steps: list[int]) -> list[int]:
    """Set ``size`` to each of ``steps``, one per check; the third threshold seen at each."""
    held = []
    for value in steps:
        size.value = value
        await asyncio.sleep(CHECK_S)
        held.append(gc.get_threshold()[2])
    return held


@pytest.mark.looptime
async def test_growth_holds_full_collections_and_its_end_gives_them_back(full_collections):
    original = gc.get_threshold()
    size, pacer = await started()
    assert gc.get_threshold() == (*original[:2], HELD)  # held from the start
    # more long-lived objects than the collector's rule lets grow without a full one
    kept = [[] for _ in range(len(gc.get_objects(generation=2)) // 2 + 100_000)]
    held = await grow(size, [500, 5_000, 9_000, 9_000])
    assert held[:3] == [HELD] * 3
    assert full_collections == []  # young collections only, however much was kept
    await pacer  # no growth in the last half second: done, and given back
    assert gc.get_threshold() == original
    more = [[] for _ in range(200_000)]  # the young collections to come run the one put off
    assert len(full_collections) >= 1
    del kept, more


@pytest.mark.looptime
async def test_a_long_ramp_lets_the_collector_run_one_full_collection_each_gap(
    full_collections,
):
    original = gc.get_threshold()
    start = asyncio.get_running_loop().time()
    size, pacer = await started()  # it reads each value at the check after it is set
    per_gap = round(GAP_S / CHECK_S)
    thresholds = []
    for check in range(1, 2 * per_gap + 6):  # one user more before each check
        size.value = check
        await asyncio.sleep(CHECK_S)
        thresholds.append(gc.get_threshold())
        if check == per_gap + 4:
            gc.collect()  # as the collector's rule would, once it may
    held = (*original[:2], HELD)
    assert thresholds[:per_gap - 1] == [held] * (per_gap - 1)
    assert thresholds[per_gap - 1] == original  # GAP_S after the start: it may run one
    assert thresholds[per_gap: per_gap + 4] == [original] * 4  # it has not wanted to yet
    # it ran one: held again from the next check, for GAP_S from there
    assert thresholds[per_gap + 4: 2 * per_gap + 4] == [held] * per_gap
    assert thresholds[2 * per_gap + 4] == original
    assert [t - start for t in full_collections] == [CHECK_S * (per_gap + 4)]
    await pacer  # no growth since the last check: done


@pytest.mark.looptime
async def test_cancelled_while_growing_the_thresholds_are_given_back(full_collections):
    original = gc.get_threshold()
    size, pacer = await started()
    await grow(size, [100, 200])
    assert gc.get_threshold()[2] == HELD
    pacer.cancel()
    await asyncio.gather(pacer, return_exceptions=True)
    assert gc.get_threshold() == original


@pytest.mark.looptime
@pytest.mark.parametrize("last", ["first", "second"])
async def test_overlapping_runs_give_the_thresholds_back_once_the_last_ends(
    full_collections, last,
):
    original = gc.get_threshold()
    sizes = {"first": Size(), "second": Size()}
    pacers = {}
    for name, size in sizes.items():
        pacers[name] = asyncio.create_task(pace_full_collections(size))
        await asyncio.sleep(0)
    sizes[last].value = 1  # grows: held at its first check; the other ends there
    await asyncio.sleep(CHECK_S * 1.5)
    ended = "second" if last == "first" else "first"
    assert pacers[ended].done() and not pacers[last].done()
    assert gc.get_threshold()[2] == HELD
    await pacers[last]
    assert gc.get_threshold() == original


RECORD_THRESHOLD = """
import gc
import horde

SEEN = {seen!r}

@horde.behaviour
async def note(user):
    with open(SEEN, "a") as f:
        f.write(f"{{gc.get_threshold()[2]}}\\n")
    await user.think(0.2)
"""


async def test_a_run_holds_full_collections_while_its_users_start(write_scenario, tmp_path):
    seen = tmp_path / "seen.txt"
    path = write_scenario(RECORD_THRESHOLD.format(seen=str(seen)))
    original = gc.get_threshold()
    config = RunConfig(scenario=path, target="http://127.0.0.1:9", progress=False,
                       users=20, spawn_rate=1_000, iterations=1)
    results = await run(config, load_scenario(path))
    assert results["iterations"]["completed"] == 20
    assert seen.read_text().split() == [str(HELD)] * 20  # every user started while held
    assert gc.get_threshold() == original
