"""A loopback stand-in for Ollama that streams pre-built answers as fast as the socket takes them.

Run it in its own process (``python -m bench.server``): it prints its port on
stdout, then serves until stdin closes or it gets SIGTERM/SIGINT. Per request it
does one small JSON parse and then writes cached bytes: every answer body
(HTTP/1.1 chunked, one HTTP chunk per SSE event or NDJSON line, like Go's
net/http flushing after each token) is built once per shape and chunk count,
then sent in 256 KiB slices under asyncio flow control. Its own CPU time and the
number of accepted connections are served at ``GET /_bench/stats``.

Routes: ``/v1/chat/completions`` (and ``/chat/completions``), ``/api/chat``,
``/api/generate``, ``/api/embed`` and ``/v1/embeddings`` (384 floats per input),
``/api/tags``, ``/v1/models``, ``/api/version``, ``/``. The model name
``bench:N`` asks for N text chunks (see :mod:`bench.wire`).

A model's serving capacity: ``--slots N`` lets at most N paced answers
(``bench:N@pace``) stream at once, the others wait for a free slot before their
headers, as llama.cpp's ``--parallel`` slots do; ``--models a,b`` adds names to
the model lists.

Why not the tests' fake Ollama (``tests.support.fake_ollama``): it builds each
line as it goes, the way a real server does, and that costs it 13.5 µs of CPU
per streamed line against under 0.1 µs here (20,000-line ``/api/chat`` stream,
measured 2026-12-04). On two cores the fake would be the bottleneck and every
ratio would measure it, not the client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import json
import os
import signal
import sys
import time
from collections import OrderedDict, deque
from typing import cast

from bench import wire

_SLICE = 256 * 1024
_CACHE_ENTRIES = 64
_MAX_HEAD = 64 * 1024


class _State:
    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0
        self.chats = 0
        self.open = 0
        self.models: list[str] = [wire.model_name(n) for n in (16, 1000)]
        self.slots: asyncio.Semaphore | None = None
        self.cache: OrderedDict[tuple[str, str, bool], bytes] = OrderedDict()

    def body(self, kind: str, model: str, usage: bool) -> bytes:
        key = (kind, model, usage)
        cached = self.cache.get(key)
        if cached is not None:
            self.cache.move_to_end(key)
            return cached
        n = wire.chunks_of(model)
        if kind == "sse":
            data = wire.chunked(wire.sse_events(model, n, usage))
        else:
            data = wire.chunked(wire.native_lines(model, n))
        self.cache[key] = data
        if len(self.cache) > _CACHE_ENTRIES:
            self.cache.popitem(last=False)
        return data


STATE = _State()


def _head(status: str, content_type: str, extra: str = "") -> bytes:
    date = email.utils.formatdate(usegmt=True)
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nDate: {date}\r\n{extra}\r\n"
    ).encode()


def _whole(status: str, content_type: str, body: bytes, head_only: bool = False) -> bytes:
    head = _head(status, content_type, f"Content-Length: {len(body)}\r\n")
    return head if head_only else head + body


def _json(obj: object, status: str = "200 OK") -> bytes:
    return _whole(status, "application/json; charset=utf-8", json.dumps(obj).encode())


def _tags() -> dict[str, object]:
    details = {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "3.2B",
        "quantization_level": "Q4_K_M",
    }
    models = [
        {
            "name": name,
            "model": name,
            "modified_at": "2025-05-04T17:37:44.706015396-07:00",
            "size": 2019393189,
            "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
            "details": details,
        }
        for name in STATE.models
    ]
    return {"models": models}


def _whole_chat(model: str, native: bool) -> bytes:
    text = wire.expected_text(wire.chunks_of(model))
    if native:
        return _json(
            {
                "model": model,
                "created_at": "2025-07-07T20:22:19.184789Z",
                "message": {"role": "assistant", "content": text},
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": 26,
                "eval_count": 5,
            }
        )
    return _json(
        {
            "id": "chatcmpl-42",
            "object": "chat.completion",
            "created": 1755000000,
            "model": model,
            "system_fingerprint": "fp_ollama",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 26, "completion_tokens": 5, "total_tokens": 31},
        }
    )


def _chat(path: str, body: bytes) -> bytes | Paced:
    native = path == "/api/chat"
    try:
        req = json.loads(body) if body else None
    except ValueError:
        req = None
    if not isinstance(req, dict) or not req.get("messages"):
        if native:
            return _json({"error": "invalid request"}, "400 Bad Request")
        err = {"message": "invalid request", "type": "invalid_request_error"}
        return _json({"error": err}, "400 Bad Request")
    model = str(req.get("model") or "")
    STATE.chats += 1
    stream = req.get("stream", native)
    if not stream:
        return _whole_chat(model, native)
    options = req.get("stream_options")
    usage = not native and isinstance(options, dict) and bool(options.get("include_usage"))
    kind = "application/x-ndjson" if native else "text/event-stream"
    head = _head("200 OK", kind, "Transfer-Encoding: chunked\r\n")
    pace = wire.pace_of(model)
    if pace:
        n = wire.chunks_of(model)
        pieces = wire.native_lines(model, n) if native else wire.sse_events(model, n, usage)
        return Paced(head, [wire.chunked([p])[:-5] for p in pieces], pace)
    return head + STATE.body("ndjson" if native else "sse", model, usage)


class Paced:
    """An answer written one HTTP chunk at a time, ``pace`` seconds apart."""

    def __init__(self, head: bytes, chunks: list[bytes], pace: float) -> None:
        self.head, self.chunks, self.pace = head, chunks, pace


EMBED_DIM = 384


def _embed(path: str, body: bytes) -> bytes:
    req = json.loads(body)
    inputs = req.get("input")
    count = len(inputs) if isinstance(inputs, list) else 1
    openai = path != "/api/embed"
    return _whole(
        "200 OK",
        "application/json; charset=utf-8",
        wire.embed_answer(str(req.get("model", "")), count, EMBED_DIM, openai),
    )


def _generate(body: bytes) -> bytes:
    req = json.loads(body)
    model = str(req.get("model") or "")
    key = ("generate", model, False)
    data = STATE.cache.get(key)
    if data is None:
        data = STATE.cache[key] = wire.chunked(wire.generate_lines(model, wire.chunks_of(model)))
    return _head("200 OK", "application/x-ndjson", "Transfer-Encoding: chunked\r\n") + data


def respond(method: str, path: str, body: bytes) -> bytes | Paced:
    path = path.split("?", 1)[0]
    if method == "POST" and path in ("/api/embed", "/v1/embeddings", "/embeddings"):
        return _embed(path, body)
    if method == "POST" and path == "/api/generate":
        return _generate(body)
    if method in ("GET", "HEAD") and path == "/":
        return _whole("200 OK", "text/plain; charset=utf-8", b"Ollama is running", method == "HEAD")
    if method == "POST" and path in ("/v1/chat/completions", "/chat/completions", "/api/chat"):
        return _chat(path, body)
    if method == "GET":
        if path == "/api/tags":
            return _json(_tags())
        if path in ("/v1/models", "/models"):
            data = [
                {"id": m["name"], "object": "model", "created": 1686935002, "owned_by": "library"}
                for m in _tags()["models"]  # type: ignore[attr-defined]
            ]
            return _json({"object": "list", "data": data})
        if path == "/api/version":
            return _json({"version": "0.33.0"})
        if path == "/_bench/stats":
            return _json(
                {
                    "pid": os.getpid(),
                    "connections": STATE.connections,
                    "open": STATE.open,
                    "requests": STATE.requests,
                    "chats": STATE.chats,
                    "cpu_s": time.process_time(),
                }
            )
    return _whole("404 Not Found", "text/plain; charset=utf-8", b"404 page not found")


class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: parse requests, queue answers, write in slices."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.inbuf = bytearray()
        self.out: deque[memoryview] = deque()
        self.paused = False
        self.close_after = False
        self.pacer: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=2 * _SLICE, low=_SLICE)
        STATE.connections += 1
        STATE.open += 1

    def connection_lost(self, exc: Exception | None) -> None:
        STATE.open -= 1
        self.out.clear()

    def data_received(self, data: bytes) -> None:
        self.inbuf += data
        while self.pacer is None:
            end = self.inbuf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.inbuf) > _MAX_HEAD:
                    self._fail()
                return
            head = bytes(self.inbuf[:end]).decode("latin-1").split("\r\n")
            parts = head[0].split(" ")
            if len(parts) != 3:
                self._fail()
                return
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if len(self.inbuf) < end + 4 + length:
                return  # wait for the rest of the body
            body = bytes(self.inbuf[end + 4 : end + 4 + length])
            del self.inbuf[: end + 4 + length]
            STATE.requests += 1
            if headers.get("connection", "").lower() == "close":
                self.close_after = True
            answer = respond(parts[0], parts[1], body)
            if isinstance(answer, Paced):
                self.pacer = asyncio.ensure_future(self._paced(answer))
                return  # no pipelining: the client waits for this answer
            self.out.append(memoryview(answer))
            self._pump()

    async def _paced(self, answer: Paced) -> None:
        transport = self.transport
        assert transport is not None
        slots = STATE.slots
        if slots is not None:
            await slots.acquire()  # a busy model: wait for a slot before answering
        try:
            if transport.is_closing():
                return
            transport.write(answer.head)
            for piece in answer.chunks:
                await asyncio.sleep(answer.pace)
                if transport.is_closing():
                    return
                transport.write(piece)
            transport.write(b"0\r\n\r\n")
        finally:
            if slots is not None:
                slots.release()
        self.pacer = None
        if self.inbuf:
            self.data_received(b"")

    def _fail(self) -> None:
        if self.transport is not None:
            self.transport.write(_whole("400 Bad Request", "text/plain", b"bad request"))
            self.transport.close()

    def _pump(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        while self.out and not self.paused:
            view = self.out[0]
            if len(view) <= _SLICE:
                self.out.popleft()
                transport.write(view)
            else:
                transport.write(view[:_SLICE])
                self.out[0] = view[_SLICE:]
        if not self.out and self.close_after:
            transport.close()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._pump()


async def serve(host: str, port: int, slots: int = 0) -> None:
    loop = asyncio.get_running_loop()
    if slots > 0:
        STATE.slots = asyncio.Semaphore(slots)
    server = await loop.create_server(_Conn, host, port, backlog=4096, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(bound, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    # The parent's end of our stdin closes when it exits: stop then too.
    with contextlib.suppress(OSError, ValueError):
        loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not os.read(0, 4096) else None)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument("--slots", type=int, default=0, help="paced answers at once (0: any)")
    parser.add_argument("--models", default="", help="more model names to list, comma-separated")
    args = parser.parse_args()
    STATE.models += [m for m in args.models.split(",") if m]
    runner = asyncio.run
    if args.loop != "asyncio":
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:
            if args.loop == "uvloop":
                raise
    runner(serve(args.host, args.port, args.slots))


if __name__ == "__main__":
    main()
