"""HTTP/1.1 message types of the test server: headers, requests, the response writer.

Kept apart from :mod:`tests.support.httpserver` (which re-exports them) so each file
stays small. Nothing here depends on aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, unquote

__all__ = [
    "MAX_HEADERS",
    "MAX_LINE",
    "BadRequestError",
    "Connection",
    "Fault",
    "Handler",
    "HeaderArg",
    "Headers",
    "Match",
    "RecordedRequest",
    "Request",
    "Response",
    "header_block",
    "path_matches",
    "read_request",
]

Handler: TypeAlias = "Callable[[Request, Response], Awaitable[None]]"
#: A fault takes over the connection; return True to keep serving it afterwards
#: (only when it wrote one complete response), anything else closes it.
Fault: TypeAlias = "Callable[[Request, Connection], Awaitable[bool | None]]"
Match: TypeAlias = "str | Callable[[Request], bool]"
HeaderArg: TypeAlias = "Mapping[str, str] | Iterable[tuple[str, str]] | None"


class Headers(Mapping[str, str]):
    """Case-insensitive header mapping that also keeps the original pairs in ``raw``."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self.raw: list[tuple[str, str]] = list(items)
        self._map: dict[str, str] = {}
        for name, value in self.raw:
            key = name.lower()
            self._map[key] = f"{self._map[key]}, {value}" if key in self._map else value

    def __getitem__(self, key: str) -> str:
        return self._map[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def get_all(self, key: str) -> list[str]:
        return [v for k, v in self.raw if k.lower() == key.lower()]

    def __repr__(self) -> str:
        return f"Headers({self.raw!r})"


def path_matches(path: str, match: str) -> bool:
    """Exact match, or ``match`` is a path suffix (so ``/api/chat`` matches ``/pfx/api/chat``)."""
    return path == match or (match.startswith("/") and match != "/" and path.endswith(match))


class Connection:
    """One accepted TCP connection; faults get it to write raw bytes or misbehave."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, cid: int
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.transport: asyncio.WriteTransport = writer.transport
        self.peer: Any = writer.get_extra_info("peername")
        self.id = cid
        self.requests_served = 0

    @property
    def closed(self) -> bool:
        return self.transport.is_closing()

    def set_nodelay(self) -> None:
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def write(self, data: bytes) -> None:
        """Write and drain; raises ConnectionResetError once the peer is gone."""
        if self.closed:
            raise ConnectionResetError("connection closed")
        self.writer.write(data)
        await self.writer.drain()

    async def sleep(self, seconds: float) -> None:
        """Sleep, but raise ConnectionResetError as soon as the client goes away."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            if self.closed or self.reader.at_eof():
                raise ConnectionResetError("client went away")
            left = deadline - loop.time()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.01))

    async def wait_peer_closed(self) -> None:
        """Discard input until the client closes (or resets) the connection."""
        try:
            while await self.reader.read(65536):
                pass
        except (ConnectionError, OSError):
            pass

    def close(self) -> None:
        """Orderly close (FIN) once buffered data is flushed."""
        self.writer.close()

    def reset(self) -> None:
        """Abort with SO_LINGER 0 so the peer receives a TCP RST."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


@dataclass
class Request:
    method: str
    target: str
    path: str
    query: str
    version: str
    headers: Headers
    body: bytes
    peer: Any
    conn: Connection = field(repr=False)

    @property
    def query_params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RecordedRequest:
    """What the server saw, kept in ``HTTPServer.requests``."""

    method: str
    path: str
    query: str
    headers: Headers
    body: bytes
    peer: Any
    connection_id: int
    faulted: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


def _status_line(status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = f"status code {status}"
    return f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1")


def header_block(status: int, pairs: list[tuple[str, str]]) -> bytes:
    lines = b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in pairs)
    return _status_line(status) + lines + b"\r\n"


class Response:
    """Writer API for handlers: a whole response, or a chunked stream."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.conn = request.conn
        self.state = "new"  # new -> streaming -> done
        self.status: int | None = None
        #: set True to close the connection after this response
        self.close_after = not request.keep_alive

    @property
    def writer(self) -> asyncio.StreamWriter:
        return self.conn.writer

    @property
    def transport(self) -> asyncio.WriteTransport:
        return self.conn.transport

    def _headers(
        self, content_type: str | None, framing: list[tuple[str, str]], headers: HeaderArg
    ) -> list[tuple[str, str]]:
        extra = list(headers.items() if isinstance(headers, Mapping) else (headers or []))
        given = {k.lower() for k, _ in extra}
        pairs: list[tuple[str, str]] = []
        if content_type is not None and "content-type" not in given:
            pairs.append(("Content-Type", content_type))
        if "date" not in given:
            pairs.append(("Date", formatdate(usegmt=True)))
        pairs += extra
        pairs += [p for p in framing if p[0].lower() not in given]
        if self.close_after:
            pairs.append(("Connection", "close"))
        return pairs

    async def send(
        self,
        status: int = 200,
        body: bytes | str = b"",
        content_type: str | None = "text/plain; charset=utf-8",
        headers: HeaderArg = None,
    ) -> None:
        if self.state != "new":
            raise RuntimeError("response already started")
        data = body.encode() if isinstance(body, str) else body
        self.state, self.status = "done", status
        no_body = status in (204, 304) or 100 <= status < 200
        framing = [] if no_body else [("Content-Length", str(len(data)))]
        head = header_block(status, self._headers(content_type, framing, headers))
        await self.conn.write(head if no_body or self.request.method == "HEAD" else head + data)

    async def start_stream(
        self,
        status: int = 200,
        content_type: str | None = "application/octet-stream",
        headers: HeaderArg = None,
    ) -> None:
        if self.state != "new":
            raise RuntimeError("response already started")
        self.state, self.status = "streaming", status
        framing = [("Transfer-Encoding", "chunked")]
        await self.conn.write(header_block(status, self._headers(content_type, framing, headers)))

    async def write_chunk(self, data: bytes | str) -> None:
        """Send one HTTP chunk (empty data is skipped: it would end the stream)."""
        if self.state != "streaming":
            raise RuntimeError("stream not started")
        raw = data.encode() if isinstance(data, str) else data
        if raw:
            await self.conn.write(b"%x\r\n%s\r\n" % (len(raw), raw))

    async def end_stream(self) -> None:
        if self.state != "streaming":
            raise RuntimeError("stream not started")
        self.state = "done"
        await self.conn.write(b"0\r\n\r\n")


MAX_LINE = 1 << 20
MAX_HEADERS = 200


class BadRequestError(Exception):
    """A request the server cannot parse; answered with ``status`` and closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _readline(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readline()
    except ValueError as exc:  # line longer than the stream limit
        raise BadRequestError(431, "header line too long") from exc


async def read_request(conn: Connection) -> Request | None:
    reader = conn.reader
    line = await _readline(reader)
    while line in (b"\r\n", b"\n"):
        line = await _readline(reader)
    if not line:
        return None
    if not line.endswith(b"\n"):
        return None  # EOF in the middle of the request line
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise BadRequestError(400, "malformed request line")
    method, target, version = parts
    pairs: list[tuple[str, str]] = []
    while True:
        hline = await _readline(reader)
        if not hline.endswith(b"\n"):
            return None
        if hline in (b"\r\n", b"\n"):
            break
        name, sep, value = hline.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequestError(400, "malformed header")
        pairs.append((name, value.strip()))
        if len(pairs) > MAX_HEADERS:
            raise BadRequestError(431, "too many headers")
    headers = Headers(pairs)
    if headers.get("expect", "").lower() == "100-continue":
        await conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError as exc:
            raise BadRequestError(400, "bad content-length") from exc
        body = await reader.readexactly(length)
    else:
        body = b""
    origin_form = target  # an absolute-form target (sent to a proxy) keeps its own ``target``
    if target.startswith(("http://", "https://")):
        origin_form = "/" + target.split("://", 1)[1].partition("/")[2]
    raw_path, _, query = origin_form.partition("?")
    return Request(
        method, target, unquote(raw_path), query, version, headers, body, conn.peer, conn
    )


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size_line = await _readline(reader)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise BadRequestError(400, "bad chunk size") from exc
        if size == 0:
            while (await _readline(reader)) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)
