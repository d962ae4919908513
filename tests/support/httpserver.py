"""A minimal HTTP/1.1 server on raw ``asyncio`` streams, run in a background thread.

It shares no code with the client under test (which uses aiohttp), and it lets a
test take over a connection at the byte level through *faults*
(see :mod:`tests.support.faults`).

Usage::

    with HTTPServer(handler) as server:
        server.add_fault("/api/chat", faults.reset_before_headers())
        ...  # talk to server.url
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .httpmsg import (
    MAX_LINE,
    BadRequestError,
    Connection,
    Fault,
    Handler,
    Match,
    RecordedRequest,
    Request,
    Response,
    header_block,
    path_matches,
    read_request,
)

__all__ = ["FaultRule", "HTTPServer"]  # messages, requests and responses: see httpmsg


@dataclass
class FaultRule:
    match: Match
    fault: Fault
    remaining: int | None  # None: forever
    hits: int = 0

    def matches(self, request: Request) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if isinstance(self.match, str):
            return path_matches(request.path, self.match)
        return bool(self.match(request))


async def _not_found(request: Request, response: Response) -> None:
    await response.send(404, b"404 page not found", "text/plain")


class HTTPServer:
    """HTTP/1.1 server with its own event loop in a daemon thread."""

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ipv6: bool = False,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.handler: Handler = handler or _not_found
        self.ssl_context = ssl_context
        self.host = "::1" if ipv6 and host == "127.0.0.1" else host
        self.port = port
        self.requests: list[RecordedRequest] = []
        #: exceptions raised by handlers (a test can assert this stays empty)
        self.errors: list[BaseException] = []
        self.open_connections = 0
        self.total_connections = 0
        self.faults: list[FaultRule] = []
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stop_event: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # ----------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("server not started")
        return self._loop

    @property
    def running(self) -> bool:
        """True while the server thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> HTTPServer:
        if self._thread is not None:
            return self
        self._ready.clear()
        self._start_error = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="test-httpserver", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test HTTP server did not start")
        if self._start_error is not None:
            self._thread.join()
            raise self._start_error
        return self

    def stop(self) -> None:
        thread, loop, stop = self._thread, self._loop, self._stop_event
        if thread is None or loop is None:
            return
        if stop is not None and thread.is_alive():
            loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        if not thread.is_alive():
            self._thread = None

    def __enter__(self) -> HTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # surfaced by start()
            self._start_error = exc
            self._ready.set()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            asyncio.set_event_loop(None)
            loop.close()

    async def _main(self) -> None:
        self._stop_event = asyncio.Event()
        server = await asyncio.start_server(
            self._on_connect,
            self.host,
            self.port,
            limit=MAX_LINE,
            reuse_address=True,
            ssl=self.ssl_context,
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop_event.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.wait(list(self._tasks), timeout=5)
            for writer in list(self._writers):
                writer.transport.abort()
            await asyncio.sleep(0)  # let connection_lost callbacks run
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)

    # ------------------------------------------------------------ test helpers
    def add_fault(self, match: Match, fault: Fault, times: int | None = 1) -> FaultRule:
        """Let ``fault`` take over the next ``times`` matching requests (None: all)."""
        rule = FaultRule(match, fault, times)
        self.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        self.faults.clear()

    def count(self, path: str | None = None, method: str | None = None) -> int:
        """Requests seen so far for ``path`` (exact or path-suffix match) and ``method``."""
        return sum(
            1
            for r in list(self.requests)
            if (path is None or path_matches(r.path, path))
            and (method is None or r.method == method)
        )

    def wait_until_connections(self, n: int, timeout: float = 5.0) -> bool:
        """Block until exactly ``n`` connections are open; False on timeout.

        From async test code use ``await server.await_connections(n)`` instead: blocking
        the client's loop would stop it from closing its sockets.
        """
        return self._wait(lambda: self.open_connections == n, timeout)

    def wait_until_requests(self, n: int, path: str | None = None, timeout: float = 5.0) -> bool:
        return self._wait(lambda: self.count(path) >= n, timeout)

    async def await_connections(self, n: int, timeout: float = 5.0) -> bool:
        """``wait_until_connections`` for code running in an event loop (does not block it)."""
        return await self._await(lambda: self.open_connections == n, timeout)

    async def await_requests(self, n: int, path: str | None = None, timeout: float = 5.0) -> bool:
        return await self._await(lambda: self.count(path) >= n, timeout)

    @staticmethod
    async def _await(predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def _wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def call(self, func: Callable[[], Any]) -> Any:
        """Run ``func`` in the server's loop thread and return its result."""
        return asyncio.run_coroutine_threadsafe(self._call(func), self.loop).result(10)

    @staticmethod
    async def _call(func: Callable[[], Any]) -> Any:
        return func()

    # ---------------------------------------------------------------- serving
    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.total_connections += 1
        self.open_connections += 1
        self._notify()
        conn = Connection(reader, writer, self.total_connections)
        try:
            await self._serve(conn)
        except (asyncio.CancelledError, ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), 2)
            if not writer.transport.is_closing():
                writer.transport.abort()
            self._writers.discard(writer)
            self._tasks.discard(task)
            self.open_connections -= 1
            self._notify()

    async def _serve(self, conn: Connection) -> None:
        while not conn.closed:
            try:
                request = await read_request(conn)
            except BadRequestError as exc:
                await self._plain_error(conn, exc.status, str(exc))
                return
            if request is None:
                return
            conn.requests_served += 1
            rule = next((r for r in list(self.faults) if r.matches(request)), None)
            self.requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    request.query,
                    request.headers,
                    request.body,
                    request.peer,
                    conn.id,
                    faulted=rule is not None,
                )
            )
            self._notify()
            if rule is not None:
                rule.hits += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
                try:
                    keep = await rule.fault(request, conn)
                except (ConnectionError, OSError):
                    return
                except Exception as exc:
                    self.errors.append(exc)
                    traceback.print_exc(file=sys.stderr)
                    return
                if keep is not True:
                    return
                continue
            response = Response(request)
            try:
                await self.handler(request, response)
                if response.state == "streaming":
                    await response.end_stream()
                elif response.state == "new":
                    raise RuntimeError(
                        f"handler sent no response to {request.method} {request.path}"
                    )
            except (ConnectionError, OSError):
                return
            except Exception as exc:
                self.errors.append(exc)
                traceback.print_exc(file=sys.stderr)
                if response.state == "new":
                    await response.send(500, f"test server error: {exc!r}")
                return
            if response.close_after:
                return

    async def _plain_error(self, conn: Connection, status: int, message: str) -> None:
        body = message.encode()
        head = [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]
        head.append(("Content-Length", str(len(body))))
        with contextlib.suppress(ConnectionError, OSError):
            await conn.write(header_block(status, head) + body)
