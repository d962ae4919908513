"""Requests to send to the fake and to the real Ollama alike, and what a client observes
of each answer: status, content type, ``Allow``, stream framing, the JSON shape of every
frame, and the server's error words. Used by ``tests/test_fake_vs_real.py``.
"""

from __future__ import annotations

import http.client
import json
from typing import Any

from .ollama_models import ModelRecord, make_model

MODEL = "smollm2:135m"
FIXED: dict[str, Any] = {"temperature": 0, "seed": 1}
ASK = [{"role": "user", "content": "Say hello."}]


def smollm2_record() -> ModelRecord:
    """The fake's twin of the real server's imported SmolLM2-135M."""
    return make_model(
        MODEL,
        size=98_363_007,
        parameter_size="134.52M",
        quantization_level="Q4_1",
        capabilities=["completion"],
        context_length=8192,
        embedding_length=576,
        parameter_count=134_515_008,
    )


CHAT_BODY = {"model": MODEL, "messages": ASK, "options": {**FIXED, "num_predict": 3}}
V1_BODY = {"model": MODEL, "messages": ASK, "max_tokens": 3, **FIXED}
WIRE = {
    "root": ("GET", "/", None),
    "version": ("GET", "/api/version", None),
    "tags": ("GET", "/api/tags", None),
    "v1-models": ("GET", "/v1/models", None),
    "v1-model": ("GET", "/v1/models/" + MODEL, None),
    "unknown-route": ("GET", "/api/nothing", None),
    "wrong-method": ("GET", "/api/chat", None),
    "wrong-method-tags": ("POST", "/api/tags", None),
    "show-missing": ("POST", "/api/show", {"model": "nosuch"}),
    "show-empty": ("POST", "/api/show", b""),
    "chat-missing": ("POST", "/api/chat", {**CHAT_BODY, "model": "nosuch"}),
    "chat-no-model": ("POST", "/api/chat", {"messages": ASK}),
    "chat-bad-json": ("POST", "/api/chat", b"{bad"),
    "chat-bad-keep-alive": ("POST", "/api/chat", {**CHAT_BODY, "keep_alive": "soon"}),
    "chat-bad-format": ("POST", "/api/chat", {**CHAT_BODY, "format": "xml"}),
    "chat-messages-string": ("POST", "/api/chat", {**CHAT_BODY, "messages": "x"}),
    "chat-options-list": ("POST", "/api/chat", {**CHAT_BODY, "options": []}),
    "chat-stop-string": ("POST", "/api/chat", {**CHAT_BODY, "options": {"stop": "x"}}),
    "chat-num-predict-string": (
        "POST",
        "/api/chat",
        {**CHAT_BODY, "options": {"num_predict": "x"}},
    ),
    "chat-keep-alive-bool": ("POST", "/api/chat", {**CHAT_BODY, "keep_alive": True}),
    "chat-think-unknown": ("POST", "/api/chat", {**CHAT_BODY, "think": "x"}),
    "chat-think-level": ("POST", "/api/chat", {**CHAT_BODY, "think": "high"}),
    "chat-think-false": ("POST", "/api/chat", {**CHAT_BODY, "think": False, "stream": False}),
    "chat-tools": (
        "POST",
        "/api/chat",
        {**CHAT_BODY, "tools": [{"type": "function", "function": {"name": "f"}}]},
    ),
    "chat-image": (
        "POST",
        "/api/chat",
        {**CHAT_BODY, "messages": [{**ASK[0], "images": ["aGVsbG8="]}], "stream": False},
    ),
    "chat-array": ("POST", "/api/chat", b"[1]"),
    "chat-null": ("POST", "/api/chat", b"null"),
    "chat-no-messages": ("POST", "/api/chat", {"model": MODEL, "messages": []}),
    "chat-stream": ("POST", "/api/chat", CHAT_BODY),
    "chat-whole": ("POST", "/api/chat", {**CHAT_BODY, "stream": False}),
    "load": ("POST", "/api/generate", {"model": MODEL}),
    "ps": ("GET", "/api/ps", None),
    "unload": ("POST", "/api/generate", {"model": MODEL, "keep_alive": 0}),
    "v1-stream": (
        "POST",
        "/v1/chat/completions",
        {**V1_BODY, "stream": True, "stream_options": {"include_usage": True}},
    ),
    "v1-whole": ("POST", "/v1/chat/completions", V1_BODY),
    "v1-missing": ("POST", "/v1/chat/completions", {**V1_BODY, "model": "nosuch"}),
    "v1-model-missing": ("GET", "/v1/models/nosuch", None),
    "v1-empty": ("POST", "/v1/chat/completions", b""),
    "v1-bad-json": ("POST", "/v1/chat/completions", b"{bad"),
    "v1-no-messages": ("POST", "/v1/chat/completions", {"model": MODEL, "messages": []}),
    "v1-tools": (
        "POST",
        "/v1/chat/completions",
        {**V1_BODY, "tools": [{"type": "function", "function": {"name": "f"}}]},
    ),
    "v1-max-tokens-string": ("POST", "/v1/chat/completions", {**V1_BODY, "max_tokens": "x"}),
    "v1-reasoning-unknown": (
        "POST",
        "/v1/chat/completions",
        {**V1_BODY, "reasoning_effort": "x"},
    ),
    "v1-content-number": (
        "POST",
        "/v1/chat/completions",
        {**V1_BODY, "messages": [{"role": "user", "content": 5}]},
    ),
    "generate-missing": ("POST", "/api/generate", {"model": "nosuch", "prompt": "hi"}),
    "delete-missing": ("DELETE", "/api/delete", {"model": "nosuch"}),
    "pull-no-name": ("POST", "/api/pull", {"model": ""}),
    "embed": ("POST", "/api/embed", {"model": MODEL, "input": ["hi", "there"]}),
    "embed-missing": ("POST", "/api/embed", {"model": "nosuch", "input": "hi"}),
    "copy-missing": ("POST", "/api/copy", {"source": "nosuch", "destination": "other"}),
    "copy-no-destination": ("POST", "/api/copy", {"source": MODEL, "destination": ""}),
    "blob-head-missing": ("HEAD", "/api/blobs/sha256:" + "0" * 64, None),
    "blob-wrong-digest": ("POST", "/api/blobs/sha256:" + "0" * 64, b"not these bytes"),
    "create-missing-blob": (
        "POST",
        "/api/create",
        {"model": "other", "files": {"a.gguf": "sha256:" + "0" * 64}},
    ),
    "create-nothing": ("POST", "/api/create", {"model": "other"}),
    "push-missing": ("POST", "/api/push", {"model": "nosuch"}),
    "pull-refused-whole": (
        "POST",
        "/api/pull",
        {"model": "127.0.0.1:9/library/tiny", "insecure": True, "stream": False},
    ),
}


# The real server says why it could not reach the registry; the fake, which reaches
# nothing, says the manifest does not exist. Both begin with the same words.
UNREACHABLE = {"pull-refused-whole": "pull model manifest: "}


def exchange(port: int, method: str, path: str, body: Any) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        conn.request(method, path, body=data)
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


def shape(value: Any) -> Any:
    """What a client can rely on: keys and value types, not the values themselves."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    if value == "":
        return "empty str"  # e.g. the content of a finish chunk
    return type(value).__name__


def frames(content_type: str, body: bytes) -> list[Any]:
    """The body as a client decodes it, repeated frame shapes collapsed into one."""
    if not body:
        return []
    if content_type.startswith("text/event-stream"):
        assert body.endswith(b"\n\n") and all(
            f.startswith(b"data: ") for f in body[:-2].split(b"\n\n")
        ), body
        parts = [f[6:] for f in body[:-2].split(b"\n\n")]
    elif "ndjson" in content_type:
        assert body.endswith(b"\n"), body
        parts = body[:-1].split(b"\n")
    elif "json" in content_type:
        parts = [body[:-1] if body.endswith(b"\n") else body]
    else:
        return [body.decode()]
    out: list[Any] = []
    for part in parts:
        item = "[DONE]" if part == b"[DONE]" else shape(json.loads(part))
        if not out or out[-1] != item:
            out.append(item)
    return out


def observed(port: int, name: str) -> dict[str, Any]:
    method, path, body = WIRE[name]
    status, headers, data = exchange(port, method, path, body)
    return {
        "status": status,
        "content-type": headers.get("content-type"),
        "allow": headers.get("allow"),
        "json-newline": data.endswith(b"}\n"),
        "frames": frames(headers.get("content-type", ""), data),
        "error": error_text(data),
    }


def error_text(data: bytes) -> str | None:
    """The server's own words for an error, native (``error``) or /v1 (``error.message``)."""
    try:
        error = json.loads(data.splitlines()[-1]).get("error") if data.strip() else None
    except (ValueError, AttributeError):
        return None
    return error.get("message") if isinstance(error, dict) else error
