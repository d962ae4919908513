"""Fault injection, stream framing over real sockets: SSE variants, splits, huge and bad lines."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest

from ollama_provider import FinishReason, Ollama, StreamInterruptedError, Usage
from tests.support import faults
from tests.support.httpserver import HTTPServer

USER = [{"role": "user", "content": "Hi"}]
CHAT = "/v1/chat/completions"
TEXT = "Grüße, 世界! 😀 a\u2028b\u0085c"  # multi-byte, and characters str.splitlines breaks on


def event(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> bytes:
    obj: dict[str, Any] = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    if usage:
        obj = {"choices": [], "usage": usage}
    return json.dumps(obj, ensure_ascii=False).encode()


PIECES = [TEXT[:7], TEXT[7:12], TEXT[12:]]
PAYLOADS = [event({"content": p}) for p in PIECES] + [
    event({}, "stop"),
    event({}, usage={"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}),
]
EXPECTED = [*PIECES, FinishReason("stop"), Usage(3, 3, 6)]


def body(
    sep: bytes = b"\n", prefix: bytes = b"data: ", extra: bytes = b"", bom: bool = False
) -> bytes:
    out = b"\xef\xbb\xbf" if bom else b""
    for payload in PAYLOADS:
        out += extra + prefix + payload + sep + sep
    return out + prefix + b"[DONE]" + sep + sep


def stream(httpserver: HTTPServer, **kwargs: Any) -> list[Any]:
    return list(Ollama.create_completion("m", USER, api_base=httpserver.url, **kwargs))


@pytest.mark.parametrize(
    "raw",
    [
        body(),
        body(sep=b"\r\n"),
        body(sep=b"\r"),
        body(prefix=b"data:"),
        body(extra=b": keep-alive\n\nevent: message\nid: 12\nretry: 3000\n"),
        body(bom=True),
    ],
    ids=["lf", "crlf", "cr", "no space", "comments and fields", "bom"],
)
@pytest.mark.parametrize("segment", [None, 1, 5], ids=["whole", "bytewise", "5 bytes"])
def test_sse_variants_over_tcp(httpserver: HTTPServer, raw: bytes, segment: int | None) -> None:
    httpserver.add_fault(CHAT, faults.sse(raw, segment=segment))
    items = stream(httpserver)
    assert items == EXPECTED
    assert "".join(map(str, items)) == TEXT


def test_several_data_lines_make_one_event(httpserver: HTTPServer) -> None:
    pretty = json.dumps(json.loads(PAYLOADS[0]), indent=2, ensure_ascii=False).encode()
    raw = b"".join(b"data: " + line + b"\n" for line in pretty.split(b"\n")) + b"\n"
    raw += b"".join(b"data: " + p + b"\n\n" for p in PAYLOADS[1:]) + b"data: [DONE]\n\n"
    httpserver.add_fault(CHAT, faults.sse(raw, segment=3))
    assert stream(httpserver) == EXPECTED


def test_every_byte_in_its_own_tcp_segment_raw_http(httpserver: HTTPServer) -> None:
    sse = body(sep=b"\r\n")
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        + f"Content-Length: {len(sse)}\r\n\r\n".encode()
        + sse
    )
    httpserver.add_fault(CHAT, faults.raw(response, segment=1))
    assert stream(httpserver) == EXPECTED


def test_ndjson_native_split_anywhere(httpserver: HTTPServer) -> None:
    lines = [
        json.dumps(
            {"message": {"role": "assistant", "content": p}, "done": False}, ensure_ascii=False
        ).encode()
        + b"\n"
        for p in PIECES
    ]
    lines.append(
        b'{"message":{"role":"assistant","content":""},"done":true,'
        b'"done_reason":"stop","prompt_eval_count":3,"eval_count":3}\n'
    )
    httpserver.add_fault("/api/chat", faults.ndjson(b"".join(lines), segment=2))
    items = stream(httpserver, keep_alive="5m")
    assert items == EXPECTED


def test_a_10_mb_line_is_delivered_intact(httpserver: HTTPServer) -> None:
    big = "x" * 5_000_000 + "é" * 2_500_000  # 10 MB of UTF-8 in one JSON line
    raw = b"data: " + event({"content": big}) + b"\n\n" + b"data: " + event({}, "stop") + b"\n\n"
    httpserver.add_fault(CHAT, faults.sse(raw + b"data: [DONE]\n\n"))
    items = stream(httpserver)
    assert items == [big, FinishReason("stop")]


@pytest.mark.parametrize("limit", [None, 1024 * 1024], ids=["default 16 MiB", "1 MiB"])
def test_a_line_beyond_the_limit_fails_with_bounded_memory(
    httpserver: HTTPServer, limit: int | None
) -> None:
    allowed = limit or 16 * 1024 * 1024
    size = allowed + 24 * 1024 * 1024  # the line goes on well past the limit
    first = b"data: " + event({"content": "ok"}) + b"\n\n"
    chunks = [first, b"data: "] + [b"y" * (1 << 20)] * (size >> 20) + [b"\n\n"]
    httpserver.add_fault(CHAT, faults.sse(chunks))
    kwargs = {} if limit is None else {"max_line_size": limit}
    tracemalloc.start()
    try:
        with pytest.raises(StreamInterruptedError) as info:
            stream(httpserver, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f"{allowed:,} byte limit" in str(info.value)
    assert "max_line_size" in str(info.value)
    assert info.value.partial == "ok"
    # The limit plus a few MiB of socket and parser buffers; never the whole 24 MiB+ line.
    assert peak < allowed + 10 * 1024 * 1024


def test_a_data_line_that_is_not_json_is_named(httpserver: HTTPServer) -> None:
    raw = b"data: " + PAYLOADS[0] + b"\n\ndata: {truncated\n\n"
    httpserver.add_fault(CHAT, faults.sse(raw))
    with pytest.raises(StreamInterruptedError) as info:
        stream(httpserver)
    assert "not JSON" in str(info.value) and "{truncated" in str(info.value)
    assert info.value.partial == PIECES[0]
