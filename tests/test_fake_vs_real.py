"""One contract, two servers: the fake Ollama and the real one (v0.24.0) must agree.

Every test here runs against both (``ollama_target`` is parameterised
``["fake", "real"]``), through the library's public API or over raw HTTP. The
fake is set up as the real server is: version 0.24.0, with one model shaped
like the imported SmolLM2-135M. What only the fake can do (injected faults,
thinking, tools, vision) stays in the fake-only suites; what only the real
server can show (speed, concurrency) is in ``test_real_ollama.py``.

``test_same_wire_shapes`` sends the same requests (``tests/support/ollama_wire.py``)
to both and compares what a client can observe: status, content type, the
``Allow`` header, stream framing, the JSON shape (keys and value types) of every
frame, and the error words.
"""

from __future__ import annotations

import json
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
    Usage,
)
from tests.conftest import run, settled_ps
from tests.support.fake_ollama import FakeOllama
from tests.support.ollama_manage import MODELS_DIR
from tests.support.ollama_wire import (
    ASK,
    FIXED,
    MODEL,
    UNREACHABLE,
    WIRE,
    observed,
    smollm2_record,
)

ROUTES = pytest.mark.parametrize("native", [False, True], ids=["v1", "native"])


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
