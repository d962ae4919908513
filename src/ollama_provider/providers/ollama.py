"""The Ollama provider: the OpenAI-compatible base, pointed at a local Ollama server.

The server comes from ``api_base`` (a trailing ``/v1`` is dropped) or from
``OLLAMA_HOST``/``OLLAMA_PORT`` (see ``_address``). Chats go through Ollama's
``/v1`` layer, except when a call passes Ollama-only options (``keep_alive``,
``options``, ``think``, ``format``), which that layer would ignore: those go
to the native ``/api/chat`` and yield the very same events. ``embed`` and
``generate`` use the native ``/api/embed`` and ``/api/generate``. Model
management comes from ``_admin`` (list, show, ps, version, load, unload,
delete, copy) and ``_transfer`` (pull, push, create); the web tools from ``_cloud``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from .._address import ServerAddress, resolve_servers
from .._params import (
    BODY_PARAMS,
    CONNECTION_PARAMS,
    NATIVE_PARAMS,
    check_model_name,
    check_think,
    format_of,
    native_body,
    native_options,
    openai_body,
    options_of,
)
from .._results import Embeddings
from .._timeout import Timeout
from .._types import AsyncResult, Messages, OllamaChatParams, RequestOptions, StreamItem
from ._admin import ModelAdmin
from ._cloud import CloudMixin
from ._inference import _prompt, run_embed, stream_generate
from ._transfer import TransferMixin
from .openai_api import Base, OpenaiAPI

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._catalog import ServerKind

__all__ = ["Ollama"]


@functools.lru_cache(maxsize=64)
def _resolve(
    api_base: str | None, host: str | None, port: str | None, setting: str
) -> tuple[ServerAddress, ...]:
    """The host rules are pure: the same inputs need not be parsed twice (kept: ~14 µs of
    a ~260 µs short stream on loopback, measured with bench.server)."""
    environment = {k: v for k, v in (("OLLAMA_HOST", host), ("OLLAMA_PORT", port)) if v is not None}
    return resolve_servers(api_base, environment, setting=setting)


class Ollama(ModelAdmin, TransferMixin, CloudMixin, OpenaiAPI):
    """Models and streamed chats from a local (or remote) Ollama server."""

    label: ClassVar[str] = "Ollama"
    url: ClassVar[str | None] = "https://ollama.com"
    login_url: ClassVar[str | None] = None
    api_base: ClassVar[str] = "http://127.0.0.1:11434/v1"
    needs_auth: ClassVar[bool] = False
    working: ClassVar[bool] = True
    models: ClassVar[list[str]] = []
    default_model: ClassVar[str] = ""

    _chat_params: ClassVar[frozenset[str]] = BODY_PARAMS | CONNECTION_PARAMS | NATIVE_PARAMS

    @classmethod
    def _kind(cls) -> ServerKind:
        from .._catalog import ServerKind

        return ServerKind.OLLAMA

    @classmethod
    def _resolve(cls, api_base: str | None, setting: str) -> tuple[ServerAddress, ...]:
        environ = os.environ
        return _resolve(api_base, environ.get("OLLAMA_HOST"), environ.get("OLLAMA_PORT"), setting)

    @classmethod
    def create_async_generator(
        cls,
        model: str,
        messages: Messages,
        api_base: Base = None,
        *,
        api_key: str | None = None,
        stream: bool = True,
        timeout: float | Timeout | None = None,
        **params: Unpack[OllamaChatParams],
    ) -> AsyncResult:
        """Stream a chat completion from Ollama: ``str`` text, then typed events.

        As :meth:`OpenaiAPI.create_async_generator`; ``params`` may also hold
        Ollama's own (see :class:`OllamaChatParams`), which send the call to the
        native ``/api/chat``.
        """
        # The base class checks keywords at run time against cls._chat_params, which for
        # Ollama include the native ones its static signature does not list.
        return super().create_async_generator(  # type: ignore[misc]
            model, messages, api_base, api_key=api_key, stream=stream, timeout=timeout, **params
        )

    @classmethod
    def create_completion(
        cls,
        model: str,
        messages: Messages,
        api_base: Base = None,
        *,
        api_key: str | None = None,
        stream: bool = True,
        timeout: float | Timeout | None = None,
        **params: Unpack[OllamaChatParams],
    ) -> Iterator[StreamItem]:
        """The same items as :meth:`create_async_generator`, as a plain iterator."""
        return super().create_completion(  # type: ignore[misc]
            model, messages, api_base, api_key=api_key, stream=stream, timeout=timeout, **params
        )

    @classmethod
    def _route(
        cls,
        model: str,
        messages: list[Mapping[str, Any]],
        stream: bool,
        params: dict[str, Any],
        extra_body: Mapping[str, Any] | None,
    ) -> tuple[str, dict[str, Any], bool]:
        popped = {k: params.pop(k) for k in NATIVE_PARAMS & params.keys()}
        native = {k: v for k, v in popped.items() if v is not None}
        if native:
            from .._messages import native_messages

            body = native_body(model, native_messages(messages), stream, params, native, extra_body)
            return "/api/chat", body, True
        from .._messages import openai_messages

        body = openai_body(model, openai_messages(messages), stream, params, extra_body)
        return "/v1/chat/completions", body, False

    # -- embeddings and plain prompts, on Ollama's native API ------------------------

    @classmethod
    async def embed(
        cls,
        model: str,
        input: str | Sequence[str],
        *,
        truncate: bool | None = None,
        dimensions: int | None = None,
        keep_alive: str | float | None = None,
        options: Mapping[str, Any] | None = None,
        api_base: Base = None,
        batch_size: int = 256,
        max_concurrency: int = 4,
        **request: Unpack[RequestOptions],
    ) -> Embeddings:
        """One vector per input, in order (``POST /api/embed``).

        ``truncate=False`` makes an input longer than the model's context an error
        instead of cutting it; ``dimensions`` shortens the vectors (models that
        support it). A long ``input`` list is sent in batches of ``batch_size``, at
        most ``max_concurrency`` at a time; a failing batch fails the call and its
        error names the batch's inputs.
        """
        extra: dict[str, Any] = {}
        for name, value in (
            ("truncate", truncate), ("dimensions", dimensions), ("keep_alive", keep_alive),
        ):  # fmt: skip
            if value is not None:
                extra[name] = value
        if options is not None:
            extra["options"] = options_of(options)
        endpoints, timeout = cls._prepare(api_base, request, "embed()")
        return await run_embed(
            cls, endpoints, model, input, extra, timeout, batch_size, max_concurrency
        )

    @classmethod
    def generate(
        cls,
        model: str,
        prompt: str,
        *,
        suffix: str | None = None,
        system: str | None = None,
        images: Sequence[Any] | None = None,
        raw: bool = False,
        template: str | None = None,
        context: Sequence[int] | None = None,
        format: Any = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: str | float | None = None,
        think: bool | str | None = None,
        stream: bool = True,
        api_base: Base = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        stop: str | list[str] | None = None,
        logprobs: bool | None = None,
        top_logprobs: int | None = None,
        **request: Unpack[RequestOptions],
    ) -> AsyncResult:
        """Complete ``prompt`` (``POST /api/generate``): the same items as a chat, plus a
        :class:`Context` at the end to pass as ``context=`` to continue.

        ``images`` are paths, bytes or base64 text; ``format`` is "json", a JSON
        schema or a pydantic model class; ``think`` is True, False or a level
        ("low", "medium", "high"). The sampling arguments go into ``options``.
        Returned without ``await``; the request starts at the first iteration.
        """
        from .._messages import image_base64

        body: dict[str, Any] = {"model": check_model_name(model), "prompt": _prompt(prompt)}
        body["stream"] = bool(stream)
        fields = {
            "suffix": suffix, "system": system, "template": template,
            "keep_alive": keep_alive, "think": check_think(think), "format": format_of(format),
            "logprobs": logprobs, "top_logprobs": top_logprobs,
        }  # fmt: skip
        body.update({k: v for k, v in fields.items() if v is not None})
        if raw:
            body["raw"] = True
        if context is not None:
            body["context"] = [int(t) for t in context]
        if images:
            body["images"] = [image_base64(img, f"images[{i}]") for i, img in enumerate(images)]
        sampling, _ = native_options(
            {"temperature": temperature, "top_p": top_p, "max_tokens": max_tokens,
             "seed": seed, "stop": stop}
        )  # fmt: skip
        # Here the sampling arguments win over options={...}; in a native chat the
        # options win (native_body): kept as they were.
        merged = options_of({**(options or {}), **sampling})
        if merged:
            body["options"] = merged
        endpoints, timeout = cls._prepare(api_base, request, "generate()")
        return stream_generate(cls, endpoints, "/api/generate", body, timeout, native=True)
