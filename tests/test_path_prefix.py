"""Bases under a path prefix, as serving layers mount them: KServe's ``/openai/v1``, an
Ollama behind a reverse proxy at ``/ollama``; alone, in a list, and from ``OLLAMA_HOST``.

Every request must stay under the prefix it was given: the servers here answer 404
anywhere else, and each test checks the paths they saw.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from ollama_provider import (
    Client,
    FinishReason,
    ModelNotFoundError,
    Ollama,
    OpenaiAPI,
    Usage,
)
from tests.conftest import run
from tests.support.fake_ollama import FakeOllama
from tests.support.httpserver import HTTPServer
from tests.support.openai_server import FakeOpenAI

SAY = [{"role": "user", "content": "say: hello from under a prefix"}]
ANSWER = "hello from under a prefix"


@pytest.fixture
def kserve() -> Iterator[tuple[FakeOpenAI, FakeOpenAI]]:
    """Two KServe-style servers: OpenAI routes under /openai/v1, different models."""
    with HTTPServer() as one, HTTPServer() as two:
        yield (
            FakeOpenAI(one, prefix="/openai/v1", models=["llama-3-8b", "shared"]),
            FakeOpenAI(two, prefix="/openai/v1", models=["qwen-7b", "shared"]),
        )
        assert not one.errors and not two.errors


def text(items: list[Any]) -> str:
    return "".join(map(str, items))


def paths(server: FakeOpenAI) -> set[str]:
    return {path for _, path, _ in server.calls}


def test_an_openai_base_under_a_prefix(kserve: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    api, _ = kserve
    assert api.url.endswith("/openai/v1")
    assert OpenaiAPI.get_models(api.url, api_key="k") == ["llama-3-8b", "shared"]
    items = list(OpenaiAPI.create_completion("llama-3-8b", SAY, api.url, api_key="k"))
    assert text(items) == ANSWER
    assert FinishReason("stop") in items and isinstance(items[-1], Usage)
    whole = list(OpenaiAPI.create_completion("llama-3-8b", SAY, api.url, stream=False))
    assert text(whole) == ANSWER
    assert paths(api) == {"/openai/v1/models", "/openai/v1/chat/completions"}


def test_a_trailing_slash_on_the_base_is_the_same_base(
    kserve: tuple[FakeOpenAI, FakeOpenAI],
) -> None:
    api, _ = kserve
    assert OpenaiAPI.get_models(api.url + "/") == ["llama-3-8b", "shared"]
    assert text(OpenaiAPI.create_completion("shared", SAY, api.url + "/")) == ANSWER
    assert paths(api) == {"/openai/v1/models", "/openai/v1/chat/completions"}


def test_the_client_takes_a_prefixed_base_url(kserve: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    api, _ = kserve
    client = Client(provider=OpenaiAPI, base_url=api.url, api_key="k")
    assert [m.id for m in client.models.list()] == ["llama-3-8b", "shared"]
    chunks = client.chat.completions.create(model="shared", messages=SAY, stream=True)
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert "".join(pieces) == ANSWER
    assert paths(api) == {"/openai/v1/models", "/openai/v1/chat/completions"}


def test_prefixed_bases_in_a_list_route_by_model(kserve: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    one, two = kserve
    bases = [one.url, two.url]
    assert OpenaiAPI.get_models(bases) == ["llama-3-8b", "shared", "qwen-7b"]
    assert text(OpenaiAPI.create_completion("qwen-7b", SAY, bases)) == ANSWER
    assert text(OpenaiAPI.create_completion("llama-3-8b", SAY, bases)) == ANSWER
    assert (one.count("/chat/completions"), two.count("/chat/completions")) == (1, 1)
    with pytest.raises(ModelNotFoundError) as info:
        list(OpenaiAPI.create_completion("nosuch", SAY, bases))
    assert info.value.available_by_server == {
        one.url: ["llama-3-8b", "shared"],
        two.url: ["qwen-7b", "shared"],
    }
    assert paths(one) | paths(two) == {"/openai/v1/models", "/openai/v1/chat/completions"}


def test_prefixed_bases_share_the_load(kserve: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    one, two = kserve
    bases = [one.url, two.url]

    async def six() -> list[list[Any]]:
        async def go() -> list[Any]:
            return [i async for i in OpenaiAPI.create_async_generator("shared", SAY, bases)]

        return await asyncio.gather(*(go() for _ in range(6)))

    assert all(text(items) == ANSWER for items in run(six()))
    assert one.count("/chat/completions") + two.count("/chat/completions") == 6
    assert min(one.count("/chat/completions"), two.count("/chat/completions")) >= 1


def test_a_dead_prefixed_base_fails_over(
    kserve: tuple[FakeOpenAI, FakeOpenAI], closed_port: int
) -> None:
    _, two = kserve
    dead = f"http://127.0.0.1:{closed_port}/openai/v1"
    assert text(OpenaiAPI.create_completion("shared", SAY, [dead, two.url])) == ANSWER
    assert two.count("/chat/completions") == 1


def test_ollama_behind_a_prefix_from_a_comma_separated_ollama_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with HTTPServer() as a, HTTPServer() as b:
        one = FakeOllama(a, path_prefix="/ollama", models=["llama3.2", "qwen3:0.6b"])
        two = FakeOllama(b, path_prefix="/ollama", models=["llama3.2", "gemma3:1b"])
        monkeypatch.setenv("OLLAMA_HOST", f"{one.url},{two.url}/")
        roots = [address.root for address in Ollama.server_addresses()]
        assert roots == [one.url, two.url]
        assert Ollama.get_models() == ["llama3.2:latest", "qwen3:0.6b", "gemma3:1b"]
        assert "hello" in text(list(Ollama.create_completion("gemma3:1b", SAY)))
        assert "hello" in text(list(Ollama.create_completion("qwen3:0.6b", SAY, think=False)))
        assert two.count("/v1/chat/completions") == 1 and one.count("/api/chat") == 1
        for server in (a, b):
            assert all(r.path.startswith("/ollama/") for r in server.requests), server.requests


@pytest.mark.parametrize("route", [{}, {"keep_alive": "5m"}], ids=["v1", "native"])
def test_a_missing_model_names_the_prefixed_server(route: dict[str, Any]) -> None:
    with HTTPServer() as server:
        ollama = FakeOllama(server, path_prefix="/ollama", models=["llama3.2"])
        with pytest.raises(ModelNotFoundError) as info:
            list(Ollama.create_completion("nosuch:1b", SAY, ollama.url, **route))
        # the server with its prefix, not the endpoint that was asked
        assert f"is not on the server at {ollama.url}." in str(info.value)
        assert ollama.url.endswith("/ollama")
