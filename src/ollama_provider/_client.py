"""An OpenAI-shaped client over any provider: ``client.chat.completions.create(...)``.

``AsyncClient`` is the implementation; ``Client`` runs it through the sync
portal, so both behave identically. With ``stream=True`` the items of the
provider's stream become ``ChatCompletionChunk`` objects; without, they are
merged into one ``ChatCompletion`` (content, reasoning and tool calls).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from ._completion_types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChunkChoice,
    CompletionUsage,
    Function,
    Model,
    ModelsPage,
)
from ._errors import ProviderError
from ._events import FinishReason, Reasoning, ToolCalls, Usage
from .providers import Ollama, OpenaiAPI

__all__ = ["AsyncClient", "Client"]


def _new_id() -> str:
    return "chatcmpl-" + os.urandom(12).hex()


def _usage(item: Usage) -> CompletionUsage:
    return CompletionUsage(item.prompt_tokens, item.completion_tokens, item.total_tokens)


def _chunk(item: Any, id_: str, created: int, model: str, first: bool) -> ChatCompletionChunk:
    role = "assistant" if first else None
    if isinstance(item, str):
        delta = ChoiceDelta(content=item, role=role)
    elif isinstance(item, Reasoning):
        delta = ChoiceDelta(reasoning=item.text, role=role)
    elif isinstance(item, ToolCalls):
        delta = ChoiceDelta(
            role=role,
            tool_calls=[
                ChoiceDeltaToolCall(
                    i,
                    c["id"],
                    ChoiceDeltaToolCallFunction(c["function"]["name"], c["function"]["arguments"]),
                    c.get("type", "function"),
                )
                for i, c in enumerate(item.calls)
            ],
        )
    elif isinstance(item, FinishReason):
        return ChatCompletionChunk(
            id_, [ChunkChoice(0, ChoiceDelta(role=role), item.reason)], created, model
        )
    elif isinstance(item, Usage):
        return ChatCompletionChunk(id_, [], created, model, usage=_usage(item))
    else:  # pragma: no cover - the provider yields only the types above
        raise TypeError(f"unexpected stream item {item!r}")
    return ChatCompletionChunk(id_, [ChunkChoice(0, delta)], created, model)


def _parse(content: str | None, response_format: Any) -> Any:
    """The structured answer: a pydantic instance for a model class, a dict for a schema."""
    if content is None or response_format is None:
        return None
    wants_model = isinstance(response_format, type) and hasattr(response_format, "model_validate")
    is_schema = isinstance(response_format, dict) and response_format.get("type") != "text"
    if not (wants_model or is_schema):
        return None
    import orjson

    try:
        if wants_model:
            return response_format.model_validate_json(content)
        return orjson.loads(content)
    except (orjson.JSONDecodeError, ValueError) as exc:
        raise ProviderError(
            f"the answer does not match the requested response_format: {exc}"
        ) from exc


class _AsyncCompletions:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self, *, model: str, messages: Any, stream: bool = False, **params: Any
    ) -> ChatCompletion | AsyncIterator[ChatCompletionChunk]:
        """As openai-python's: a ``ChatCompletion``, or with ``stream=True`` an async iterator."""
        client = self._client
        if not model:
            models = await client.provider.get_models_async(client.api_base, **client.connection())
            model = models[0] if models else ""
        items = client.provider.create_async_generator(
            model, messages, client.api_base, stream=stream, **client.auth(), **params
        )
        if stream:
            return self._chunks(items, model)
        return await self._merge(items, model, params.get("response_format"))

    async def _chunks(self, items: Any, model: str) -> AsyncIterator[ChatCompletionChunk]:
        id_, created, first = _new_id(), int(time.time()), True
        async for item in items:
            yield _chunk(item, id_, created, model, first)
            first = False

    async def _merge(self, items: Any, model: str, response_format: Any) -> ChatCompletion:
        texts: list[str] = []
        thoughts: list[str] = []
        calls: list[ChatCompletionMessageToolCall] = []
        finish: str | None = None
        usage: CompletionUsage | None = None
        async for item in items:
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, Reasoning):
                thoughts.append(item.text)
            elif isinstance(item, ToolCalls):
                calls += [
                    ChatCompletionMessageToolCall(
                        c["id"], Function(c["function"]["name"], c["function"]["arguments"])
                    )
                    for c in item.calls
                ]
            elif isinstance(item, FinishReason):
                finish = item.reason
            elif isinstance(item, Usage):
                usage = _usage(item)
        content = "".join(texts) if texts or not calls else None
        message = ChatCompletionMessage(
            content,
            reasoning="".join(thoughts) or None,
            tool_calls=calls or None,
            parsed=_parse(content, response_format),
        )
        return ChatCompletion(
            _new_id(), [Choice(0, message, finish)], int(time.time()), model, usage=usage
        )


class _AsyncChat:
    def __init__(self, client: AsyncClient) -> None:
        self.completions = _AsyncCompletions(client)


class _AsyncModels:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self) -> ModelsPage:
        client = self._client
        names = await client.provider.get_models_async(client.api_base, **client.connection())
        return ModelsPage([Model(name) for name in names])


class AsyncClient:
    """``AsyncClient(provider=Ollama, api_base=None, api_key=None, **connection)``."""

    def __init__(
        self,
        provider: type[OpenaiAPI] = Ollama,
        api_base: str | None = None,
        api_key: str | None = None,
        **connection: Any,
    ) -> None:
        self.provider = provider
        self.api_base = api_base
        self._api_key = api_key
        self._connection = connection
        self.chat = _AsyncChat(self)
        self.models = _AsyncModels(self)

    def auth(self) -> dict[str, Any]:
        extra = {"api_key": self._api_key} if self._api_key is not None else {}
        return {**self._connection, **extra}

    def connection(self) -> dict[str, Any]:
        """The settings that apply to any request (not to a chat's body)."""
        keep = ("api_key", "headers", "proxy", "verify", "timeout")
        return {k: v for k, v in self.auth().items() if k in keep}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider.__name__}, api_base={self.api_base!r})"
        )


class _Completions:
    def __init__(self, inner: _AsyncCompletions) -> None:
        self._inner = inner

    def create(
        self, *, model: str, messages: Any, stream: bool = False, **params: Any
    ) -> ChatCompletion | Iterator[ChatCompletionChunk]:
        """As openai-python's: a ``ChatCompletion``, or with ``stream=True`` an iterator."""
        from ._sync import iterate, run

        result = run(self._inner.create(model=model, messages=messages, stream=stream, **params))
        if isinstance(result, ChatCompletion):
            return result
        return iterate(result)


class _Chat:
    def __init__(self, inner: _AsyncChat) -> None:
        self.completions = _Completions(inner.completions)


class _Models:
    def __init__(self, inner: _AsyncModels) -> None:
        self._inner = inner

    def list(self) -> ModelsPage:
        from ._sync import run

        return run(self._inner.list())


class Client:
    """The sync twin of :class:`AsyncClient`, with the same arguments."""

    def __init__(
        self,
        provider: type[OpenaiAPI] = Ollama,
        api_base: str | None = None,
        api_key: str | None = None,
        **connection: Any,
    ) -> None:
        inner = AsyncClient(provider, api_base, api_key, **connection)
        self.provider = provider
        self.api_base = api_base
        self.chat = _Chat(inner.chat)
        self.models = _Models(inner.models)

    def __repr__(self) -> str:
        return f"Client(provider={self.provider.__name__}, api_base={self.api_base!r})"
