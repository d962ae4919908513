"""The library against the real Ollama server (v0.24.0, built from source) with SmolLM2-135M.

Everything goes through the public API and asserts what the server really did.
Every request to the model pins ``temperature=0`` and a ``seed`` and asks for a
length the model can finish. No timing assertions: the one speed-related test
compares against this machine's own measured speed with a wide margin.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import jsonschema
import pytest

from ollama_provider import (
    FinishReason,
    ModelNotFoundError,
    Ollama,
    ProviderError,
    ResponseStatusError,
    RunningModel,
    ShowResult,
    Usage,
)
from tests.conftest import run, settled_ps
from tests.support.ollama_wire import FIXED, MODEL

ASK = [{"role": "user", "content": "Write one sentence about the sea."}]
NATIVE = {"keep_alive": "10m"}  # any native-only option sends the chat to /api/chat
ROUTES = pytest.mark.parametrize("native", [False, True], ids=["v1", "native"])


async def collect(base: str, **kwargs: Any) -> list[Any]:
    kwargs.setdefault("messages", ASK)
    kwargs = {**FIXED, **kwargs}
    model = kwargs.pop("model", MODEL)
    return [i async for i in Ollama.create_async_generator(model, api_base=base, **kwargs)]


def chat(server: Any, native: bool = False, **kwargs: Any) -> list[Any]:
    return run(collect(server.url, **(NATIVE if native else {}), **kwargs))


def text_of(items: list[Any]) -> str:
    return "".join(map(str, items))


def usage_of(items: list[Any]) -> Usage:
    (usage,) = (i for i in items if isinstance(i, Usage))
    return usage


# -- models -----------------------------------------------------------------------------


def test_get_models_lists_the_imported_model(real_ollama: Any) -> None:
    assert Ollama.get_models(api_base=real_ollama.base_url) == [MODEL]
    assert Ollama.default_model == MODEL
    (info,) = Ollama.list_models_sync(real_ollama.url)
    assert info.name == MODEL and info.digest and info.size > 90_000_000
    assert info.details.format == "gguf" and info.details.family == "llama"
    assert info.details.quantization_level == "Q4_1"
    assert info.modified_at is not None and info.modified_at <= datetime.now(timezone.utc)


def test_show_reports_capabilities_and_context(real_ollama: Any) -> None:
    shown = Ollama.show_sync(MODEL, real_ollama.url)
    assert isinstance(shown, ShowResult) and shown.model == MODEL
    assert "completion" in shown.capabilities
    assert shown.context_length == 8192  # SmolLM2's training context, from the GGUF
    assert shown.details.family == "llama" and shown.details.quantization_level == "Q4_1"
    assert shown.model_info["general.architecture"] == "llama"
    assert "<|im_start|>" in shown.template  # Ollama recognised SmolLM2's ChatML template


def test_version(real_ollama: Any) -> None:
    assert Ollama.version_sync(real_ollama.url) == "0.24.0"


# -- chat -------------------------------------------------------------------------------


@ROUTES
def test_stream_and_whole_answer_agree(real_ollama: Any, native: bool) -> None:
    streamed = chat(real_ollama, native, max_tokens=40)
    whole = chat(real_ollama, native, max_tokens=40, stream=False)
    assert text_of(streamed).strip()
    assert text_of(whole) == text_of(streamed)  # temperature 0 and a seed: the same tokens
    assert sum(isinstance(i, str) for i in streamed) > 1  # really streamed, token by token
    assert streamed[-2:] == whole[-2:]
    assert isinstance(streamed[-2], FinishReason) and isinstance(streamed[-1], Usage)
    usage = usage_of(streamed)
    assert usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= 40
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    if native:  # the native API reports durations (seconds here); /v1 does not
        assert usage.eval_duration is not None and usage.eval_duration > 0
        assert usage.total_duration is not None and usage.total_duration >= usage.eval_duration
    else:
        assert usage.eval_duration is None and usage.total_duration is None


@ROUTES
def test_max_tokens_cut_is_a_length_finish(real_ollama: Any, native: bool) -> None:
    items = chat(real_ollama, native, max_tokens=5)
    assert FinishReason("length") in items
    assert usage_of(items).completion_tokens == 5
    assert text_of(items).strip()


def test_native_options_reach_the_server(real_ollama: Any) -> None:
    items = chat(real_ollama, keep_alive="7m", options={"num_ctx": 1024}, max_tokens=8)
    assert FinishReason("length") in items
    (running,) = Ollama.ps_sync(real_ollama.url)
    assert running.name == MODEL and running.context_length == 1024
    assert running.expires_at is not None
    left = running.expires_at - datetime.now(timezone.utc)
    assert timedelta(minutes=5) < left <= timedelta(minutes=7)  # keep_alive "7m" applied


SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}
PROMPT_JSON = [{"role": "user", "content": "Name a city and its population, as JSON."}]


def test_structured_output_native_format(real_ollama: Any) -> None:
    items = chat(real_ollama, messages=PROMPT_JSON, format=SCHEMA, max_tokens=60)
    assert FinishReason("stop") in items
    jsonschema.validate(json.loads(text_of(items)), SCHEMA)


def test_structured_output_v1_response_format(real_ollama: Any) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "city", "schema": SCHEMA}}
    items = chat(real_ollama, messages=PROMPT_JSON, response_format=fmt, max_tokens=60)
    assert FinishReason("stop") in items
    jsonschema.validate(json.loads(text_of(items)), SCHEMA)


@ROUTES
def test_missing_model_names_the_installed_ones(real_ollama: Any, native: bool) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        chat(real_ollama, native, model="nosuch:1b", max_tokens=5)
    assert info.value.model == "nosuch:1b" and info.value.status == 404
    assert info.value.available == [MODEL]
    # one sentence naming the server (not the endpoint asked) and what to do; the
    # server's own "model 'nosuch:1b' not found" is not repeated
    expected = f"model 'nosuch:1b' is not on the server at {real_ollama.url}."
    assert str(info.value).startswith(expected)
    assert "it said" not in str(info.value) and "/api/" not in str(info.value)


# -- model management --------------------------------------------------------------------


def test_load_ps_unload(real_ollama: Any) -> None:
    Ollama.unload_sync(MODEL, real_ollama.url)
    assert settled_ps(real_ollama.url) == []
    Ollama.load_sync(MODEL, real_ollama.url, keep_alive="3m")
    (running,) = Ollama.ps_sync(real_ollama.url)
    assert isinstance(running, RunningModel) and running.name == MODEL
    assert running.size > 90_000_000 and running.details.family == "llama"
    assert running.expires_at is not None
    assert running.expires_at - datetime.now(timezone.utc) <= timedelta(minutes=3)
    Ollama.unload_sync(MODEL, real_ollama.url)
    assert settled_ps(real_ollama.url) == []


def test_pull_without_a_registry_fails_cleanly(real_ollama: Any, closed_port: int) -> None:
    """No internet here: a registry that refuses connections stands for it, on loopback."""
    name = f"127.0.0.1:{closed_port}/library/tiny:latest"
    with pytest.raises(ProviderError) as info:
        list(Ollama.pull_sync(name, real_ollama.url, insecure=True, timeout=60))
    assert isinstance(info.value, ResponseStatusError)
    assert "connection refused" in info.value.server_message  # Ollama's words for it
    assert info.value.advice.startswith("The Ollama server could not reach the registry")
    assert name not in Ollama.get_models(real_ollama.url, refresh=True)


# -- concurrency --------------------------------------------------------------------------


def test_four_concurrent_streams_run_together(real_ollama: Any) -> None:
    """OLLAMA_NUM_PARALLEL=4: all four answers are under way before any of them ends."""
    order: list[tuple[str, int]] = []

    async def one(n: int, topic: str) -> list[Any]:
        items: list[Any] = []
        ask = [{"role": "user", "content": f"One sentence about {topic}."}]
        stream = Ollama.create_async_generator(
            MODEL, ask, api_base=real_ollama.url, max_tokens=24, **FIXED
        )
        async for item in stream:
            if not items:
                order.append(("first", n))
            items.append(item)
        order.append(("done", n))
        return items

    async def four() -> list[list[Any]]:
        topics = ["the sea", "a tree", "the moon", "a cat"]
        return await asyncio.gather(*(one(n, t) for n, t in enumerate(topics)))

    for items in run(four()):
        assert any(isinstance(i, FinishReason) for i in items)
        assert text_of(items).strip() and usage_of(items).completion_tokens <= 24
    assert [kind for kind, _ in order] == ["first"] * 4 + ["done"] * 4, order


def test_leaving_streams_early_frees_the_server(real_ollama: Any) -> None:
    """Abandoned streams stop generating, so the next request is served at once.

    The long prompt makes SmolLM2 write past 2,000 tokens. Eight such streams go
    to the server's four slots; the four that start are left after their first
    token and the four still queued are cancelled. Had the server gone on with
    them, the next request would wait for thousands of tokens' time. The bound
    is 200 token-times, a token-time being the slower of two samples of this
    machine's speed (the same 48-token request) taken just before and just after
    the wait; normally the wait is about 10 token-times, so load that slows the
    samples too does not break it.
    """
    story = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]

    async def seconds_and_tokens(max_tokens: int) -> tuple[float, int]:
        started = time.perf_counter()
        items = await collect(real_ollama.url, max_tokens=max_tokens)
        return time.perf_counter() - started, usage_of(items).completion_tokens

    async def per_token() -> float:
        spent, tokens = await seconds_and_tokens(48)
        return spent / tokens

    async def abandon_then_ask() -> tuple[float, float]:
        before = await per_token()
        streams = [
            Ollama.create_async_generator(
                MODEL, story, api_base=real_ollama.url, max_tokens=2000, **FIXED
            )
            for _ in range(8)
        ]
        pending = {asyncio.ensure_future(s.__anext__()) for s in streams}
        started = 0
        while started < 4:  # the four that got a slot have sent a token
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            started += len(done)
        for task in pending:
            task.cancel()  # the queued ones: cancelled while waiting for their first byte
        await asyncio.gather(*pending, return_exceptions=True)
        for stream in streams:
            await stream.aclose()  # type: ignore[attr-defined]
        waited = (await seconds_and_tokens(8))[0]
        return waited, max(before, await per_token())

    waited, slowest = run(abandon_then_ask())
    assert waited < 200 * slowest, (waited, slowest)
