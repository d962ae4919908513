"""Pure framing of streamed bodies: bytes in, complete units out, no I/O.

Two framings, both driven by the transport with whatever pieces the socket
gives (one byte at a time or megabytes at once, split anywhere, UTF-8
characters included):

- :class:`SSEDecoder`: Server-Sent Events. Lines end at ``\\n``, ``\\r\\n`` or
  ``\\r``; ``data:`` lines (with or without the space) gather until a blank line
  ends the event; comments and ``event:``/``id:``/``retry:`` lines are ignored;
  a UTF-8 BOM at the start is dropped. An ``error:`` line (llama.cpp reports a
  failure mid-stream that way, then sends ``data: [DONE]``) raises
  :class:`ErrorFieldError` at once, with the events before it.
- :class:`NDJSONDecoder`: one JSON document per ``\\n``-terminated line; blank
  lines are skipped.

Lines are split on bytes, never with ``str.splitlines``: that also breaks on
U+2028, NEL and other characters that are legal inside JSON strings.

Limit: a line, and an SSE event however many ``data:`` lines it gathers, may
hold at most ``max_line`` bytes (default 16 MiB). Unlike h11's 16 KiB header
limit, a unit here carries a whole JSON chunk, and a model's tool call or a
base64 image can be megabytes long; 16 MiB keeps such answers intact while
bounding what a broken or hostile server can make us hold in memory. Past it,
:class:`LineTooLongError` is raised at once, before the rest is read. Memory
is then at most about one unit plus one socket read.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_MAX_LINE",
    "DecodeError",
    "ErrorFieldError",
    "LineTooLongError",
    "NDJSONDecoder",
    "SSEDecoder",
]

DEFAULT_MAX_LINE = 16 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"


class DecodeError(Exception):
    """The body cannot be decoded; ``items`` holds what was decoded before the fault."""

    def __init__(self, message: str, items: list[object] | None = None) -> None:
        super().__init__(message)
        self.items: list[object] = items if items is not None else []


class LineTooLongError(DecodeError):
    """A line (or an SSE event) grew past the decoder's ``max_line`` limit."""


class ErrorFieldError(DecodeError):
    """An SSE ``error:`` line; ``payload`` is its value (llama.cpp puts a JSON error there)."""

    def __init__(self, payload: bytes, items: list[object]) -> None:
        super().__init__("the server sent an error in the stream", items)
        self.payload = payload


def _too_long(
    limit: int, lines: list[bytes] | None = None, unit: str = "a line"
) -> LineTooLongError:
    return LineTooLongError(
        f"{unit} of the response exceeded the {limit:,} byte limit; the rest was not read",
        list(lines or ()),
    )


class _Lines:
    """Splits bytes into lines with a bounded unfinished tail."""

    __slots__ = ("_cr", "_fresh", "_limit", "_pending", "_pending_len")

    def __init__(self, max_line: int, *, cr: bool) -> None:
        self._limit = max_line
        self._cr = cr  # whether a lone "\r" also ends a line (SSE)
        self._pending: list[bytes] = []
        self._pending_len = 0
        self._fresh = True  # nothing decided yet about a leading BOM

    def split(self, data: bytes) -> list[bytes]:
        if self._fresh:
            if self._pending:
                data = self._pending.pop() + data
                self._pending_len = 0
            if len(data) < 3 and _BOM.startswith(data):
                if data:  # maybe the start of a BOM: wait for more
                    self._pending.append(data)
                    self._pending_len = len(data)
                return []
            self._fresh = False
            if data.startswith(_BOM):
                data = data[3:]
        if b"\n" not in data and not (self._cr and b"\r" in data):
            self._pending.append(data)
            self._pending_len += len(data)
            if self._pending_len > self._limit:
                raise _too_long(self._limit)
            return []
        if self._pending:
            self._pending.append(data)
            data = b"".join(self._pending)
            self._pending.clear()
        if self._cr and b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = data.split(b"\n")
        tail = lines.pop()
        self._pending_len = len(tail)
        if tail:
            self._pending.append(tail)
        if len(data) > self._limit:
            for i, line in enumerate(lines):
                if len(line) > self._limit:
                    raise _too_long(self._limit, lines[:i])  # the complete lines before it
            if self._pending_len > self._limit:
                raise _too_long(self._limit, lines)
        return lines

    def rest(self) -> bytes:
        """The unterminated last line (the body ended without a line break)."""
        data = b"" if self._fresh else b"".join(self._pending)
        self._pending.clear()
        self._pending_len = 0
        return data


class SSEDecoder:
    """Server-Sent Events framing: ``feed(bytes)`` returns the data of each complete event.

    A body that ends without the final blank line still delivers its last event:
    losing a complete ``data:`` line to a missing separator helps no one.
    """

    __slots__ = ("_data", "_limit", "_lines", "_size", "_skip_lf")

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._lines = _Lines(max_line, cr=True)
        self._limit = max_line
        self._data: list[bytes] = []
        self._size = 0  # bytes gathered for the unfinished event
        self._skip_lf = False  # the previous piece ended in "\r": a leading "\n" is its pair

    def feed(self, data: bytes) -> list[bytes]:
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if data[-1:] == b"\r":
            self._skip_lf = True
        try:
            lines = self._lines.split(data)
        except DecodeError as exc:
            exc.items = list(self._events(exc.items))  # type: ignore[arg-type]
            raise
        return self._events(lines)

    def close(self) -> list[bytes]:
        rest = self._lines.rest()
        events = self._events([rest, b""] if rest else [b""])
        self._data.clear()
        self._size = 0
        return events

    def _events(self, lines: list[bytes]) -> list[bytes]:
        events: list[bytes] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data.clear()
                    self._size = 0
            elif line[:5] == b"data:":
                value = line[6:] if line[5:6] == b" " else line[5:]
                self._size += len(value) + 1
                if self._size > self._limit:
                    data.clear()
                    self._size = 0
                    raise _too_long(self._limit, events, "an event")
                data.append(value)
            elif line == b"data":
                data.append(b"")
            elif line[:6] == b"error:":
                raise ErrorFieldError(line[6:].strip(), events)  # type: ignore[arg-type]
            # comments (":"), event:, id:, retry: and unknown fields carry nothing for us
        return events


class NDJSONDecoder:
    """Newline-delimited JSON framing: ``feed(bytes)`` returns each complete non-blank line."""

    __slots__ = ("_lines",)

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._lines = _Lines(max_line, cr=False)

    def feed(self, data: bytes) -> list[bytes]:
        try:
            lines = self._lines.split(data)
        except DecodeError as exc:
            exc.items = [line for line in exc.items if line.strip()]  # type: ignore[attr-defined]
            raise
        return [line for line in lines if line.strip()]

    def close(self) -> list[bytes]:
        rest = self._lines.rest()
        return [rest] if rest.strip() else []
