"""Model management on the Ollama provider: list, pull, show, ps, version, load, unload, delete.

Each operation is async (``await Ollama.show(...)``, ``async for p in Ollama.pull(...)``)
and has a sync form with a ``_sync`` suffix, written on top of it. Results are
typed (``_models``), never raw dicts; a 404 about the model raises
``ModelNotFoundError`` and a failure line inside a pull raises ``ResponseStatusError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import ProviderError
from .._models import ModelInfo, PullProgress, RunningModel, ShowResult
from .._params import CONNECTION_PARAMS, check_model_name, reject_unknown
from .._settings import CHAT_TIMEOUT, DEFAULT_TIMEOUT, Timeout

if TYPE_CHECKING:
    from .._exchange import Endpoint

__all__ = ["ModelAdmin"]

T = TypeVar("T")
_ALLOWED = CONNECTION_PARAMS - {"extra_body", "max_line_size"}


class ModelAdmin:
    """Mixed into ``Ollama``; relies on its ``_address`` and ``_endpoint``.

    Every method takes ``api_base`` (as the chat methods do) and the options
    ``api_key``, ``timeout``, ``headers``, ``proxy``, ``verify``, ``transport``.
    """

    @classmethod
    def _admin_endpoint(
        cls, api_base: str | None, options: dict[str, Any], where: str
    ) -> tuple[Endpoint, Any]:
        reject_unknown(options, _ALLOWED | {"api_key", "timeout"}, where)
        connection = dict(options)
        api_key = connection.pop("api_key", None)
        timeout = connection.pop("timeout", None)
        address = cls._address(api_base)  # type: ignore[attr-defined]
        endpoint: Endpoint = cls._endpoint(address, api_key, connection)  # type: ignore[attr-defined]
        return endpoint, timeout

    @classmethod
    async def _call(
        cls,
        method: str,
        path: str,
        body: object,
        api_base: str | None,
        options: dict[str, Any],
        *,
        model: str | None = None,
        wait: Timeout = DEFAULT_TIMEOUT,
    ) -> Any:
        from .._exchange import fetch_json

        endpoint, timeout = cls._admin_endpoint(api_base, options, path)
        return await fetch_json(
            endpoint, method, path, Timeout.of(timeout, wait), body, model=model
        )

    @classmethod
    async def list_models(cls, api_base: str | None = None, **options: Any) -> list[ModelInfo]:
        """Installed models with their details (``GET /api/tags``), in the server's order."""
        data = await cls._call("GET", "/api/tags", None, api_base, options)
        return [ModelInfo.parse(m) for m in _entries(data, "models", "/api/tags")]

    @classmethod
    async def pull(
        cls, model: str, api_base: str | None = None, *, insecure: bool = False, **options: Any
    ) -> AsyncIterator[PullProgress]:
        """Download a model: progress lines as they come; a failure line raises."""
        from .._exchange import ndjson_objects

        name = _model(model)
        endpoint, timeout = cls._admin_endpoint(api_base, options, "/api/pull")
        body = {"model": name, "stream": True, **({"insecure": True} if insecure else {})}
        lines = ndjson_objects(endpoint, "/api/pull", body, Timeout.of(timeout, CHAT_TIMEOUT))
        async for line in lines:
            yield PullProgress.parse(line)

    @classmethod
    async def show(cls, model: str, api_base: str | None = None, **options: Any) -> ShowResult:
        """Details, parameters, context length and capabilities of one model."""
        name = _model(model)
        data = await cls._call("POST", "/api/show", {"model": name}, api_base, options, model=name)
        if not isinstance(data, dict):
            raise ProviderError("/api/show did not answer with an object")
        return ShowResult.parse(name, data)

    @classmethod
    async def ps(cls, api_base: str | None = None, **options: Any) -> list[RunningModel]:
        """Models loaded in memory, with their size and when they unload."""
        data = await cls._call("GET", "/api/ps", None, api_base, options)
        return [RunningModel.parse(m) for m in _entries(data, "models", "/api/ps")]

    @classmethod
    async def version(cls, api_base: str | None = None, **options: Any) -> str:
        """The server's version (``GET /api/version``)."""
        data = await cls._call("GET", "/api/version", None, api_base, options)
        if not isinstance(data, dict) or not isinstance(data.get("version"), str):
            raise ProviderError("/api/version did not answer with a version")
        return str(data["version"])

    @classmethod
    async def load(
        cls,
        model: str,
        api_base: str | None = None,
        *,
        keep_alive: str | float | None = None,
        **options: Any,
    ) -> None:
        """Load a model into memory now (and keep it for ``keep_alive``)."""
        name = _model(model)
        body: dict[str, Any] = {"model": name, "stream": False}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        await cls._call(
            "POST", "/api/generate", body, api_base, options, model=name, wait=CHAT_TIMEOUT
        )

    @classmethod
    async def unload(cls, model: str, api_base: str | None = None, **options: Any) -> None:
        """Unload a model from memory now (``keep_alive`` 0)."""
        await cls.load(model, api_base, keep_alive=0, **options)

    @classmethod
    async def delete(cls, model: str, api_base: str | None = None, **options: Any) -> None:
        """Remove an installed model from the server's disk."""
        name = _model(model)
        await cls._call("DELETE", "/api/delete", {"model": name}, api_base, options, model=name)

    # -- sync forms: the same calls, run on the sync portal ---------------------------

    @classmethod
    def list_models_sync(cls, api_base: str | None = None, **options: Any) -> list[ModelInfo]:
        return _run(cls.list_models(api_base, **options))

    @classmethod
    def pull_sync(
        cls, model: str, api_base: str | None = None, **options: Any
    ) -> Iterator[PullProgress]:
        from .._sync import iterate

        return iterate(cls.pull(model, api_base, **options))

    @classmethod
    def show_sync(cls, model: str, api_base: str | None = None, **options: Any) -> ShowResult:
        return _run(cls.show(model, api_base, **options))

    @classmethod
    def ps_sync(cls, api_base: str | None = None, **options: Any) -> list[RunningModel]:
        return _run(cls.ps(api_base, **options))

    @classmethod
    def version_sync(cls, api_base: str | None = None, **options: Any) -> str:
        return _run(cls.version(api_base, **options))

    @classmethod
    def load_sync(cls, model: str, api_base: str | None = None, **options: Any) -> None:
        _run(cls.load(model, api_base, **options))

    @classmethod
    def unload_sync(cls, model: str, api_base: str | None = None, **options: Any) -> None:
        _run(cls.unload(model, api_base, **options))

    @classmethod
    def delete_sync(cls, model: str, api_base: str | None = None, **options: Any) -> None:
        _run(cls.delete(model, api_base, **options))


def _run(coro: Coroutine[Any, Any, T]) -> T:
    from .._sync import run

    return run(coro)


def _model(model: object) -> str:
    name = check_model_name(model)
    if not name:
        raise ValueError("a model name is required, e.g. 'llama3.2'")
    return name


def _entries(data: object, key: str, where: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or key not in data:
        raise ProviderError(f"{where} did not answer with a model list: is this Ollama?")
    return [entry for entry in data[key] or [] if isinstance(entry, dict)]
