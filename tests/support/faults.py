"""Built-in faults for :meth:`HTTPServer.add_fault`.

Each factory returns an async ``fault(request, conn)`` that takes over the
connection once the request (body included) has been read. Stalls last until the
client leaves or the server stops. Faults that write one complete, well-framed
response (``status``, ``sse``, ``ndjson``) keep the connection usable; the others
close it afterwards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from .gojson import go_dumps
from .httpmsg import Connection, Fault, HeaderArg, Request, Response

__all__ = [
    "close_before_headers",
    "delayed",
    "headers_then_stall",
    "ndjson",
    "never_respond",
    "raw",
    "reset_before_headers",
    "sse",
    "status",
    "stream_then_close",
    "stream_then_stall",
]

Items = "list[bytes | str | dict[str, Any]] | bytes | str"
_TINY = 0.002


def _auto_type(request: Request, content_type: str | None) -> str:
    if content_type is not None:
        return content_type
    return "text/event-stream" if "/v1/" in request.path else "application/x-ndjson"


def _as_bytes(item: bytes | str) -> bytes:
    return item.encode() if isinstance(item, str) else item


def close_before_headers() -> Fault:
    """Read the request, then close the connection (FIN) without answering."""

    async def fault(request: Request, conn: Connection) -> bool:
        conn.close()
        return False

    return fault


def reset_before_headers() -> Fault:
    """Read the request, then reset the connection (SO_LINGER 0 -> RST)."""

    async def fault(request: Request, conn: Connection) -> bool:
        conn.reset()
        return False

    return fault


def never_respond() -> Fault:
    """Hold the connection open, answering nothing, until the client leaves."""

    async def fault(request: Request, conn: Connection) -> bool:
        await conn.wait_peer_closed()
        return False

    return fault


def delayed(seconds: float, then: Fault) -> Fault:
    """Wait ``seconds`` before handing the connection to ``then``."""

    async def fault(request: Request, conn: Connection) -> bool | None:
        await asyncio.sleep(seconds)
        return await then(request, conn)

    return fault


async def _open_stream(
    request: Request, status_code: int, content_type: str | None, headers: HeaderArg
) -> Response:
    response = Response(request)
    await response.start_stream(status_code, _auto_type(request, content_type), headers)
    return response


def headers_then_stall(
    *, status: int = 200, content_type: str | None = None, headers: HeaderArg = None
) -> Fault:
    """Send the status line and headers of a chunked stream, then nothing."""

    async def fault(request: Request, conn: Connection) -> bool:
        await _open_stream(request, status, content_type, headers)
        await conn.wait_peer_closed()
        return False

    return fault


def _partial_stream(
    chunks: Iterable[bytes | str], content_type: str | None, delay: float, *, close: bool
) -> Fault:
    items = [_as_bytes(c) for c in chunks]

    async def fault(request: Request, conn: Connection) -> bool:
        response = await _open_stream(request, 200, content_type, None)
        for item in items:
            await response.write_chunk(item)
            if delay:
                await asyncio.sleep(delay)
        if close:
            conn.close()
        else:
            await conn.wait_peer_closed()
        return False

    return fault


def stream_then_stall(
    chunks: Iterable[bytes | str], *, content_type: str | None = None, delay: float = 0.0
) -> Fault:
    """Send ``chunks`` (one HTTP chunk each) of a 200 stream, then go silent."""
    return _partial_stream(chunks, content_type, delay, close=False)


def stream_then_close(
    chunks: Iterable[bytes | str], *, content_type: str | None = None, delay: float = 0.0
) -> Fault:
    """Send ``chunks`` of a 200 stream, then close without the terminating ``0`` chunk."""
    return _partial_stream(chunks, content_type, delay, close=True)


def raw(
    data: bytes, *, segment: int | None = None, delay: float = 0.0, keep_alive: bool = False
) -> Fault:
    """Write exactly ``data`` (a whole HTTP response) to the socket.

    With ``segment``, write ``segment`` bytes at a time with TCP_NODELAY, draining and
    sleeping ``delay`` (at least a couple of ms) between writes, so each lands in its own
    TCP segment. The connection is closed afterwards unless ``keep_alive``.
    """

    async def fault(request: Request, conn: Connection) -> bool:
        if segment is None:
            await conn.write(data)
        else:
            conn.set_nodelay()
            for start in range(0, len(data), segment):
                if start:
                    await asyncio.sleep(max(delay, _TINY))
                await conn.write(data[start : start + segment])
        if not keep_alive:
            conn.close()
        return keep_alive

    return fault


def status(
    code: int,
    body: bytes | str = b"",
    content_type: str | None = "application/json; charset=utf-8",
    headers: HeaderArg = None,
) -> Fault:
    """Answer with a complete response (Content-Length); the connection stays usable."""

    async def fault(request: Request, conn: Connection) -> bool:
        response = Response(request)
        await response.send(code, body, content_type, headers)
        return not response.close_after

    return fault


def _body_chunks(parts: list[bytes], segment: int | None) -> list[bytes]:
    if segment is None:
        return parts
    body = b"".join(parts)
    return [body[i : i + segment] for i in range(0, len(body), segment)]


def _streamed(
    parts: list[bytes],
    content_type: str,
    *,
    segment: int | None,
    delay: float,
    status_code: int,
    headers: HeaderArg,
) -> Fault:
    async def fault(request: Request, conn: Connection) -> bool:
        response = Response(request)
        await response.start_stream(status_code, content_type, headers)
        if segment is not None:
            conn.set_nodelay()
        pause = max(delay, _TINY) if segment is not None else delay
        for i, chunk in enumerate(_body_chunks(parts, segment)):
            if i and pause:
                await asyncio.sleep(pause)
            await response.write_chunk(chunk)
        await response.end_stream()
        return not response.close_after

    return fault


def sse(
    events: list[bytes | str | dict[str, Any]] | bytes | str,
    *,
    segment: int | None = None,
    delay: float = 0.0,
    status: int = 200,
    headers: HeaderArg = None,
) -> Fault:
    """A proper chunked ``text/event-stream`` response.

    ``events``: the whole body (bytes/str), or a list whose items become one HTTP chunk
    each: raw bytes/str as given, dicts as ``data: <Go-style JSON>\\n\\n``. With
    ``segment`` the body is re-cut into chunks of ``segment`` bytes (each its own TCP
    write, TCP_NODELAY, ``delay`` or a tiny sleep between) - JSON and UTF-8 split anywhere.
    """
    items = [events] if isinstance(events, bytes | str) else events
    parts = [
        b"data: " + go_dumps(e) + b"\n\n" if isinstance(e, dict) else _as_bytes(e) for e in items
    ]
    return _streamed(
        parts,
        "text/event-stream",
        segment=segment,
        delay=delay,
        status_code=status,
        headers=headers,
    )


def ndjson(
    lines: list[bytes | str | dict[str, Any]] | bytes | str,
    *,
    segment: int | None = None,
    delay: float = 0.0,
    status: int = 200,
    headers: HeaderArg = None,
) -> Fault:
    """Like :func:`sse` for ``application/x-ndjson``; dict items become ``<JSON>\\n``."""
    items = [lines] if isinstance(lines, bytes | str) else lines
    parts = [go_dumps(e, newline=True) if isinstance(e, dict) else _as_bytes(e) for e in items]
    return _streamed(
        parts,
        "application/x-ndjson",
        segment=segment,
        delay=delay,
        status_code=status,
        headers=headers,
    )
