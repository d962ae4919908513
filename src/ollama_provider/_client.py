"""An OpenAI-shaped client over any provider, so code written for openai-python ports unchanged.

``client.chat.completions.create/parse``, ``client.completions.create``,
``client.embeddings.create`` and ``client.models.list``, with openai-python's
arguments and result shapes. ``AsyncClient`` is the implementation; ``Client``
runs it through the sync portal, so both behave identically. Streams are
iterators that also work as context managers (``with ... as stream:``).

``base_url=`` (openai-python's name) talks to that OpenAI-compatible base as
openai-python would (the ``OpenaiAPI`` provider, ``OPENAI_API_KEY`` when no key
is given); ``api_base=`` with the default provider talks to Ollama.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar

from ._client_convert import chunk_of, completion_chunks, merge_chat, merge_completion, new_id
from ._completion_types import (
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    CreateEmbeddingResponse,
    Embedding,
    EmbeddingUsage,
    Model,
    ModelsPage,
)
from ._params import REQUEST_OPTIONS
from .providers import Ollama, OpenaiAPI
from .providers.openai_api import Base

__all__ = ["AsyncClient", "AsyncStream", "Client", "Stream"]

T = TypeVar("T")


class AsyncStream(Generic[T]):
    """An async iterator of chunks; ``async with`` (or ``close()``) ends it early."""

    def __init__(self, chunks: AsyncIterator[T]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> AsyncStream[T]:
        return self

    async def __anext__(self) -> T:
        return await self._chunks.__anext__()

    async def close(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()

    aclose = close  # as async generators spell it (the sync portal closes streams with it)

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class Stream(Generic[T]):
    """An iterator of chunks; ``with`` (or ``close()``) ends it early."""

    def __init__(self, chunks: Iterator[T]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Stream[T]:
        return self

    def __next__(self) -> T:
        return next(self._chunks)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> Stream[T]:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient:
    """``AsyncClient(provider=Ollama, api_base=None, api_key=None, *, base_url=None, ...)``.

    ``headers``, ``proxy``, ``verify`` and ``timeout`` apply to every call.
    """

    def __init__(
        self,
        provider: type[OpenaiAPI] | None = None,
        api_base: Base = None,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        **connection: Any,
    ) -> None:
        if base_url is not None and api_base is not None:
            raise TypeError("pass api_base or base_url, not both")
        if provider is None:
            provider = OpenaiAPI if base_url is not None else Ollama
        if provider is OpenaiAPI:  # as openai-python reads its environment
            base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
            if api_key is None:
                api_key = os.environ.get("OPENAI_API_KEY") or None
        self.provider = provider
        self.api_base: Base = api_base if api_base is not None else base_url
        self._api_key = api_key
        self._connection = connection
        self.chat = _AsyncChat(self)
        self.completions = _AsyncCompletions(self)
        self.embeddings = _AsyncEmbeddings(self)
        self.models = _AsyncModels(self)

    @property
    def base_url(self) -> str:
        return self.provider.server_address(self.api_base).root

    def options(self, **extra: Any) -> dict[str, Any]:
        """The settings of every call, with this call's keyword arguments."""
        key = {"api_key": self._api_key} if self._api_key is not None else {}
        return {**self._connection, **key, **extra}

    def connection(self) -> dict[str, Any]:
        """The settings that apply to any request (not to a chat's body)."""
        return {k: v for k, v in self.options().items() if k in REQUEST_OPTIONS}

    async def model_or_default(self, model: str) -> str:
        if model:
            return model
        return await self.provider.first_model(self.api_base, **self.connection())

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider={self.provider.__name__}, api_base={self.api_base!r})"
        )


class _AsyncChatCompletions:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self, *, model: str, messages: Sequence[Any], stream: bool = False, **params: Any
    ) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:
        """As openai-python's: a ``ChatCompletion``, or with ``stream=True`` an ``AsyncStream``
        of ``ChatCompletionChunk``. ``params`` are the provider's chat parameters
        (``temperature``, ``max_tokens``, ``tools``, ``response_format``...)."""
        client = self._client
        model = await client.model_or_default(model)
        items = client.provider.create_async_generator(
            model, messages, client.api_base, stream=stream, **client.options(**params)
        )
        if stream:
            return AsyncStream(_chunks(items, model))
        return await merge_chat(items, model, params.get("response_format"))

    async def parse(
        self, *, model: str, messages: Sequence[Any], response_format: Any, **params: Any
    ) -> ChatCompletion:
        """As openai-python's ``parse``: ``choices[0].message.parsed`` is the answer as an
        instance of the pydantic model (or a dict for a JSON schema)."""
        result = await self.create(
            model=model, messages=messages, response_format=response_format, **params
        )
        assert isinstance(result, ChatCompletion)
        return result


async def _chunks(items: Any, model: str) -> AsyncIterator[ChatCompletionChunk]:
    id_, first, created = new_id(), True, int(time.time())
    async for item in items:
        chunk = chunk_of(item, id_, created, model, first)
        if chunk is not None:
            first = False
            yield chunk


class _AsyncChat:
    def __init__(self, client: AsyncClient) -> None:
        self.completions = _AsyncChatCompletions(client)


class _AsyncCompletions:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self, *, model: str, prompt: str, stream: bool = False, **params: Any
    ) -> Completion | AsyncStream[Completion]:
        """As openai-python's ``completions.create``: text completion of ``prompt``
        (``suffix``, ``max_tokens``, ``temperature``, ``seed``, ``stop``...)."""
        client = self._client
        model = await client.model_or_default(model)
        items = client.provider.generate(
            model, prompt, stream=stream, api_base=client.api_base, **client.options(**params)
        )
        if stream:
            return AsyncStream(completion_chunks(items, model))
        return await merge_completion(items, model)


class _AsyncEmbeddings:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        *,
        model: str,
        input: str | Sequence[str],
        dimensions: int | None = None,
        encoding_format: str | None = None,
        **params: Any,
    ) -> CreateEmbeddingResponse:
        """As openai-python's ``embeddings.create``: ``data[i].embedding`` per input, in order."""
        if encoding_format not in (None, "float"):
            raise ValueError("encoding_format: only 'float' is supported")
        client = self._client
        options = {k: v for k, v in client.options(**params).items()}
        if dimensions is not None:
            options["dimensions"] = dimensions
        result = await client.provider.embed(model, input, api_base=client.api_base, **options)
        data = [Embedding(vector, i) for i, vector in enumerate(result.embeddings)]
        usage = EmbeddingUsage(result.prompt_tokens, result.prompt_tokens)
        return CreateEmbeddingResponse(data, result.model, usage)


class _AsyncModels:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self) -> ModelsPage:
        client = self._client
        names = await client.provider.get_models_async(client.api_base, **client.connection())
        return ModelsPage([Model(name) for name in names])


# -- the sync twin: the same calls, run on the sync portal ------------------------------


def _run(coro: Any) -> Any:
    from ._sync import run

    return run(coro)


class _ChatCompletions:
    def __init__(self, inner: _AsyncChatCompletions) -> None:
        self._inner = inner

    def create(
        self, *, model: str, messages: Sequence[Any], stream: bool = False, **params: Any
    ) -> ChatCompletion | Stream[ChatCompletionChunk]:
        """As openai-python's: a ``ChatCompletion``, or with ``stream=True`` a ``Stream``."""
        result = _run(self._inner.create(model=model, messages=messages, stream=stream, **params))
        return result if isinstance(result, ChatCompletion) else _sync_stream(result)

    def parse(
        self, *, model: str, messages: Sequence[Any], response_format: Any, **params: Any
    ) -> ChatCompletion:
        """As openai-python's ``parse``: ``choices[0].message.parsed`` holds the answer."""
        coro = self._inner.parse(
            model=model, messages=messages, response_format=response_format, **params
        )
        result: ChatCompletion = _run(coro)
        return result


def _sync_stream(chunks: AsyncStream[T]) -> Stream[T]:
    from ._sync import iterate

    return Stream(iterate(chunks))


class _Chat:
    def __init__(self, inner: _AsyncChat) -> None:
        self.completions = _ChatCompletions(inner.completions)


class _Completions:
    def __init__(self, inner: _AsyncCompletions) -> None:
        self._inner = inner

    def create(
        self, *, model: str, prompt: str, stream: bool = False, **params: Any
    ) -> Completion | Stream[Completion]:
        """As openai-python's ``completions.create``."""
        result = _run(self._inner.create(model=model, prompt=prompt, stream=stream, **params))
        return result if isinstance(result, Completion) else _sync_stream(result)


class _Embeddings:
    def __init__(self, inner: _AsyncEmbeddings) -> None:
        self._inner = inner

    def create(
        self,
        *,
        model: str,
        input: str | Sequence[str],
        **params: Any,
    ) -> CreateEmbeddingResponse:
        """As openai-python's ``embeddings.create``."""
        result: CreateEmbeddingResponse = _run(
            self._inner.create(model=model, input=input, **params)
        )
        return result


class _Models:
    def __init__(self, inner: _AsyncModels) -> None:
        self._inner = inner

    def list(self) -> ModelsPage:
        result: ModelsPage = _run(self._inner.list())
        return result


class Client:
    """The sync twin of :class:`AsyncClient`, with the same arguments."""

    def __init__(
        self,
        provider: type[OpenaiAPI] | None = None,
        api_base: Base = None,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        **connection: Any,
    ) -> None:
        inner = AsyncClient(provider, api_base, api_key, base_url=base_url, **connection)
        self._inner = inner
        self.provider = inner.provider
        self.api_base = inner.api_base
        self.chat = _Chat(inner.chat)
        self.completions = _Completions(inner.completions)
        self.embeddings = _Embeddings(inner.embeddings)
        self.models = _Models(inner.models)

    @property
    def base_url(self) -> str:
        return self._inner.base_url

    def __repr__(self) -> str:
        return f"Client(provider={self.provider.__name__}, api_base={self.api_base!r})"
