"""Hostile inputs that once took quadratic time: scaling, not speed, is the figure.

- Streamed tool-call arguments in n one-character fragments (llama.cpp and vLLM
  stream them in pieces; a hostile server can send millions): the time for 2n
  over the time for n is about 2 when merging is linear, 4 when quadratic.
- The ``<title>`` of an error page crafted to make a backtracking search slow.

``python -m bench.worst`` prints the figures; the suite runs it as a section.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bench.common import Stat

_CALL_HEAD = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "f"}}


def _fragments(n: int) -> bytes:
    head = {"choices": [{"delta": {"tool_calls": [_CALL_HEAD]}}]}
    piece = {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "x"}}]}}]}
    line = b"data: " + json.dumps(piece).encode() + b"\n\n"
    end = b'data: {"choices":[{"delta":{},"finish_reason":"tool_calls"}]}\n\n'
    return b"data: " + json.dumps(head).encode() + b"\n\n" + line * n + end


def _merge_seconds(body: bytes) -> float:
    from ollama_provider._assemble import ChatAssembler

    started = time.perf_counter()
    assembler = ChatAssembler()
    items: list[Any] = []
    for start in range(0, len(body), 1 << 18):
        items += assembler.feed(body[start : start + (1 << 18)])
    elapsed = time.perf_counter() - started
    assert assembler.complete and items, "the calls did not assemble"
    return elapsed


def _title_seconds(size: int) -> float:
    from ollama_provider._requests import server_words

    page = (b"<html>" + b"<title " * (size // 7))[:size]
    started = time.perf_counter()
    server_words(page, "text/html")
    return time.perf_counter() - started


def run(fragments: int, rounds: int) -> dict[str, Any]:
    small, large = _fragments(fragments), _fragments(2 * fragments)
    times: dict[str, list[float]] = {"n": [], "2n": [], "title": []}
    for _ in range(rounds):
        times["n"].append(_merge_seconds(small))
        times["2n"].append(_merge_seconds(large))
        times["title"].append(_title_seconds(64 * 1024))
    n, two_n = Stat.of(times["n"]), Stat.of(times["2n"])
    return {
        "fragments": fragments,
        "rounds": rounds,
        "n_s": n.as_dict(),
        "2n_s": two_n.as_dict(),
        "scaling": two_n.median / n.median,
        "title_ms": Stat.of([t * 1e3 for t in times["title"]]).as_dict(),
    }


def markdown(result: dict[str, Any]) -> list[str]:
    if not result:
        return []
    n = result["fragments"]
    return [
        "## Hostile inputs",
        "",
        f"Streamed tool-call arguments as {n:,} and {2 * n:,} one-character fragments",
        f"({result['rounds']} rounds): {result['n_s']['median']:.2f} s and "
        f"{result['2n_s']['median']:.2f} s, a ratio of {result['scaling']:.2f} (2 is linear,",
        "4 quadratic; before the fix, 100k → 200k fragments took 2.2 s → 10.3 s).",
        f"The `<title>` of a crafted 64 KiB error page: {result['title_ms']['median']:.2f} ms",
        "(before the fix, a backtracking regex took 14.7 s and stalled the event loop).",
        "",
    ]


if __name__ == "__main__":
    print(json.dumps(run(100_000, 3), indent=1))
