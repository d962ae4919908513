"""A per-key cache with one fetch in flight per key, shared by threads and event loops.

``get_models`` must make one request per server even when 32 threads ask at
once, never cache a failure, and never let one caller's cancellation reach
another. The first caller for a key starts the fetch as a task of its own (so
cancelling that caller does not cancel it); everyone, the first caller
included, waits on the same :class:`concurrent.futures.Future` through
``asyncio.shield``. If the fetch itself is cancelled (its event loop ended),
the waiters left start a new one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlightCache"]

T = TypeVar("T")


class SingleFlightCache(Generic[T]):
    """At most ``max_entries`` values (the oldest go first), each kept ``ttl`` seconds;
    failures are never kept."""

    def __init__(self, max_entries: int = 256, ttl: float = float("inf")) -> None:
        self._lock = threading.Lock()
        self._values: dict[Hashable, tuple[T, float]] = {}
        self._ttl = ttl
        self._inflight: dict[Hashable, concurrent.futures.Future[T]] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # strong references to running fetches
        self._max = max_entries

    async def get(
        self, key: Hashable, fetch: Callable[[], Awaitable[T]], *, refresh: bool = False
    ) -> T:
        """The cached value, or the result of one ``fetch`` shared with concurrent callers."""
        while True:
            with self._lock:
                found = None if refresh else self._values.get(key)
                if found is not None and found[1] > time.monotonic():
                    return found[0]
                future = self._inflight.get(key)
                owner = future is None
                if future is None:
                    future = concurrent.futures.Future()
                    self._inflight[key] = future
            if owner:
                task = asyncio.ensure_future(self._fetch(key, future, fetch))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            try:
                return await asyncio.shield(asyncio.wrap_future(future))
            except asyncio.CancelledError:
                if future.cancelled():
                    continue  # the fetch was cancelled, not this caller: fetch again
                raise

    async def _fetch(
        self, key: Hashable, future: concurrent.futures.Future[T], fetch: Callable[[], Awaitable[T]]
    ) -> None:
        try:
            value = await fetch()
        except asyncio.CancelledError:
            self._settle(key, future)
            future.cancel()
            raise
        except BaseException as exc:
            self._settle(key, future)
            future.set_exception(exc)
            future.exception()  # marks it retrieved: no "never retrieved" noise for lone callers
        else:
            self._settle(key, future, value)
            future.set_result(value)

    def _settle(self, key: Hashable, future: concurrent.futures.Future[T], *value: T) -> None:
        with self._lock:
            if self._inflight.get(key) is future:
                del self._inflight[key]
            if value:
                self._values.pop(key, None)
                if len(self._values) >= self._max:
                    del self._values[next(iter(self._values))]
                self._values[key] = (value[0], time.monotonic() + self._ttl)

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._values.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
