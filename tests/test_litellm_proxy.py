"""A real serving layer in front of real servers: the LiteLLM proxy over two llama.cpp servers.

The proxy (``scripts/backends/litellm_proxy.py``: its own venv, a child process on a
free loopback port, offline) serves one model name, ``smollm2:135m``, from two
embedded llama.cpp servers. The library sees one plain OpenAI-compatible base and
a key; listing, chat, streaming and a killed backend all go through the proxy.
Never skipped: if the proxy cannot be installed or started, these tests fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ollama_provider import (
    AsyncClient,
    Client,
    FinishReason,
    OpenaiAPI,
    ResponseStatusError,
    StreamInterruptedError,
    Usage,
)
from tests.conftest import run
from tests.support.ollama_wire import FIXED, MODEL  # temperature 0 and a seed: repeatable

ASK = [{"role": "user", "content": "Write one sentence about the sea."}]


@dataclass
class Stack:
    proxy: Any
    backends: list[Any]

    @property
    def base(self) -> str:
        return str(self.proxy.base_url)

    @property
    def key(self) -> str:
        return str(self.proxy.master_key)

    def log_tail(self, lines: int = 60) -> str:
        """The proxy's log, attached to a failed test's report (``tests/conftest.py``)."""
        return str(self.proxy.log_tail(lines))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from scripts.backends import litellm_proxy, llama

    logs = tmp_path_factory.mktemp("litellm")
    backends = [llama.start(parallel=2, log_path=logs / f"llama-{i}.log") for i in (1, 2)]
    try:
        proxy = litellm_proxy.start([b.base_url for b in backends], log_path=logs / "proxy.log")
        try:
            yield Stack(proxy, backends)
        finally:
            proxy.stop()
    finally:
        for backend in backends:
            backend.stop()


def text_of(items: list[Any]) -> str:
    return "".join(map(str, items))


def chat(stack: Stack, **kwargs: Any) -> list[Any]:
    kwargs = {"max_tokens": 16, **FIXED, **kwargs}
    return list(OpenaiAPI.create_completion(MODEL, ASK, stack.base, api_key=stack.key, **kwargs))


def test_the_model_list_comes_through_the_proxy(stack: Stack) -> None:
    assert OpenaiAPI.get_models(stack.base, api_key=stack.key) == [MODEL]
    client = Client(provider=OpenaiAPI, base_url=stack.base, api_key=stack.key)
    assert [m.id for m in client.models.list()] == [MODEL]


def test_a_whole_answer_through_the_proxy(stack: Stack) -> None:
    items = chat(stack, stream=False)
    assert text_of(items).strip()
    assert FinishReason("length") in items
    usage = [i for i in items if isinstance(i, Usage)]
    assert len(usage) == 1 and usage[0].completion_tokens == 16


def test_a_stream_through_the_proxy(stack: Stack) -> None:
    async def stream() -> list[Any]:
        agen = OpenaiAPI.create_async_generator(
            MODEL, ASK, stack.base, api_key=stack.key, max_tokens=24, **FIXED
        )
        return [i async for i in agen]

    items = run(stream())
    pieces = [i for i in items if isinstance(i, str) and i]
    assert len(pieces) > 3  # token by token, not one block
    assert FinishReason("length") in items
    usage = [i for i in items if isinstance(i, Usage)]
    assert len(usage) == 1 and usage[0].completion_tokens == 24
    # Temperature 0 and a seed: the same answer, whichever backend the proxy chose.
    assert text_of(items) == text_of(chat(stack, max_tokens=24))


def test_the_async_client_streams_through_the_proxy(stack: Stack) -> None:
    async def go() -> str:
        client = AsyncClient(provider=OpenaiAPI, base_url=stack.base, api_key=stack.key)
        chunks = await client.chat.completions.create(
            model=MODEL, messages=ASK, stream=True, max_tokens=12, **FIXED
        )
        return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])

    assert run(go()) == text_of(chat(stack, max_tokens=12))


def test_a_wrong_key_is_refused_and_never_shown(stack: Stack) -> None:
    wrong = "sk-" + "0" * 48
    with pytest.raises(ResponseStatusError) as info:
        list(
            OpenaiAPI.create_completion(
                MODEL, ASK, stack.base, api_key=wrong, max_tokens=4, **FIXED
            )
        )
    assert info.value.status in (400, 401, 403)
    assert wrong not in str(info.value) and stack.key not in str(info.value)


def test_a_killed_backend_is_routed_around_by_the_proxy(stack: Stack) -> None:
    """Last in this module: it kills the second backend for good."""
    expected = text_of(chat(stack))
    stack.backends[1].stop()
    for _ in range(6):  # the proxy's shuffle sends some to the dead one: it retries them
        try:
            items = chat(stack)
        except StreamInterruptedError as exc:  # the proxy would have passed the cut on
            pytest.fail(f"the proxy passed a dead backend on to the client: {exc}")
        assert text_of(items) == expected
        assert FinishReason("length") in items
    assert OpenaiAPI.get_models(stack.base, api_key=stack.key, refresh=True) == [MODEL]
