"""The sync API, written once on top of the async one.

A single daemon thread runs an event loop (the "portal") for all sync calls.
Sync code anywhere, including inside a running event loop (Jupyter), hands
coroutines and async generators to it and waits for their results, so there
is one client (the async one) and one connection pool for sync use, reused
across calls. The portal's pool closes at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import queue
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

__all__ = ["iterate", "run"]

T = TypeVar("T")
_ITEM, _END, _ERROR = 0, 1, 2


class _Portal:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._run, name="ollama-provider-sync", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def stop(self) -> None:
        if self.loop.is_closed() or not self.thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self.loop.shutdown_asyncgens(), self.loop)
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            future.result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


_portal: _Portal | None = None
_portal_lock = threading.Lock()


def _get_portal() -> _Portal:
    global _portal  # noqa: PLW0603 - one portal per process, made on first use
    portal = _portal
    if portal is not None and portal.pid == os.getpid():
        return portal
    with _portal_lock:
        if _portal is None or _portal.pid != os.getpid():  # first use, or a forked child
            first = _portal is None
            _portal = _Portal()
            if first:
                atexit.register(_shutdown)
        return _portal


def _shutdown() -> None:
    if _portal is not None and _portal.pid == os.getpid():
        _portal.stop()


def _check_thread(portal: _Portal) -> None:
    if threading.current_thread() is portal.thread:
        raise RuntimeError(
            "the sync API was called from the library's own event loop thread; "
            "use the async API (create_async_generator, get_models_async) there"
        )


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on the portal and wait for its result."""
    portal = _get_portal()
    _check_thread(portal)
    future = asyncio.run_coroutine_threadsafe(coro, portal.loop)
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise


#: Items the portal may read ahead of a sync consumer before it waits for it.
READ_AHEAD = 256
#: Characters of text (``str`` items and events' ``text``) it may read ahead.
READ_AHEAD_CHARS = 1 << 20


def _chars(value: Any) -> int:
    if type(value) is str:
        return len(value)
    text = getattr(value, "text", None)
    return len(text) if type(text) is str else 0


class _Channel:
    """Items from the portal's loop to one consumer thread, a bounded amount ahead.

    The bound: ``READ_AHEAD`` items and ``READ_AHEAD_CHARS`` characters of text
    (an item bigger than that still passes when the channel is empty), so what
    a fast server sends waits in the socket, not in memory.

    No lock per item: every counter is written by one side only. The producer
    (a task on the portal) counts what it put; finding the channel full, it
    opens a new wait round, looks once more, then waits on an asyncio event.
    The consumer thread counts what it took and, once half the room is free,
    wakes that round through the loop exactly once. A consumer that keeps up
    costs no wake-ups; a slow one, one per half channel.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.items: queue.SimpleQueue[tuple[int, Any, int]] = queue.SimpleQueue()
        self._loop = loop
        self._put = self._put_chars = 0  # producer only
        self._round = 0  # producer only: the wait in progress, if not yet woken
        self._taken = self._taken_chars = 0  # consumer only
        self._woken = 0  # consumer only: the last round it woke
        # Made on the consumer's thread: an Event binds to the loop that first waits
        # on it (Python 3.10+), the portal's, where put() waits and set() runs.
        self._space = asyncio.Event()

    def _full(self) -> bool:
        return (
            self._put - self._taken >= READ_AHEAD
            or self._put_chars - self._taken_chars >= READ_AHEAD_CHARS
        )

    async def put(self, kind: int, value: Any) -> None:
        # The end and an error never wait: the consumer must see them.
        while kind == _ITEM and self._full():
            self._space.clear()
            self._round += 1
            # Look again after opening the round: a take that ran before could not
            # know to wake it.
            if not self._full():
                break
            await self._space.wait()
        size = _chars(value)
        self._put += 1
        self._put_chars += size
        self.items.put((kind, value, size))

    def take(self) -> tuple[int, Any]:
        kind, value, size = self.items.get()
        self._taken += 1
        self._taken_chars += size
        waiting = self._round
        if (
            waiting != self._woken
            and self._put - self._taken <= READ_AHEAD // 2
            and self._put_chars - self._taken_chars <= READ_AHEAD_CHARS // 2
        ):
            self._woken = waiting
            self._loop.call_soon_threadsafe(self._space.set)
        return kind, value


def iterate(agen: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async iterator from sync code, a bounded number of items ahead;
    leaving early closes it on the portal."""
    portal = _get_portal()
    _check_thread(portal)
    channel = _Channel(portal.loop)

    async def pump() -> None:
        try:
            async for item in agen:
                await channel.put(_ITEM, item)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the consumer thread, which raises it
            await channel.put(_ERROR, exc)
        else:
            await channel.put(_END, None)
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                await aclose()

    future = asyncio.run_coroutine_threadsafe(pump(), portal.loop)
    try:
        while True:
            kind, value = channel.take()
            if kind == _ITEM:
                yield value
            elif kind == _END:
                return
            else:
                raise value
    finally:
        if not future.done():
            future.cancel()  # cancels the pump task: the stream closes on the portal
            # Cancelled, timed out or failed while closing: the consumer already left,
            # nothing to report to (all three are Exceptions in concurrent.futures).
            with contextlib.suppress(Exception):
                future.result(timeout=10)
