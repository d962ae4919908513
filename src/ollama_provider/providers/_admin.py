"""Model management on the Ollama provider: list, pull, show, ps, version, load, unload, delete.

Each operation is async (``await Ollama.show(...)``, ``async for p in Ollama.pull(...)``)
and has a sync form with a ``_sync`` suffix, written on top of it. Results are
typed (``_models``), never raw dicts; a 404 about the model raises
``ModelNotFoundError`` and a failure line inside a pull raises ``ResponseStatusError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from .._errors import ProviderError
from .._models import ModelInfo, PullProgress, RunningModel, ShowResult
from .._params import CONNECTION_PARAMS, check_model_name, reject_unknown
from .._settings import CHAT_TIMEOUT, DEFAULT_TIMEOUT, Timeout

if TYPE_CHECKING:
    from .._exchange import Endpoint

__all__ = ["ModelAdmin"]

_ALLOWED = CONNECTION_PARAMS - {"extra_body", "max_line_size"}


class ModelAdmin:
    """Mixed into ``Ollama``; relies on its ``_address`` and ``_endpoint``."""

    @classmethod
    def _admin_endpoint(
        cls, api_base: str | None, api_key: str | None, connection: dict[str, Any], where: str
    ) -> Endpoint:
        reject_unknown(connection, _ALLOWED, where)
        address = cls._address(api_base)  # type: ignore[attr-defined]
        endpoint: Endpoint = cls._endpoint(address, api_key, connection)  # type: ignore[attr-defined]
        return endpoint

    @classmethod
    async def _call(
        cls,
        method: str,
        path: str,
        body: object,
        *,
        api_base: str | None,
        api_key: str | None,
        timeout: float | Timeout | None,
        connection: dict[str, Any],
        model: str | None = None,
    ) -> Any:
        from .._exchange import fetch_json

        endpoint = cls._admin_endpoint(api_base, api_key, connection, f"{path}")
        wait = Timeout.of(timeout, DEFAULT_TIMEOUT)
        return await fetch_json(endpoint, method, path, wait, body, model=model)

    @classmethod
    async def list_models(
        cls,
        api_base: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | Timeout | None = None,
        **connection: Any,
    ) -> list[ModelInfo]:
        """Installed models with their details (``GET /api/tags``), in the server's order."""
        data = await cls._call(
            "GET",
            "/api/tags",
            None,
            api_base=api_base,
            api_key=api_key,
            timeout=timeout,
            connection=connection,
        )
        return [ModelInfo.parse(m) for m in _entries(data, "models", "/api/tags")]

    @classmethod
    async def pull(
        cls,
        model: str,
        api_base: str | None = None,
        *,
        api_key: str | None = None,
        insecure: bool = False,
        timeout: float | Timeout | None = None,
        **connection: Any,
    ) -> AsyncIterator[PullProgress]:
        """Download a model: progress lines as they come; a failure line raises."""
        from .._exchange import ndjson_objects

        name = _model(model)
        endpoint = cls._admin_endpoint(api_base, api_key, connection, "pull()")
        body = {"model": name, "stream": True, **({"insecure": True} if insecure else {})}
        wait = Timeout.of(timeout, CHAT_TIMEOUT)
        async for line in ndjson_objects(endpoint, "/api/pull", body, wait):
            yield PullProgress.parse(line)

    @classmethod
    async def show(
        cls,
        model: str,
        api_base: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | Timeout | None = None,
        **connection: Any,
    ) -> ShowResult:
        """Details, parameters, context length and capabilities of one model."""
        name = _model(model)
        data = await cls._call(
            "POST",
            "/api/show",
            {"model": name},
            api_base=api_base,
            api_key=api_key,
            timeout=timeout,
            connection=connection,
            model=name,
        )
        if not isinstance(data, dict):
            raise ProviderError("/api/show did not answer with an object")
        return ShowResult.parse(name, data)

    @classmethod
    async def ps(
        cls,
        api_base: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | Timeout | None = None,
        **connection: Any,
    ) -> list[RunningModel]:
        """Models loaded in memory, with their size and when they unload."""
        data = await cls._call(
            "GET",
            "/api/ps",
            None,
            api_base=api_base,
            api_key=api_key,
            timeout=timeout,
            connection=connection,
        )
        return [RunningModel.parse(m) for m in _entries(data, "models", "/api/ps")]

    @classmethod
    async def version(
        cls,
        api_base: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | Timeout | None = None,
        **connection: Any,
    ) -> str:
        """The server's version (``GET /api/version``)."""
        data = await cls._call(
            "GET",
            "/api/version",
            None,
            api_base=api_base,
            api_key=api_key,
            timeout=timeout,
            connection=connection,
        )
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
        api_key: str | None = None,
        timeout: float | Timeout | None = None,
        **connection: Any,
    ) -> None:
        """Load a model into memory now (and keep it for ``keep_alive``)."""
        name = _model(model)
        body: dict[str, Any] = {"model": name, "stream": False}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        await cls._call(
            "POST",
            "/api/generate",
            body,
            api_base=api_base,
            api_key=api_key,
            timeout=Timeout.of(timeout, CHAT_TIMEOUT),
            connection=connection,
            model=name,
        )

    @classmethod
    async def unload(
        cls,
        model: str,
        api_base: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | Timeout | None = None,
        **connection: Any,
    ) -> None:
        """Unload a model from memory now (``keep_alive`` 0)."""
        await cls.load(
            model, api_base, keep_alive=0, api_key=api_key, timeout=timeout, **connection
        )

    @classmethod
    async def delete(
        cls,
        model: str,
        api_base: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | Timeout | None = None,
        **connection: Any,
    ) -> None:
        """Remove an installed model from the server's disk."""
        name = _model(model)
        await cls._call(
            "DELETE",
            "/api/delete",
            {"model": name},
            api_base=api_base,
            api_key=api_key,
            timeout=timeout,
            connection=connection,
            model=name,
        )

    # -- sync forms ----------------------------------------------------------------------

    @classmethod
    def list_models_sync(cls, api_base: str | None = None, **kwargs: Any) -> list[ModelInfo]:
        from .._sync import run

        return run(cls.list_models(api_base, **kwargs))

    @classmethod
    def pull_sync(
        cls, model: str, api_base: str | None = None, **kwargs: Any
    ) -> Iterator[PullProgress]:
        from .._sync import iterate

        return iterate(cls.pull(model, api_base, **kwargs))

    @classmethod
    def show_sync(cls, model: str, api_base: str | None = None, **kwargs: Any) -> ShowResult:
        from .._sync import run

        return run(cls.show(model, api_base, **kwargs))

    @classmethod
    def ps_sync(cls, api_base: str | None = None, **kwargs: Any) -> list[RunningModel]:
        from .._sync import run

        return run(cls.ps(api_base, **kwargs))

    @classmethod
    def version_sync(cls, api_base: str | None = None, **kwargs: Any) -> str:
        from .._sync import run

        return run(cls.version(api_base, **kwargs))

    @classmethod
    def load_sync(cls, model: str, api_base: str | None = None, **kwargs: Any) -> None:
        from .._sync import run

        run(cls.load(model, api_base, **kwargs))

    @classmethod
    def unload_sync(cls, model: str, api_base: str | None = None, **kwargs: Any) -> None:
        from .._sync import run

        run(cls.unload(model, api_base, **kwargs))

    @classmethod
    def delete_sync(cls, model: str, api_base: str | None = None, **kwargs: Any) -> None:
        from .._sync import run

        run(cls.delete(model, api_base, **kwargs))


def _model(model: object) -> str:
    name = check_model_name(model)
    if not name:
        raise ValueError("a model name is required, e.g. 'llama3.2'")
    return name


def _entries(data: object, key: str, where: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or key not in data:
        raise ProviderError(f"{where} did not answer with a model list: is this Ollama?")
    return [entry for entry in data[key] or [] if isinstance(entry, dict)]
