"""One contract, two servers: the fake Ollama and the real one (v0.24.0) must agree.

Every test here runs against both (``ollama_target`` is parameterised
``["fake", "real"]``), through the library's public API or over raw HTTP. The
fake is set up as the real server is: version 0.24.0, with one model shaped
like the imported SmolLM2-135M. What only the fake can do (injected faults,
thinking, tools, vision) stays in the fake-only suites; what only the real
server can show (speed, concurrency) is in ``test_real_ollama.py``.

``test_same_wire_shapes`` sends the same requests to both and compares what a
client can observe: status, content type, the ``Allow`` header, stream framing
and the JSON shape (keys and value types) of every frame.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import pytest

from ollama_provider import (
    FinishReason,
    ModelNotFoundError,
    Ollama,
    ProviderError,
    ResponseStatusError,
    RunningModel,
    Usage,
)
from tests.conftest import run
from tests.support.fake_ollama import FakeOllama
from tests.support.ollama_manage import MODELS_DIR
from tests.support.ollama_models import make_model

MODEL = "smollm2:135m"
FIXED: dict[str, Any] = {"temperature": 0, "seed": 1}
ASK = [{"role": "user", "content": "Say hello."}]
ROUTES = pytest.mark.parametrize("native", [False, True], ids=["v1", "native"])


def smollm2_record() -> Any:
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


@dataclass
class Target:
    kind: str
    url: str
    log_tail: Callable[[int], str]

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@pytest.fixture(params=["fake", "real"])
def ollama_target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "real":
        server = request.getfixturevalue("real_ollama")
        yield Target("real", server.url, server.log_tail)
        return
    with FakeOllama(version="0.24.0", models=[smollm2_record()], seed=1) as fake:
        yield Target("fake", fake.url, lambda lines: "(the fake keeps no log)")
    assert not fake.server.errors, fake.server.errors


def chat(target: Target, native: bool = False, **kwargs: Any) -> list[Any]:
    kwargs = {"messages": ASK, **FIXED, **({"keep_alive": "10m"} if native else {}), **kwargs}
    model = kwargs.pop("model", MODEL)

    async def collect() -> list[Any]:
        stream = Ollama.create_async_generator(model, api_base=target.url, **kwargs)
        return [item async for item in stream]

    return run(collect())


def text_of(items: list[Any]) -> str:
    return "".join(map(str, items))


def settled_ps(url: str, within: float = 30.0) -> list[RunningModel]:
    """``ps`` once no listed model has already expired (the real server drops an
    unloaded runner a moment after answering the unload)."""
    deadline = time.monotonic() + within
    while True:
        running = Ollama.ps_sync(url)
        now = datetime.now(timezone.utc)
        if not any(r.expires_at is not None and r.expires_at <= now for r in running):
            return running
        assert time.monotonic() < deadline, running
        time.sleep(0.05)


# -- through the library ---------------------------------------------------------------


def test_models_and_default(ollama_target: Target) -> None:
    assert Ollama.get_models(api_base=ollama_target.url + "/v1") == [MODEL]
    assert Ollama.default_model == MODEL
    (info,) = Ollama.list_models_sync(ollama_target.url)
    assert (info.name, info.details.family, info.details.quantization_level) == (
        MODEL,
        "llama",
        "Q4_1",
    )
    assert info.capabilities == () and info.context_length is None  # not in 0.24's /api/tags


@ROUTES
@pytest.mark.parametrize("stream", [True, False], ids=["stream", "whole"])
def test_a_chat_ends_with_finish_and_usage(
    ollama_target: Target, native: bool, stream: bool
) -> None:
    items = chat(ollama_target, native, max_tokens=3, stream=stream)
    assert text_of(items) and all(isinstance(i, str) for i in items[:-2])
    assert items[-2] == FinishReason("length")
    usage = items[-1]
    assert isinstance(usage, Usage) and usage.completion_tokens == 3
    assert usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


@ROUTES
def test_stop_sequence_ends_the_text_early(ollama_target: Target, native: bool) -> None:
    free = text_of(chat(ollama_target, native, max_tokens=20))
    words = free.split()
    assert len(words) >= 4, free
    stop = " " + words[3]
    items = chat(ollama_target, native, max_tokens=20, stop=[stop])
    assert text_of(items) == free[: free.index(stop)]
    assert FinishReason("stop") in items


@ROUTES
def test_empty_model_means_the_installed_one(ollama_target: Target, native: bool) -> None:
    items = chat(ollama_target, native, model="", max_tokens=3)
    assert text_of(items) and items[-2] == FinishReason("length")


@ROUTES
def test_missing_model(ollama_target: Target, native: bool) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        chat(ollama_target, native, model="nosuch:1b", max_tokens=3)
    assert (info.value.model, info.value.status, info.value.available) == (
        "nosuch:1b",
        404,
        [MODEL],
    )


@pytest.mark.parametrize(
    "extra",
    [{"think": True}, {"tools": [{"type": "function", "function": {"name": "f"}}]}],
    ids=["think", "tools"],
)
def test_unsupported_capability_is_a_400(ollama_target: Target, extra: dict[str, Any]) -> None:
    with pytest.raises(ResponseStatusError) as info:
        chat(ollama_target, native=True, max_tokens=3, **extra)
    assert info.value.status == 400 and info.value.server_message


def test_show(ollama_target: Target) -> None:
    shown = Ollama.show_sync(MODEL, ollama_target.url)
    assert shown.capabilities == ("completion",)
    assert shown.context_length == 8192
    assert (shown.details.family, shown.details.parameter_size) == ("llama", "134.52M")
    with pytest.raises(ModelNotFoundError) as info:
        Ollama.show_sync("nosuch:1b", ollama_target.url)
    assert info.value.model == "nosuch:1b" and info.value.status == 404


def test_load_ps_unload(ollama_target: Target) -> None:
    Ollama.unload_sync(MODEL, ollama_target.url)
    assert settled_ps(ollama_target.url) == []
    Ollama.load_sync(MODEL, ollama_target.url, keep_alive="2m")
    (running,) = settled_ps(ollama_target.url)
    assert running.name == MODEL and running.size > 0 and running.details.family == "llama"
    assert running.expires_at is not None and running.expires_at > datetime.now(timezone.utc)
    Ollama.unload_sync(MODEL, ollama_target.url)
    assert settled_ps(ollama_target.url) == []


def test_version_and_missing_delete(ollama_target: Target) -> None:
    assert Ollama.version_sync(ollama_target.url) == "0.24.0"
    with pytest.raises(ModelNotFoundError) as info:
        Ollama.delete_sync("nosuch:1b", ollama_target.url)
    assert info.value.status == 404


def test_pull_failure_line_raises(ollama_target: Target, closed_port: int) -> None:
    name = f"127.0.0.1:{closed_port}/library/tiny:latest"  # a registry that is not there
    seen: list[str] = []
    # The real server says "connection refused"; the fake, which cannot know, says the
    # manifest does not exist (which the library reads as a missing model): both fail.
    with pytest.raises(ProviderError):
        for progress in Ollama.pull_sync(name, ollama_target.url, insecure=True, timeout=60):
            seen.append(progress.status)
    assert seen == ["pulling manifest"]


# -- on the wire ----------------------------------------------------------------------------

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


def test_same_wire_shapes(real_ollama: Any) -> None:
    """The fake answers every request with what the real server sends, frame by frame."""
    real_port = int(real_ollama.url.rsplit(":", 1)[1])
    real_models = str(real_ollama.home / "models")
    Ollama.unload_sync(MODEL, real_ollama.url)  # both start with nothing loaded
    settled_ps(real_ollama.url)
    with FakeOllama(version="0.24.0", models=[smollm2_record()], seed=1) as fake:
        differences = {}
        for name in WIRE:
            real, faked = observed(real_port, name), observed(fake.server.port, name)
            if real["error"]:  # files under the models folder: the real one is temporary
                real["error"] = real["error"].replace(real_models, MODELS_DIR)
            if name in UNREACHABLE:  # only the real server tried to connect: compare the start
                cause = UNREACHABLE[name]
                assert real["error"].startswith(cause) and faked["error"].startswith(cause)
                real["error"] = faked["error"] = cause
            if real != faked:
                differences[name] = {"real": real, "fake": faked}
    assert not differences, json.dumps(differences, indent=1)
