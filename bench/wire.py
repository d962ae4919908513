"""The bytes the fake Ollama server sends, and what a client should read back from them.

Shapes follow ``/work/shared/reference/ollama-wire.md``: the OpenAI-compatible
SSE stream of Ollama 0.32.6+ (``data: {...}\\n\\n`` per chunk, a finish chunk, a
usage chunk when asked for, ``data: [DONE]``) and the native ``/api/chat``
NDJSON stream ending in a ``done: true`` line. Everything here is pure and
deterministic, so the server and the clients agree on the expected text.
"""

from __future__ import annotations

import json

__all__ = [
    "MODEL_PREFIX",
    "chunked",
    "chunks_of",
    "expected_text",
    "model_name",
    "native_lines",
    "pace_of",
    "sse_events",
    "tokens",
]

MODEL_PREFIX = "bench:"
"""The model name carries the chunk count: ``bench:1000`` streams 1000 text chunks as fast
as the socket takes them; ``bench:1000@500`` writes them one at a time, 500 µs apart."""

_CREATED = 1755000000
_CREATED_AT = "2025-07-07T20:22:19.184789Z"
_ID = "chatcmpl-42"
# A mix of what models emit: short words with a leading space, punctuation, line
# breaks (escaped in JSON), quotes and a few multi-byte UTF-8 characters.
_VOCAB = (
    " the", " model", " streams", " a", " token", ",", " and", " then", " another",
    " one", ".", "\n", " It", " is", " café", " —", " naïve", " “quoted”", " 42",
    " tokens", " per", " second", "!", ' "json"', " ok",
)  # fmt: skip


def model_name(n: int, pace_us: int = 0) -> str:
    return f"{MODEL_PREFIX}{n}@{pace_us}" if pace_us else f"{MODEL_PREFIX}{n}"


def chunks_of(model: str, default: int = 16) -> int:
    """The chunk count a request's model name asks for."""
    if model.startswith(MODEL_PREFIX):
        try:
            return max(1, int(model[len(MODEL_PREFIX) :].partition("@")[0]))
        except ValueError:
            return default
    return default


def pace_of(model: str) -> float:
    """Seconds between chunk writes a request's model name asks for (0: no pause)."""
    if model.startswith(MODEL_PREFIX) and "@" in model:
        try:
            return max(0, int(model.rpartition("@")[2])) / 1e6
        except ValueError:
            return 0.0
    return 0.0


def tokens(n: int) -> list[str]:
    """The ``n`` text pieces of an answer (deterministic)."""
    size = len(_VOCAB)
    return [_VOCAB[(i * 7 + i // size) % size] for i in range(n)]


def expected_text(n: int) -> str:
    return "".join(tokens(n))


def _compact(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _chunk_obj(model: str, delta: dict[str, str], finish: str | None) -> dict[str, object]:
    return {
        "id": _ID,
        "object": "chat.completion.chunk",
        "created": _CREATED,
        "model": model,
        "system_fingerprint": "fp_ollama",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def sse_events(model: str, n: int, include_usage: bool) -> list[bytes]:
    """Each SSE event of an OpenAI-layer stream, ``data: ...\\n\\n`` included."""
    events = []
    for i, text in enumerate(tokens(n)):
        delta = {"role": "assistant", "content": text} if i == 0 else {"content": text}
        events.append(b"data: " + _compact(_chunk_obj(model, delta, None)) + b"\n\n")
    events.append(b"data: " + _compact(_chunk_obj(model, {}, "stop")) + b"\n\n")
    if include_usage:
        usage = {
            "id": _ID,
            "object": "chat.completion.chunk",
            "created": _CREATED,
            "model": model,
            "system_fingerprint": "fp_ollama",
            "choices": [],
            "usage": {"prompt_tokens": 26, "completion_tokens": n, "total_tokens": 26 + n},
        }
        events.append(b"data: " + _compact(usage) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def native_lines(model: str, n: int) -> list[bytes]:
    """Each NDJSON line of a native ``/api/chat`` stream, ``\\n`` included."""
    lines = []
    for text in tokens(n):
        obj = {
            "model": model,
            "created_at": _CREATED_AT,
            "message": {"role": "assistant", "content": text},
            "done": False,
        }
        lines.append(_compact(obj) + b"\n")
    last = {
        "model": model,
        "created_at": _CREATED_AT,
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "total_duration": 182242375,
        "load_duration": 41295167,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 24573166,
        "eval_count": n,
        "eval_duration": 115959084,
    }
    lines.append(_compact(last) + b"\n")
    return lines


def chunked(pieces: list[bytes]) -> bytes:
    """HTTP/1.1 chunked framing with one HTTP chunk per piece, as Go's net/http
    sends when the handler flushes after every token; ends with the last chunk."""
    out = bytearray()
    for piece in pieces:
        out += b"%x\r\n" % len(piece)
        out += piece
        out += b"\r\n"
    out += b"0\r\n\r\n"
    return bytes(out)


def generate_lines(model: str, n: int) -> list[bytes]:
    """Each NDJSON line of a native ``/api/generate`` stream, ``\\n`` included."""
    lines = []
    for text in tokens(n):
        obj = {"model": model, "created_at": _CREATED_AT, "response": text, "done": False}
        lines.append(_compact(obj) + b"\n")
    last = {
        "model": model,
        "created_at": _CREATED_AT,
        "response": "",
        "done": True,
        "done_reason": "stop",
        "context": [1, 2, 3],
        "prompt_eval_count": 26,
        "eval_count": n,
    }
    lines.append(_compact(last) + b"\n")
    return lines


def vector(dim: int) -> list[float]:
    """A deterministic embedding of ``dim`` floats, printed as servers print them."""
    return [round(((i * 7919) % 2000 - 1000) / 1e5 + i * 1e-9, 9) for i in range(dim)]


def embed_answer(model: str, count: int, dim: int, openai: bool) -> bytes:
    """``/api/embed`` (``{"embeddings": [...]}``) or ``/v1/embeddings`` for ``count`` inputs."""
    one = _compact(vector(dim))
    if openai:
        items = b",".join(
            b'{"object":"embedding","index":%d,"embedding":%s}' % (i, one) for i in range(count)
        )
        usage = b'"usage":{"prompt_tokens":%d,"total_tokens":%d}' % (count * 4, count * 4)
        return b'{"object":"list","data":[%s],"model":"%s",%s}' % (items, model.encode(), usage)
    vectors = b",".join([one] * count)
    return b'{"model":"%s","embeddings":[%s],"prompt_eval_count":%d}' % (
        model.encode(),
        vectors,
        count * 4,
    )
