"""A per-server cache with one fetch in flight per key, shared by threads and event loops.

``get_models`` must make one request per server even when 32 threads ask at
once, never cache a failure, and work from sync and async code alike. The
first caller for a key fetches; everyone else arriving meanwhile waits on the
same :class:`concurrent.futures.Future`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["SingleFlightCache"]

T = TypeVar("T")


class SingleFlightCache(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[Hashable, T] = {}
        self._inflight: dict[Hashable, concurrent.futures.Future[T]] = {}

    def _claim(
        self, key: Hashable, refresh: bool
    ) -> tuple[T | None, concurrent.futures.Future[T], bool]:
        with self._lock:
            if not refresh and key in self._values:
                return self._values[key], concurrent.futures.Future(), False
            future = self._inflight.get(key)
            if future is not None:
                return None, future, False
            future = concurrent.futures.Future()
            self._inflight[key] = future
            return None, future, True

    def _settle(
        self,
        key: Hashable,
        future: concurrent.futures.Future[T],
        value: T | None,
        error: BaseException | None,
    ) -> None:
        with self._lock:
            self._inflight.pop(key, None)
            if error is None:
                self._values[key] = value  # type: ignore[assignment]
        if error is None:
            future.set_result(value)  # type: ignore[arg-type]
        else:
            future.set_exception(error)
            future.exception()  # marks it retrieved: no "never retrieved" noise for lone callers

    def get(self, key: Hashable, fetch: Callable[[], T], *, refresh: bool = False) -> T:
        """Sync: the cached value, or the result of one ``fetch`` shared with concurrent callers."""
        cached, future, owner = self._claim(key, refresh)
        if cached is not None:
            return cached
        if not owner:
            return future.result()
        try:
            value = fetch()
        except BaseException as exc:
            self._settle(key, future, None, exc)
            raise
        self._settle(key, future, value, None)
        return value

    async def aget(
        self, key: Hashable, fetch: Callable[[], Awaitable[T]], *, refresh: bool = False
    ) -> T:
        """Async: as :meth:`get`, waiting without blocking the event loop."""
        cached, future, owner = self._claim(key, refresh)
        if cached is not None:
            return cached
        if not owner:
            return await asyncio.wrap_future(future)
        try:
            value = await fetch()
        except BaseException as exc:
            self._settle(key, future, None, exc)
            raise
        self._settle(key, future, value, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
