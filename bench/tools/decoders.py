"""Micro-benchmark: decoding this server's chunk shapes (not part of ``python -m bench``).

    python -m bench.tools.decoders [--events 2000] [--repeat 15]

ns per chunk, median of ``--repeat`` runs, for: decoding one payload with
``json``, ``orjson``, ``msgspec`` (untyped) and ``msgspec`` with typed Structs
that keep only the fields the library reads (unknown fields are skipped at C
speed); the same plus pulling out the text; batch variants (one decode call
for all payloads of a read); and the library's own ``ChatAssembler.feed`` on a
whole read of events, for scale. msgspec is optional (``pip install msgspec``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from bench import wire


def _time(fn: Callable[[], object], count: int, repeat: int) -> float:
    """Median ns per item of ``fn`` (which handles ``count`` items per call)."""
    fn()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        runs.append((time.perf_counter_ns() - t0) / count)
    return statistics.median(runs)


try:
    import msgspec
except ImportError:  # optional: the msgspec rows are left out
    msgspec = None

if msgspec is not None:
    # Only the fields the library reads; every other key is skipped while parsing.

    class Delta(msgspec.Struct):
        content: str | None = None
        reasoning: str | None = None
        reasoning_content: str | None = None
        tool_calls: list[Any] | None = None

    class Choice(msgspec.Struct):
        delta: Delta | None = None
        finish_reason: str | None = None

    class ChunkUsage(msgspec.Struct):
        prompt_tokens: int = 0
        completion_tokens: int = 0
        total_tokens: int | None = None

    class Chunk(msgspec.Struct):
        choices: list[Choice] | None = None
        usage: ChunkUsage | None = None
        error: Any = None

    class Message(msgspec.Struct):
        content: str | None = None
        thinking: str | None = None
        tool_calls: list[Any] | None = None

    class Line(msgspec.Struct):
        message: Message | None = None
        done: bool = False
        done_reason: str | None = None
        prompt_eval_count: int = 0
        eval_count: int = 0
        error: Any = None


def run(events: int, repeat: int) -> list[tuple[str, float]]:
    model = wire.model_name(events)
    sse = wire.sse_events(model, events, True)
    payloads = [e[6:-2] for e in sse[:-1]]  # without "data: ", "\n\n" and [DONE]
    lines = wire.native_lines(model, events)
    n = len(payloads)
    rows: list[tuple[str, float]] = []

    def add(label: str, fn: Callable[[], object], count: int = n) -> None:
        rows.append((label, _time(fn, count, repeat)))

    add("SSE payload: json.loads", lambda: [json.loads(p) for p in payloads])
    add("SSE payload: orjson.loads", lambda: [orjson.loads(p) for p in payloads])

    def orjson_text() -> list[str]:
        out = []
        for p in payloads:
            choices = orjson.loads(p).get("choices")
            if choices:
                content = choices[0].get("delta", {}).get("content")
                if content:
                    out.append(content)
        return out

    add("SSE payload: orjson.loads + get text", orjson_text)
    joined = b"[" + b",".join(payloads) + b"]"
    add(
        "SSE batch: orjson.loads('[' + ','.join + ']')",
        lambda: orjson.loads(b"[" + b",".join(payloads) + b"]"),
    )
    if msgspec is not None:
        untyped = msgspec.json.Decoder()
        typed = msgspec.json.Decoder(Chunk)
        typed_list = msgspec.json.Decoder(list[Chunk])
        add("SSE payload: msgspec untyped", lambda: [untyped.decode(p) for p in payloads])
        add("SSE payload: msgspec typed Struct", lambda: [typed.decode(p) for p in payloads])

        def msgspec_text() -> list[str]:
            out = []
            for p in payloads:
                choices = typed.decode(p).choices
                if choices:
                    delta = choices[0].delta
                    if delta is not None and delta.content:
                        out.append(delta.content)
            return out

        add("SSE payload: msgspec typed + get text", msgspec_text)
        assert msgspec_text() == orjson_text()
        add(
            "SSE batch: msgspec typed list decode",
            lambda: typed_list.decode(b"[" + b",".join(payloads) + b"]"),
        )
        assert len(typed_list.decode(joined)) == n
    add("native line: json.loads", lambda: [json.loads(x) for x in lines], len(lines))
    add("native line: orjson.loads", lambda: [orjson.loads(x) for x in lines], len(lines))
    if msgspec is not None:
        line_dec = msgspec.json.Decoder(Line)
        body = b"".join(lines)
        add("native line: msgspec typed", lambda: [line_dec.decode(x) for x in lines], len(lines))
        add(
            "native batch: msgspec typed decode_lines",
            lambda: line_dec.decode_lines(body),
            len(lines),
        )

    from ollama_provider._assemble import ChatAssembler

    read = b"".join(sse)
    add("library ChatAssembler.feed (SSE), whole read", lambda: ChatAssembler().feed(read), n)
    add("  of which SSEDecoder.feed (framing only)", lambda: _framing(read), n)
    body_native = b"".join(lines)
    add(
        "library ChatAssembler.feed (native), whole read",
        lambda: ChatAssembler(native=True).feed(body_native),
        len(lines),
    )
    add("alt framing: bytes.split(b'\\n\\n') + strip 'data: '", lambda: _split_framing(read), n)
    return rows


def _framing(data: bytes) -> object:
    from ollama_provider._decode import SSEDecoder

    return SSEDecoder().feed(data)


def _split_framing(data: bytes) -> list[bytes]:
    """What a fast path could do when a read holds only ``\\n`` line ends and ``data: `` lines."""
    events = data.split(b"\n\n")
    events.pop()
    return [e[6:] for e in events if e[:6] == b"data: "]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    rows = run(args.events, args.repeat)
    width = max(len(label) for label, _ in rows)
    print(f"{'':{width}}  ns/chunk")
    for label, ns in rows:
        print(f"{label:{width}}  {ns:8.0f}")


if __name__ == "__main__":
    main()
