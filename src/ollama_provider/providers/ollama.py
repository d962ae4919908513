"""The Ollama provider: the OpenAI-compatible base, pointed at a local Ollama server.

The server comes from ``api_base`` (a trailing ``/v1`` is dropped) or from
``OLLAMA_HOST``/``OLLAMA_PORT`` (see ``_hosts``). Chats go through Ollama's
``/v1`` layer, except when a call passes Ollama-only options (``keep_alive``,
``options``, ``think``, ``format``), which that layer would ignore: those go
to the native ``/api/chat`` and yield the very same events. Model management
(pull, show, ps, version, load, unload, delete) comes from ``_admin``.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import ProviderError, ResponseStatusError
from .._hosts import ServerAddress, resolve_ollama
from .._params import BODY_PARAMS, CONNECTION_PARAMS, NATIVE_PARAMS, native_body, openai_body
from .._settings import Timeout
from ._admin import ModelAdmin
from .openai_api import OpenaiAPI, _model_ids

if TYPE_CHECKING:
    from .._exchange import Endpoint

__all__ = ["Ollama"]


@functools.lru_cache(maxsize=64)
def _resolve(api_base: str | None, host: str | None, port: str | None) -> ServerAddress:
    """The host rules are pure: the same inputs need not be parsed twice."""
    environment = {k: v for k, v in (("OLLAMA_HOST", host), ("OLLAMA_PORT", port)) if v is not None}
    return resolve_ollama(api_base, environment)


logger = logging.getLogger("ollama_provider")


class Ollama(ModelAdmin, OpenaiAPI):
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
    def _address(cls, api_base: str | None) -> ServerAddress:
        environ = os.environ
        return _resolve(api_base, environ.get("OLLAMA_HOST"), environ.get("OLLAMA_PORT"))

    @classmethod
    def _advice(cls) -> str:
        return (
            "Is Ollama running? Start it with `ollama serve`, or point OLLAMA_HOST "
            "(or api_base) at the server."
        )

    @classmethod
    def server_address(cls, api_base: str | None = None) -> ServerAddress:
        """Where calls would go now, and how that was derived (for diagnostics)."""
        return cls._address(api_base)

    @classmethod
    def get_models(
        cls, api_base: str | None = None, *, refresh: bool = False, **kwargs: Any
    ) -> list[str]:
        """Installed model names from ``GET /api/tags``, in the server's order; cached per server.

        Sets ``Ollama.models`` and ``Ollama.default_model`` (the first, or ""). A server
        without ``/api/tags`` (llama.cpp, LM Studio, vLLM) is asked ``GET /v1/models``.
        """
        return super().get_models(api_base, refresh=refresh, **kwargs)

    @classmethod
    async def _fetch_models(cls, endpoint: Endpoint, timeout: Timeout) -> list[str]:
        from .._exchange import fetch_json

        try:
            data = await fetch_json(endpoint, "GET", "/api/tags", timeout)
        except ResponseStatusError as exc:
            if exc.status != 404:
                raise
            logger.debug("%s/api/tags answered 404: asking /v1/models", endpoint.base)
            return _model_ids(
                await fetch_json(endpoint, "GET", "/v1/models", timeout), endpoint.base
            )
        if not isinstance(data, dict) or "models" not in data:
            raise ProviderError(
                f"{endpoint.base}/api/tags did not answer with a model list: is this Ollama?",
                url=endpoint.base + "/api/tags",
            )
        names = []
        for entry in data["models"] or []:
            if isinstance(entry, dict) and (entry.get("name") or entry.get("model")):
                names.append(str(entry.get("name") or entry.get("model")))
        return names

    @classmethod
    def _route(
        cls,
        model: str,
        messages: list[Mapping[str, Any]],
        stream: bool,
        params: dict[str, Any],
        extra_body: Mapping[str, Any] | None,
    ) -> tuple[str, dict[str, Any], bool]:
        native = {k: params.pop(k) for k in NATIVE_PARAMS & params.keys()}
        if native:
            from .._messages import native_messages

            body = native_body(model, native_messages(messages), stream, params, native, extra_body)
            return "/api/chat", body, True
        from .._messages import openai_messages

        return (
            "/v1/chat/completions",
            openai_body(model, openai_messages(messages), stream, params, extra_body),
            False,
        )
