"""The only module that does network I/O: pooled aiohttp connections, phase timeouts, error facts.

A transport has one method, ``send(request) -> response``. :class:`AiohttpTransport`
keeps one connection pool per event loop (reused across calls, closed when the
loop shuts down its async generators, which ``asyncio.run`` does) and is the
one place where aiohttp's and the socket layer's exceptions become the
library's: typed facts (reason, phase, URL, the cause in words), never
sentences, and never chained to the original exception, whose ``repr`` can
show the request's headers. The cause travels as a :class:`TransportCause`
holding only its type and redacted text.

Timeouts have three phases, kept with public asyncio API: ``connect`` (DNS,
TCP, TLS: aiohttp's own connect timeout), ``first byte`` (until the first byte
of the body: headers and a model's cold load), ``between chunks`` (each later
wait for data).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import ssl
import sys
import threading
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import IO, Any, Protocol

import aiohttp

from ._errors import (
    Phase,
    ProviderError,
    ProviderTimeoutError,
    Reason,
    ServerUnreachableError,
    StreamInterruptedError,
)
from ._redact import Redactor
from ._timeout import Timeout

if sys.version_info >= (3, 11):
    from asyncio import timeout as _deadline
else:  # pragma: no cover - aiohttp depends on async-timeout on 3.10
    from async_timeout import timeout as _deadline  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "AiohttpTransport",
    "HTTPRequest",
    "HTTPResponse",
    "Transport",
    "TransportCause",
    "aclose_pool",
    "default_transport",
    "reset",
]

logger = logging.getLogger("ollama_provider")
_READ_BUFFER = 1 << 18  # bytes aiohttp may buffer per response before pausing the socket
_DRAIN_GRACE = 0.1  # after a complete answer, how long its end may take before the socket closes
_NOT_HTTP = re.compile(r"b(['\"])(.{0,80})")
_NOT_HTTP_WORDS = re.compile(r"status line|Expected HTTP/")  # aiohttp 3.11+ and 3.10


class TransportCause(Exception):
    """What the transport's dependency raised, as its type and redacted words only."""


@dataclass(slots=True)
class HTTPRequest:
    """One request as the transport needs it; ``url`` never holds credentials."""

    method: str
    url: str
    headers: dict[str, str] = field(repr=False)  # may hold Authorization
    timeout: Timeout
    body: bytes | IO[bytes] | None = None  # a file is streamed (a model's blob upload)
    proxy: str | None = field(default=None, repr=False)
    verify: bool | str | ssl.SSLContext = True
    redact: Redactor = field(default_factory=Redactor, repr=False)


class HTTPResponse(Protocol):
    """A response whose body is read in pieces as they arrive."""

    status: int
    reason: str
    headers: Mapping[str, str]

    async def read_some(self) -> bytes:
        """The next piece of the body; ``b""`` at its end. Raises :class:`ProviderError`."""
        ...

    async def read_all(self, limit: int) -> bytes:
        """The whole (rest of the) body, or its start once more than ``limit`` bytes have come.

        The last read may go past ``limit`` by up to one piece: callers check the size.
        """
        ...

    def shorten_wait(self, seconds: float) -> None:
        """From now on wait at most ``seconds`` between chunks (an answer that has finished)."""
        ...

    async def finish(self) -> None:
        """The answer is complete: pool the connection if its end is there, else close it."""
        ...

    def close(self) -> None:
        """Abandon the response: the connection closes, so the server stops generating."""
        ...


class Transport(Protocol):
    async def send(self, request: HTTPRequest) -> HTTPResponse: ...


def _cause(exc: BaseException, redact: Redactor) -> TransportCause:
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    return TransportCause(f"{name}: {redact(str(exc))}")


def _detail(exc: BaseException, redact: Redactor) -> str:
    """The cause in words: the OS error's own, not aiohttp's wrapper text."""
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, OSError) and os_error.strerror:
        return redact(os_error.strerror)
    if isinstance(exc, aiohttp.ClientResponseError):
        return redact(" ".join(str(exc.message).split())[:200])
    return redact(" ".join(str(exc).split())[:200]) or type(exc).__name__


def _timeout_error(request: HTTPRequest, phase: Phase) -> ProviderTimeoutError:
    timeout = request.timeout
    limit = {
        Phase.CONNECT: timeout.connect,
        Phase.FIRST_BYTE: timeout.first_byte,
        Phase.BETWEEN_CHUNKS: timeout.between_chunks,
    }[phase]
    return ProviderTimeoutError(phase=phase, timeout=limit, url=request.url)


def map_error(
    exc: BaseException, request: HTTPRequest, phase: Phase, *, reading: bool
) -> ProviderError:
    """The one place where transport exceptions become the library's own (facts only).

    ``phase`` is the wait in progress, named if ``exc`` is a timeout (a connect
    timeout is known by its type). ``reading``: the body was being read, so any
    other failure interrupted the answer rather than leaving the server unreachable.
    """
    url, redact = request.url, request.redact
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        error: ProviderError = _timeout_error(request, Phase.CONNECT)
    elif isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        error = _timeout_error(request, phase)
    elif reading:
        error = StreamInterruptedError(url=url, reason=Reason.BROKE, detail=_detail(exc, redact))
    else:
        error = ServerUnreachableError(url=url, reason=_reason(exc), detail=_detail(exc, redact))
        if error.reason is Reason.NOT_HTTP and (found := _NOT_HTTP.search(error.detail)):
            error.detail = repr(found.group(2)[:60])
    error.__cause__ = _cause(exc, redact)
    return error


def _reason(exc: BaseException) -> Reason:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return Reason.TLS
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return Reason.DNS
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return Reason.PROXY
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = getattr(exc, "os_error", None)
        refused = isinstance(os_error, ConnectionRefusedError)
        return Reason.REFUSED if refused else Reason.OTHER
    if isinstance(exc, aiohttp.ClientResponseError):
        return Reason.NOT_HTTP if _NOT_HTTP_WORDS.search(str(exc.message)) else Reason.OTHER
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, OSError)):
        return Reason.CLOSED
    return Reason.OTHER


def _dropped(exc: BaseException) -> bool:
    """The connection failed under the request before an answer: closed, reset, or the
    request could not be written (what a reused connection the server closed does)."""
    if isinstance(exc, (aiohttp.ServerDisconnectedError, ConnectionResetError, BrokenPipeError)):
        return True
    if isinstance(exc, (aiohttp.ClientConnectionResetError, aiohttp.ClientOSError)):
        return True  # "Can not write request body" among them (aiohttp 3.10)
    return isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE)


class _AiohttpResponse:
    __slots__ = (
        "_content", "_expired", "_request", "_resp", "_task", "_wait", "headers", "reason",
        "started", "status",
    )  # fmt: skip

    def __init__(self, resp: aiohttp.ClientResponse, request: HTTPRequest) -> None:
        self._resp = resp
        self._content = resp.content
        self._request = request
        self._wait = request.timeout.first_byte
        self._task: asyncio.Task[Any] | None = None
        self._expired = False
        self.started = False  # a byte of the body has arrived
        self.status = resp.status
        self.reason = resp.reason or ""
        self.headers: Mapping[str, str] = resp.headers

    def _expire(self) -> None:
        self._expired = True
        if self._task is not None:
            self._task.cancel()

    async def read_some(self) -> bytes:
        phase = Phase.BETWEEN_CHUNKS if self.started else Phase.FIRST_BYTE
        wait = self._wait
        # One timer per read that cancels the reading task when it fires: what
        # asyncio.timeout does, at half its cost per read (public API either way).
        timer = None
        if wait is not None:
            self._task = asyncio.current_task()
            timer = asyncio.get_running_loop().call_later(wait, self._expire)
        try:
            data = await self._content.readany()
        except asyncio.CancelledError:
            if not self._expired or not _uncancel(self._task):
                raise  # a cancellation from outside (also when both came at once)
            self._expired = False
            error: ProviderError = _timeout_error(self._request, phase)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            error = map_error(exc, self._request, phase, reading=True)
        else:
            if not self.started and data:
                self.started = True
                self._wait = self._request.timeout.between_chunks
            return data
        finally:
            if timer is not None:
                timer.cancel()
        raise error

    def shorten_wait(self, seconds: float) -> None:
        self._wait = seconds if self._wait is None else min(self._wait, seconds)

    async def read_all(self, limit: int) -> bytes:
        pieces: list[bytes] = []
        size = 0
        while size <= limit:
            data = await self.read_some()
            if not data:
                break
            pieces.append(data)
            size += len(data)
        return b"".join(pieces)

    async def finish(self) -> None:
        if not self._content.at_eof():
            self.shorten_wait(_DRAIN_GRACE)
            try:
                while await self.read_some():
                    pass
            except ProviderError:
                self._resp.close()  # the server keeps it open: not reusable
                return
        self._resp.release()

    def close(self) -> None:
        self._resp.close()


def _uncancel(task: asyncio.Task[Any] | None) -> bool:
    """Undo the timer's cancellation; False when another cancellation is pending too."""
    uncancel = getattr(task, "uncancel", None)  # Python 3.11+
    return uncancel is None or uncancel() == 0


class _Pool:
    """One aiohttp session per event loop, closed when the loop shuts down."""

    __slots__ = ("closer", "session")

    def __init__(self, session: aiohttp.ClientSession, loop: asyncio.AbstractEventLoop) -> None:
        self.session = session
        self.closer: AsyncGenerator[None, None] = _close_with_loop(loop, self)


_pools: dict[asyncio.AbstractEventLoop, _Pool] = {}
_pools_lock = threading.Lock()
# Kept: a context made from a CA bundle costs ~13 ms (the system bundle, measured here),
# fifty times a whole small request.
_ssl_contexts: dict[str, ssl.SSLContext] = {}


def reset() -> None:
    """Forget cached TLS contexts (pools close with their loops)."""
    _ssl_contexts.clear()


async def _on_reuse(session: object, context: SimpleNamespace, params: object) -> None:
    context.trace_request_ctx.reused = True


async def _close_with_loop(
    loop: asyncio.AbstractEventLoop, pool: _Pool
) -> AsyncGenerator[None, None]:
    # asyncio.run() (and any loop owner calling shutdown_asyncgens) closes this
    # generator as the loop ends: the pool closes with its loop, no warnings.
    try:
        yield
    finally:
        with _pools_lock:
            if _pools.get(loop) is pool:
                del _pools[loop]
        await pool.session.close()


async def _session() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is not None and not pool.session.closed:
        return pool.session
    with _pools_lock:
        for stale in [lp for lp in _pools if lp.is_closed()]:
            del _pools[stale]
        tracing = aiohttp.TraceConfig()
        tracing.on_connection_reuseconn.append(_on_reuse)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=60),
            cookie_jar=aiohttp.DummyCookieJar(),
            read_bufsize=_READ_BUFFER,
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=True,
            trace_configs=[tracing],
        )
        pool = _Pool(session, loop)
        _pools[loop] = pool
    # Runs to the generator's yield without suspending: no other task on this loop
    # (the only one that may close this pool) sees the pool with its closer unstarted.
    await pool.closer.__anext__()
    return session


async def aclose_pool() -> None:
    """Close the current event loop's connection pool now (it reopens on the next call)."""
    loop = asyncio.get_running_loop()
    with _pools_lock:
        pool = _pools.pop(loop, None)
    if pool is not None:
        await pool.closer.aclose()


def _ssl_arg(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    context = _ssl_contexts.get(verify)
    if context is None:
        context = ssl.create_default_context(cafile=verify)
        _ssl_contexts[verify] = context
    return context


class AiohttpTransport:
    """The default transport: aiohttp with one pooled session per event loop."""

    async def send(self, request: HTTPRequest) -> HTTPResponse:
        session = await _session()
        options: dict[str, Any] = {
            "data": request.body,
            "headers": request.headers,
            "timeout": aiohttp.ClientTimeout(total=None, connect=request.timeout.connect),
            "allow_redirects": False,
            "proxy": request.proxy,
            "ssl": _ssl_arg(request.verify),
        }
        debug = logger.isEnabledFor(logging.DEBUG)
        if debug:
            logger.debug("%s %s", request.method, request.url)
        wait = request.timeout.first_byte
        for attempt in (1, 2):
            context = SimpleNamespace(reused=False)
            try:
                async with _deadline(wait):  # None: no deadline
                    resp = await session.request(
                        request.method, request.url, trace_request_ctx=context, **options
                    )
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                # A POST is sent again only when a pooled connection turned out to be
                # closed under it (the server closed it while idle): a fresh connection
                # may have delivered the request, and generating twice is not harmless.
                resendable = not hasattr(request.body, "read")  # a file has been consumed
                if attempt == 1 and context.reused and resendable and _dropped(exc):
                    logger.debug("retrying %s %s once: %s", request.method, request.url, exc)
                    continue
                error = map_error(exc, request, Phase.FIRST_BYTE, reading=False)
                break
            if debug:
                logger.debug("%s %s -> %d", request.method, request.url, resp.status)
            return _AiohttpResponse(resp, request)
        raise error


_default: AiohttpTransport | None = None


def default_transport() -> AiohttpTransport:
    global _default  # noqa: PLW0603 - one stateless instance, made on first use
    if _default is None:
        _default = AiohttpTransport()
    return _default
