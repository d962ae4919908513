"""The rest of Ollama's API through the library, against the real server (v0.24.0):
copy, create (from the local GGUF, uploaded as a blob, and from an installed
model), push, generate, embed and logprobs. The fake serves these endpoints too
(``tests/support/ollama_manage.py``, checked against this server in
``tests/test_fake_vs_real.py``), but not ``/api/generate``'s ``context`` and
``raw``, nor logprobs: for those the real server is the only test.

Every request to the model pins ``temperature=0`` and a ``seed``; embedding
inputs stay short (Ollama 0.24 embeds a 500-token input in tens of seconds on
two cores).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from ollama_provider import (
    Context,
    FinishReason,
    Logprobs,
    ModelNotFoundError,
    Ollama,
    ProviderError,
    ResponseStatusError,
    Usage,
)
from tests.conftest import run
from tests.support.ollama_wire import FIXED, MODEL  # temperature 0 and a seed: repeatable


def text_of(items: list[Any]) -> str:
    return "".join(i for i in items if isinstance(i, str))


@pytest.fixture
def scratch(real_ollama: Any) -> Iterator[list[str]]:
    """Names a test creates; deleted afterwards, so other tests see one model."""
    names: list[str] = []
    yield names
    for name in names:
        if name in Ollama.get_models(real_ollama.url, refresh=True):
            Ollama.delete_sync(name, real_ollama.url)


def test_copy_then_delete(real_ollama: Any, scratch: list[str]) -> None:
    copy = "smollm2-copy:135m"
    scratch.append(copy)
    Ollama.copy_sync(MODEL, copy, real_ollama.url)
    assert set(Ollama.get_models(real_ollama.url, refresh=True)) == {MODEL, copy}
    assert Ollama.show_sync(copy, real_ollama.url).details.family == "llama"
    Ollama.delete_sync(copy, real_ollama.url)
    assert Ollama.get_models(real_ollama.url, refresh=True) == [MODEL]
    with pytest.raises(ModelNotFoundError) as info:
        Ollama.copy_sync("nosuch:1b", "other:1b", real_ollama.url)
    assert info.value.model == "nosuch:1b" and info.value.status == 404


def test_create_from_the_local_gguf(real_ollama: Any, scratch: list[str]) -> None:
    from scripts.backends._base import fetch_model

    name = "smollm2-made:135m"
    scratch.append(name)
    steps = Ollama.create_sync(
        name, real_ollama.url, from_=fetch_model(), system="You are terse.",
        parameters={"temperature": 0},
    )  # fmt: skip
    statuses = [p.status for p in steps]
    assert statuses[-1] == "success", statuses
    shown = Ollama.show_sync(name, real_ollama.url)
    assert shown.system == "You are terse." and shown.parameters["temperature"] == "0"
    assert "<|im_start|>" in shown.template  # the chat template was recognised
    hi = [{"role": "user", "content": "Hi"}]
    items = list(
        Ollama.create_completion(name, hi, api_base=real_ollama.url, max_tokens=4, **FIXED)
    )
    assert text_of(items) and FinishReason("length") in items


def test_create_from_an_installed_model(real_ollama: Any, scratch: list[str]) -> None:
    name = "smollm2-french:135m"
    scratch.append(name)
    statuses = [
        p.status
        for p in Ollama.create_sync(name, real_ollama.url, from_=MODEL, system="Answer in French.")
    ]
    assert statuses[-1] == "success", statuses
    assert Ollama.show_sync(name, real_ollama.url).system == "Answer in French."
    assert Ollama.show_sync(MODEL, real_ollama.url).system == ""  # the source is unchanged


def test_push_to_an_unreachable_registry_fails_cleanly(
    real_ollama: Any, scratch: list[str], closed_port: int
) -> None:
    name = f"127.0.0.1:{closed_port}/me/tiny:latest"  # a registry that is down
    scratch.append(name)
    Ollama.copy_sync(MODEL, name, real_ollama.url)
    with pytest.raises(ProviderError):
        list(Ollama.push_sync(name, real_ollama.url, insecure=True, timeout=60))


async def generate(url: str, prompt: str = "The sky is", **kwargs: Any) -> list[Any]:
    kwargs = {**FIXED, "max_tokens": 8, **kwargs}
    return [i async for i in Ollama.generate(MODEL, prompt, api_base=url, **kwargs)]


def test_generate_stream_whole_raw_and_context(real_ollama: Any) -> None:
    streamed = run(generate(real_ollama.url))
    whole = run(generate(real_ollama.url, stream=False))
    assert text_of(streamed) and text_of(whole) == text_of(streamed)
    assert sum(isinstance(i, str) for i in streamed) > 1
    assert streamed[-3] == FinishReason("length") and isinstance(streamed[-2], Usage)
    assert streamed[-2].completion_tokens == 8
    context = streamed[-1]
    assert isinstance(context, Context) and context.tokens == whole[-1].tokens
    more = run(generate(real_ollama.url, " and then", context=context.tokens))
    assert text_of(more) and isinstance(more[-1], Context)
    assert len(more[-1].tokens) > len(context.tokens)  # the conversation grew
    raw = run(generate(real_ollama.url, raw=True))
    assert text_of(raw) and not any(isinstance(i, Context) for i in raw)  # no template, no state
    with pytest.raises(ModelNotFoundError) as info:
        run(Ollama.generate("nosuch:1b", "x", api_base=real_ollama.url).__anext__())
    assert info.value.available == [MODEL]


def test_embed_keeps_order_across_batches(real_ollama: Any) -> None:
    words = ["sea", "tree", "moon"]
    one = Ollama.embed_sync(MODEL, words, api_base=real_ollama.url)
    split = Ollama.embed_sync(MODEL, words, api_base=real_ollama.url, batch_size=1)
    assert len(one) == len(split) == 3 and one.model == MODEL and one.prompt_tokens > 0
    width = Ollama.show_sync(MODEL, real_ollama.url).model_info["llama.embedding_length"]
    assert {len(v) for v in one.embeddings} == {width}
    for a, b in zip(one.embeddings, split.embeddings, strict=True):
        assert math.dist(a, b) < 1e-3 * math.hypot(*a)  # the same input, the same vector
    assert math.dist(one.embeddings[0], one.embeddings[1]) > 1e-3


def test_embed_errors(real_ollama: Any) -> None:
    with pytest.raises(ModelNotFoundError) as info:
        Ollama.embed_sync("nosuch:1b", "x", api_base=real_ollama.url)
    assert info.value.model == "nosuch:1b" and info.value.available == [MODEL]
    with pytest.raises(ResponseStatusError) as too_long:  # refused before any work
        Ollama.embed_sync(MODEL, "word " * 6000, api_base=real_ollama.url, truncate=False)
    assert too_long.value.status == 400


@pytest.mark.parametrize("native", [False, True], ids=["v1", "native"])
def test_logprobs_cover_the_text(real_ollama: Any, native: bool) -> None:
    extra = {"keep_alive": "10m"} if native else {}
    items = list(
        Ollama.create_completion(
            MODEL, [{"role": "user", "content": "Hi"}], api_base=real_ollama.url,
            max_tokens=4, logprobs=True, top_logprobs=2, **FIXED, **extra,
        )
    )  # fmt: skip
    events = [i for i in items if isinstance(i, Logprobs)]
    tokens = [t for event in events for t in event.tokens]
    assert "".join(t.token for t in tokens) == text_of(items)
    assert all(t.logprob <= 0 and len(t.top_logprobs) == 2 for t in tokens)
