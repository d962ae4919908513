"""The only module that does network I/O: pooled aiohttp connections, timeouts, error mapping.

A transport has one method, ``send(request) -> response``; tests may swap in
their own. :class:`AiohttpTransport` keeps one connection pool per event loop
(reused across calls, closed when the loop shuts down its async generators,
which ``asyncio.run`` does) and is the one place where aiohttp's and the
socket layer's exceptions become this library's (raised ``from`` the original).

Timeouts have three phases: ``connect`` (DNS, TCP, TLS), ``first byte`` (until
the first byte of the body: headers and the model's cold load), ``between
chunks`` (each later wait for data).
"""

from __future__ import annotations

import asyncio
import errno
import logging
import ssl
import threading
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from ._errors import (
    ProviderError,
    ProviderTimeoutError,
    ServerUnreachableError,
    StreamInterruptedError,
)
from ._redact import Redactor
from ._settings import Timeout

__all__ = [
    "AiohttpTransport",
    "HTTPRequest",
    "HTTPResponse",
    "Transport",
    "aclose_pool",
    "default_transport",
]

logger = logging.getLogger("ollama_provider")
_READ_BUFFER = 1 << 18  # bytes aiohttp may buffer per response before pausing the socket


@dataclass(slots=True)
class HTTPRequest:
    """One request as the transport needs it; ``url`` never holds credentials."""

    method: str
    url: str
    headers: dict[str, str] = field(repr=False)  # may hold Authorization
    timeout: Timeout
    body: bytes | None = None
    proxy: str | None = field(default=None, repr=False)
    verify: bool | str | ssl.SSLContext = True
    redact: Redactor = field(default_factory=Redactor, repr=False)
    where: str = ""  # how the URL was derived, for messages ("from OLLAMA_HOST=...")
    advice: str = ""  # what to do when the server cannot be reached


class HTTPResponse(Protocol):
    """A response whose body is read in pieces as they arrive."""

    status: int
    reason: str
    headers: Mapping[str, str]

    async def read_some(self) -> bytes:
        """The next piece of the body; ``b""`` at its end. Raises :class:`ProviderError`."""
        ...

    async def read_all(self, limit: int) -> bytes:
        """The whole (rest of the) body, at most ``limit`` bytes (then it is cut)."""
        ...

    async def finish(self) -> None:
        """The answer is complete: drain what is left briefly, then pool the connection."""
        ...

    def close(self) -> None:
        """Abandon the response: the connection closes, so the server stops generating."""
        ...


class Transport(Protocol):
    async def send(self, request: HTTPRequest) -> HTTPResponse: ...


def map_error(exc: BaseException, request: HTTPRequest, phase: str) -> ProviderError:
    """The one place where transport exceptions become the library's own."""
    url = request.url
    redact = request.redact
    where = f" ({request.where})" if request.where else ""
    timeout = request.timeout
    if isinstance(exc, aiohttp.ConnectionTimeoutError) or (
        phase == "connect" and isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError))
    ):
        return ProviderTimeoutError(
            f"connecting to {url}{where} took longer than {timeout.connect} s "
            f"(the connect timeout). {request.advice}".rstrip(),
            url=url,
            phase="connect",
            timeout=timeout.connect,
        )
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        limit = timeout.first_byte if phase == "first byte" else timeout.between_chunks
        what = "for the first byte of the answer" if phase == "first byte" else "between chunks"
        return ProviderTimeoutError(
            f"{url} sent nothing {what} for {limit} s (the {phase} timeout; pass timeout=... "
            "to wait longer)",
            url=url,
            phase=phase,
            timeout=limit,
        )
    detail = redact(str(exc) or type(exc).__name__)
    if phase == "body":
        return StreamInterruptedError(
            f"the connection to {url} broke mid-stream: {detail}", url=url
        )
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return ServerUnreachableError(
            f"the TLS certificate of {url} could not be verified: {detail}. Pass verify= a CA "
            "bundle path (or verify=False to skip the check, only on a network you trust).",
            url=url,
        )
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        reason = "its host name could not be resolved"
    elif isinstance(exc, aiohttp.ClientProxyConnectionError):
        reason = f"the proxy could not be reached ({detail})"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        reason = f"the connection was refused or failed ({detail})"
    elif isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        reason = f"the server closed the connection before answering ({detail})"
    else:
        reason = detail
    return ServerUnreachableError(
        f"cannot reach {url}{where}: {reason}. {request.advice}".rstrip(), url=url
    )


class _AiohttpResponse:
    __slots__ = ("_content", "_phase", "_request", "_resp", "headers", "reason", "status")

    def __init__(self, resp: aiohttp.ClientResponse, request: HTTPRequest) -> None:
        self._resp = resp
        self._content = resp.content
        self._request = request
        self._phase = "first byte"
        self.status = resp.status
        self.reason = resp.reason or ""
        self.headers: Mapping[str, str] = resp.headers

    async def read_some(self) -> bytes:
        try:
            data = await self._content.readany()
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise map_error(exc, self._request, self._phase_of(exc)) from exc
        if self._phase == "first byte" and data:
            self._phase = "between chunks"
            connection = self._resp.connection
            if connection is not None and connection.protocol is not None:
                protocol = connection.protocol
                protocol.read_timeout = self._request.timeout.between_chunks
                protocol.start_timeout()  # re-arm now, with the new limit
        return data

    def _phase_of(self, exc: BaseException) -> str:
        if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
            return self._phase
        return "body"

    async def read_all(self, limit: int) -> bytes:
        pieces: list[bytes] = []
        size = 0
        while size < limit:
            data = await self.read_some()
            if not data:
                break
            pieces.append(data)
            size += len(data)
        return b"".join(pieces)[:limit]

    async def finish(self) -> None:
        if not self._content.at_eof():
            try:
                await asyncio.wait_for(self._drain(), 2.0)
            except (ProviderError, asyncio.TimeoutError):
                self._resp.close()
                return
        self._resp.release()

    async def _drain(self) -> None:
        while await self.read_some():
            pass

    def close(self) -> None:
        self._resp.close()


class _Pool:
    """One aiohttp session per event loop, closed when the loop shuts down."""

    __slots__ = ("closer", "session")

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.closer: AsyncGenerator[None, None] | None = None


_pools: dict[asyncio.AbstractEventLoop, _Pool] = {}
_pools_lock = threading.Lock()
_ssl_contexts: dict[str, ssl.SSLContext] = {}
_client_timeouts: dict[Timeout, aiohttp.ClientTimeout] = {}


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
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=60, enable_cleanup_closed=False)
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            read_bufsize=_READ_BUFFER,
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=True,
        )
        pool = _Pool(session)
        _pools[loop] = pool
    pool.closer = _close_with_loop(loop, pool)
    await pool.closer.__anext__()
    return session


async def aclose_pool() -> None:
    """Close the current event loop's connection pool now (it reopens on the next call)."""
    loop = asyncio.get_running_loop()
    with _pools_lock:
        pool = _pools.pop(loop, None)
    if pool is not None:
        if pool.closer is not None:
            await pool.closer.aclose()
        else:
            await pool.session.close()


def _ssl_arg(verify: bool | str | ssl.SSLContext) -> bool | ssl.SSLContext:
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    context = _ssl_contexts.get(verify)
    if context is None:
        context = ssl.create_default_context(cafile=verify)
        _ssl_contexts[verify] = context
    return context


def _dropped(exc: BaseException) -> bool:
    """Whether the server closed or reset the connection under the request (worth one retry).

    llama.cpp's server, for one, closes a kept-alive connection after a stream, so
    the next request on it fails while being written.
    """
    current: BaseException | None = exc
    for _ in range(4):
        if current is None:
            return False
        if isinstance(
            current,
            (
                aiohttp.ServerDisconnectedError,
                aiohttp.ClientConnectionResetError,
                ConnectionResetError,
                BrokenPipeError,
            ),
        ):
            return True
        if isinstance(current, OSError) and current.errno in (errno.ECONNRESET, errno.EPIPE):
            return True
        current = current.__cause__ or current.__context__
    return False


class AiohttpTransport:
    """The default transport: aiohttp with one pooled session per event loop."""

    async def send(self, request: HTTPRequest) -> HTTPResponse:
        session = await _session()
        timeout = request.timeout
        client_timeout = _client_timeouts.get(timeout)
        if client_timeout is None:
            client_timeout = aiohttp.ClientTimeout(
                total=None, connect=timeout.connect, sock_read=timeout.first_byte
            )
            if len(_client_timeouts) < 64:
                _client_timeouts[timeout] = client_timeout
        options: dict[str, Any] = {
            "data": request.body,
            "headers": request.headers,
            "timeout": client_timeout,
            "allow_redirects": False,
            "proxy": request.proxy,
            "ssl": _ssl_arg(request.verify),
        }
        debug = logger.isEnabledFor(logging.DEBUG)
        if debug:
            logger.debug("%s %s", request.method, request.url)
        for attempt in (1, 2):
            try:
                resp = await session.request(request.method, request.url, **options)
            except aiohttp.ClientConnectorError as exc:
                raise map_error(exc, request, "connect") from exc
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                # A pooled connection the server had already dropped. aiohttp retries
                # idempotent methods itself; a POST gets one more try here.
                if attempt == 1 and request.method == "POST" and _dropped(exc):
                    logger.debug("retrying %s %s once: %s", request.method, request.url, exc)
                    continue
                raise map_error(exc, request, "first byte") from exc
            except aiohttp.ConnectionTimeoutError as exc:
                raise map_error(exc, request, "connect") from exc
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                raise map_error(exc, request, "first byte") from exc
            if debug:
                logger.debug("%s %s -> %d", request.method, request.url, resp.status)
            return _AiohttpResponse(resp, request)
        raise AssertionError("unreachable")  # pragma: no cover


_default: AiohttpTransport | None = None


def default_transport() -> AiohttpTransport:
    global _default  # noqa: PLW0603 - one stateless instance, made on first use
    if _default is None:
        _default = AiohttpTransport()
    return _default
