"""What models a server has: one fetch rule per kind of server, one cache for all callers.

Ollama lists its models at ``GET /api/tags``; a server without that route
(llama.cpp, LM Studio, vLLM behind an Ollama-style address) is asked
``GET /v1/models``. OpenAI-compatible servers are asked ``GET {base}/models``.
Model names are cached per server identity (address, credentials, headers,
proxy: a keyed digest, never the secrets themselves), so a caller with other
credentials never sees another caller's private list.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from ._cache import SingleFlightCache
from ._endpoint import Endpoint
from ._errors import Action, ModelNotFoundError, ProviderError, ResponseStatusError
from ._model_records import ModelInfo, RunningModel
from ._requests import fetch_json, wrong_shape
from ._timeout import Timeout

__all__ = [
    "ServerKind",
    "available",
    "default_model",
    "forget",
    "installed_name",
    "loaded_context",
    "model_names",
    "model_records",
    "reset",
    "with_installed",
]

logger = logging.getLogger("ollama_provider")
# Kept five minutes: long enough that a burst of calls asks once, short enough that a
# model pulled on another machine is found (a 404 refreshes a server's list at once).
_names: SingleFlightCache[list[str]] = SingleFlightCache(ttl=300.0)


class ServerKind(enum.Enum):
    OLLAMA = "ollama"  # the address is the server root
    OPENAI = "openai"  # the address is an OpenAI-compatible base (…/v1)


def reset() -> None:
    _names.clear()


def forget(endpoint: Endpoint, kind: ServerKind) -> None:
    """Drop a server's cached list (it turned out to be out of date)."""
    _names.forget((kind, endpoint.identity))


def _openai_ids(endpoint: Endpoint, path: str, data: Any) -> list[ModelInfo]:
    """``data[].id`` of an OpenAI model list; ``"data": null`` means none."""
    if not isinstance(data, dict) or "data" not in data:
        raise wrong_shape(endpoint, path, Action.LIST, "a model list", data)
    items = data["data"] or []
    return [ModelInfo(str(i["id"])) for i in items if isinstance(i, dict) and "id" in i]


async def model_records(endpoint: Endpoint, kind: ServerKind, timeout: Timeout) -> list[ModelInfo]:
    """The installed models with what the server says of them, in the server's order."""
    if kind is ServerKind.OPENAI:
        return _openai_ids(
            endpoint,
            "/models",
            await fetch_json(endpoint, "GET", "/models", timeout, action=Action.LIST),
        )
    try:
        data = await fetch_json(endpoint, "GET", "/api/tags", timeout, action=Action.LIST)
    except ResponseStatusError as exc:
        if exc.status != 404:
            raise
        logger.debug("%s/api/tags answered 404: asking /v1/models", endpoint.base)
        data = await fetch_json(endpoint, "GET", "/v1/models", timeout, action=Action.LIST)
        return _openai_ids(endpoint, "/v1/models", data)
    if not isinstance(data, dict) or "models" not in data:
        raise wrong_shape(endpoint, "/api/tags", Action.LIST, "a model list", data)
    entries = data["models"] or []
    return [
        ModelInfo.parse(m)
        for m in entries
        if isinstance(m, dict) and (m.get("name") or m.get("model"))
    ]


async def model_names(
    endpoint: Endpoint, kind: ServerKind, timeout: Timeout, *, refresh: bool = False
) -> list[str]:
    """The model names, cached per server; failures are never cached."""

    async def fetch() -> list[str]:
        return [m.name for m in await model_records(endpoint, kind, timeout)]

    return list(await _names.get((kind, endpoint.identity), fetch, refresh=refresh))


async def default_model(
    endpoint: Endpoint, kind: ServerKind, timeout: Timeout, action: Action
) -> str:
    """The server's first model; none installed is a ModelNotFoundError."""
    names = await model_names(endpoint, kind, timeout)
    if names:
        return names[0]
    error = ModelNotFoundError(model="", available=[], status=None, url=endpoint.base)
    raise endpoint.annotate(error, action)


async def available(endpoint: Endpoint, kind: ServerKind) -> list[str] | None:
    """Best effort, for a ModelNotFoundError: the installed models now, or None."""
    try:
        return await model_names(endpoint, kind, Timeout(5.0, 5.0, 5.0), refresh=True)
    except ProviderError:
        return None


async def with_installed(
    error: ModelNotFoundError, endpoint: Endpoint, kind: ServerKind
) -> ModelNotFoundError:
    """``error`` naming the models the server has now (best effort: none when it does not
    answer), for a message that says what to use instead."""
    error.available = await available(endpoint, kind) or []
    return error


def _same_model(a: str, b: str) -> bool:
    return (a if ":" in a else a + ":latest") == (b if ":" in b else b + ":latest")


def installed_name(names: list[str], name: str) -> str | None:
    """The installed name ``name`` refers to (``llama3.2`` is ``llama3.2:latest``), or None."""
    if name in names:
        return name
    return next((n for n in names if _same_model(n, name)), None)


async def loaded_context(endpoint: Endpoint, model: str) -> int | None:
    """The context window a loaded model runs with (``GET /api/ps``), or None."""
    try:
        data = await fetch_json(endpoint, "GET", "/api/ps", Timeout(5.0, 5.0, 5.0))
    except ProviderError:
        return None
    entries = data.get("models") if isinstance(data, dict) else None
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        running = RunningModel.parse(entry)
        if _same_model(running.name, model):
            context = running.context_length
            return context if context is not None and context > 0 else None
    return None
