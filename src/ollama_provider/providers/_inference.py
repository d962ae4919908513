"""Embeddings and plain-prompt completions, besides chat: ``embed`` and ``generate``.

Mixed into ``OpenaiAPI`` (``POST {api_base}/embeddings`` and ``/completions``, as
llama.cpp, vLLM and OpenAI serve them); ``Ollama`` overrides both with its native
``/api/embed`` and ``/api/generate``. Each has a ``_sync`` form on top.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .._params import check_model_name, encode_body, required_model
from .._results import Embeddings
from .._timeout import CHAT_TIMEOUT, DEFAULT_TIMEOUT, Timeout
from .._types import AsyncResult, StreamItem

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._embeddings import EmbedCall
    from .._endpoint import Endpoint
    from .._types import RequestOptions
    from .openai_api import Base

__all__ = ["InferenceMixin", "run_embed", "stream_generate"]


class InferenceMixin:
    """``embed`` and ``generate`` against an OpenAI-compatible base."""

    @classmethod
    async def embed(
        cls,
        model: str,
        input: str | Sequence[str],
        *,
        dimensions: int | None = None,
        api_base: Base = None,
        batch_size: int = 256,
        max_concurrency: int = 4,
        **options: Unpack[RequestOptions],
    ) -> Embeddings:
        """One vector per input, in order (``POST {api_base}/embeddings``).

        A long ``input`` list is sent in batches of ``batch_size``, at most
        ``max_concurrency`` at a time; a failing batch fails the call and its
        error names the batch's inputs.
        """
        endpoints, timeout = cls._prepare(api_base, options, "embed()")  # type: ignore[attr-defined]
        extra: dict[str, Any] = {}
        if dimensions is not None:
            extra["dimensions"] = dimensions
        return await run_embed(
            cls, endpoints, model, input, extra, timeout, batch_size, max_concurrency
        )

    @classmethod
    def embed_sync(cls, model: str, input: str | Sequence[str], **kwargs: Any) -> Embeddings:
        """:meth:`embed` for sync code."""
        from .._sync import run

        return run(cls.embed(model, input, **kwargs))

    @classmethod
    def generate(
        cls,
        model: str,
        prompt: str,
        *,
        suffix: str | None = None,
        stream: bool = True,
        api_base: Base = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        stop: str | list[str] | None = None,
        **options: Unpack[RequestOptions],
    ) -> AsyncResult:
        """Complete ``prompt`` (``POST {api_base}/completions``): the same items as a chat.

        Returned without ``await``; the request starts at the first iteration.
        """
        body: dict[str, Any] = {"model": check_model_name(model), "prompt": _prompt(prompt)}
        body["stream"] = bool(stream)
        if stream:
            body["stream_options"] = {"include_usage": True}
        sampling: dict[str, Any] = {
            "temperature": temperature, "top_p": top_p, "max_tokens": max_tokens,
            "seed": seed, "stop": stop, "suffix": suffix,
        }  # fmt: skip
        body.update({k: v for k, v in sampling.items() if v is not None})
        endpoints, timeout = cls._prepare(api_base, options, "generate()")  # type: ignore[attr-defined]
        return stream_generate(cls, endpoints, "/completions", body, timeout, native=False)

    @classmethod
    def generate_sync(cls, model: str, prompt: str, **kwargs: Any) -> Iterator[StreamItem]:
        """:meth:`generate` as a plain iterator."""
        from .._sync import iterate

        return iterate(cls.generate(model, prompt, **kwargs))


def _prompt(prompt: object) -> str:
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, not {type(prompt).__name__}")
    return prompt


async def run_embed(
    provider: Any,
    endpoints: tuple[Endpoint, ...],
    model: str,
    inputs: object,
    extra: dict[str, Any],
    timeout: float | Timeout | None,
    batch_size: int,
    max_concurrency: int,
) -> Embeddings:
    """Check the arguments, embed in batches, and name the installed models if missing."""
    from .._catalog import with_installed
    from .._embeddings import EmbedCall, check_inputs, embed
    from .._errors import ModelNotFoundError

    name = required_model(model, "nomic-embed-text")
    texts = check_inputs(inputs)
    for setting, value in (("batch_size", batch_size), ("max_concurrency", max_concurrency)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{setting} must be a positive int, not {value!r}")
    wait = Timeout.of(timeout, DEFAULT_TIMEOUT)
    call: EmbedCall = EmbedCall(
        endpoints, provider._kind(), name, texts, extra, wait, batch_size, max_concurrency
    )
    try:
        return await embed(call)
    except ModelNotFoundError as error:
        missing = error
    if len(endpoints) == 1:
        raise await with_installed(missing, endpoints[0], provider._kind())
    raise missing


def stream_generate(
    provider: Any,
    endpoints: tuple[Endpoint, ...],
    path: str,
    body: dict[str, Any],
    timeout: float | Timeout | None,
    *,
    native: bool,
) -> AsyncResult:
    from .._errors import Action
    from .._streaming import ChatCall, chat_items

    call = ChatCall(
        endpoints,
        provider._kind(),
        path,
        body,
        encode_body(body),
        Timeout.of(timeout, CHAT_TIMEOUT),
        native=native,
        stream=bool(body["stream"]),
        action=Action.GENERATE,
    )
    return chat_items(call)
