"""Run a coroutine on the fastest event loop available (uvloop), with signals handled.

What a SIGINT or SIGTERM does depends on what the run is doing, so that a load test that
is stopped always leaves its results behind:

- the first one stops the run — a ``@setup`` in progress or the load — and the results are
  still written (:class:`Interrupt` is the run's stop event);
- ``@teardown`` still runs after that (it cleans up), bounded by its timeout; a signal
  while it runs ends it, and the results are still written;
- any other signal after the first ends the process at once, without results: the caller
  says how (``on_second_signal``; the CLI exits with code 130). The engine decides no
  exit code.

A signal that arrives while horde is still starting up (importing, loading the scenario,
starting a demo server) is not lost: :func:`caught_early_signals`, called first thing by the
CLI, keeps it, and the run begins already interrupted — it writes its (empty) results.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)
_early: list[str] = []  # signals caught before the event loop ran
# Of those, the ones the loop's wakeup fd (set as the loop starts, before its handlers)
# also got: the loop delivers each once more, which is the same signal, not a second one.
_echoed: list[str] = []

OnSecondSignal = Callable[[str], None]
"""Called with a signal's name when it comes while the run is already stopping: the CLI
exits at once with code 130 (``horde.exitcodes``). By default a KeyboardInterrupt is
raised, which ends an in-process caller's run without results."""


def _raise_interrupt(signame: str) -> None:
    raise KeyboardInterrupt(signame)


class Interrupt(asyncio.Event):
    """The run's stop event, which also counts the signals that set it: ``@teardown``
    waits on :meth:`next_signal` to be ended by one more."""

    def __init__(self) -> None:
        super().__init__()
        self.signals = 0
        self._listeners: list[asyncio.Future[None]] = []

    @property
    def listened(self) -> bool:
        """Something (a running ``@teardown``) will end on the next signal."""
        return any(not f.done() for f in self._listeners)

    def signal(self) -> None:
        self.signals += 1
        self.set()
        listeners, self._listeners = self._listeners, []
        for fut in listeners:
            if not fut.done():
                fut.set_result(None)

    async def next_signal(self) -> None:
        """Until the next signal after now."""
        fut = asyncio.get_running_loop().create_future()
        self._listeners.append(fut)
        await fut


@contextlib.contextmanager
def caught_early_signals(
    on_second_signal: OnSecondSignal = _raise_interrupt,
) -> Iterator[None]:
    """Keep SIGINT/SIGTERM that arrive before the run's loop exists (see the module); the
    handlers before are back afterwards (the CLI can be called in-process, by tests)."""
    def keep(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if _early:
            sys.stderr.write(f"\nhorde: {name} received again while starting, exiting\n")
            on_second_signal(name)
            return
        sys.stderr.write(f"\nhorde: {name} received while starting; the run will stop at "
                         "once and write its results\n")
        _early.append(name)
        if _wakeup_fd_set():
            _echoed.append(name)

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only: nothing to catch here
        return
    before = {sig: signal.signal(sig, keep) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        _early.clear()
        _echoed.clear()


def _wakeup_fd_set() -> bool:
    """Whether a wakeup fd is set (a running loop's): it got the signal being handled."""
    fd = signal.set_wakeup_fd(-1)
    if fd != -1:
        signal.set_wakeup_fd(fd, warn_on_full_buffer=False)
    return fd != -1


def run_with_signals(
    main: Callable[[asyncio.Event], Coroutine[Any, Any, T]], *, use_uvloop: bool = True,
    on_second_signal: OnSecondSignal = _raise_interrupt,
) -> T:
    """``main(stop)`` on uvloop (unless told not to), ``stop`` set by the first SIGINT or
    SIGTERM; what a later one does is ``on_second_signal``'s (see the module)."""
    async def wrapper() -> T:
        stop = Interrupt()
        _install_handlers(stop, on_second_signal)
        return await main(stop)

    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(wrapper())
    return asyncio.run(wrapper())


def _install_handlers(stop: Interrupt, on_second_signal: OnSecondSignal) -> None:
    loop = asyncio.get_running_loop()

    def on_signal(signame: str) -> None:
        if signame in _echoed:  # the wakeup fd's copy of a signal caught while starting
            _echoed.remove(signame)
            return
        if stop.listened:
            sys.stderr.write(f"\nhorde: {signame} received, ending @teardown and writing "
                             "results…\n")
        elif stop.signals == 0:  # the first signal (the run may be stopping already)
            sys.stderr.write(f"\nhorde: {signame} received, stopping and writing results…\n")
        else:
            sys.stderr.write("\nhorde: interrupted again, exiting without results\n")
            on_second_signal(signame)
            return
        stop.signal()

    for sig in SIGNALS:
        loop.add_signal_handler(sig, on_signal, sig.name)
    for _ in _early:  # caught while starting: the run begins stopped
        stop.signal()
    _early.clear()
