"""Model management on the Ollama provider: list, show, ps, version, load, unload, delete, copy.

Each operation is async (``await Ollama.show(...)``, ``async for p in Ollama.pull(...)``)
and has a sync form with a ``_sync`` suffix, written on top of it. Results are
typed (``_model_records``), never raw dicts; a 404 about the model raises
``ModelNotFoundError``. Pull, push and create are in ``_transfer``.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import Action, ModelNotFoundError
from .._model_records import ModelInfo, RunningModel, ShowResult
from .._params import check_model_name
from .._timeout import CHAT_TIMEOUT, DEFAULT_TIMEOUT, Timeout

if TYPE_CHECKING:
    from .._endpoint import Endpoint
    from .openai_api import Base

__all__ = ["ModelAdmin"]

T = TypeVar("T")


class ModelAdmin:
    """Mixed into ``Ollama``; relies on its ``_endpoint`` and ``_kind``.

    Every method takes ``api_base`` (as the chat methods do) and the options
    ``api_key``, ``timeout``, ``headers``, ``proxy``, ``verify``.
    """

    @classmethod
    def _admin(
        cls,
        api_base: Base,
        api_key: str | None,
        headers: Mapping[str, str] | None,
        proxy: str | bool | None,
        verify: bool | str,
    ) -> Endpoint:
        connection = {"headers": headers, "proxy": proxy, "verify": verify}
        endpoint: Endpoint = cls._endpoint(api_base, api_key, connection)  # type: ignore[attr-defined]
        return endpoint

    @classmethod
    async def _call(
        cls,
        action: Action,
        method: str,
        path: str,
        body: object,
        api_base: Base,
        options: dict[str, Any],
        *,
        model: str | None = None,
        wait: Timeout = DEFAULT_TIMEOUT,
    ) -> Any:
        from .._requests import fetch_json

        timeout = options.pop("timeout", None)
        endpoint = cls._admin(api_base, **options)
        try:
            return await fetch_json(
                endpoint, method, path, Timeout.of(timeout, wait), body, action=action, model=model
            )
        except ModelNotFoundError as error:
            missing = error
        from .._catalog import available

        missing.available = await available(endpoint, cls._kind()) or []  # type: ignore[attr-defined]
        raise missing

    @classmethod
    async def list_models(
        cls,
        api_base: Base = None,
        *,
        api_key: str | None = None,
        timeout: float | Timeout | None = None,
        headers: Mapping[str, str] | None = None,
        proxy: str | bool | None = None,
        verify: bool | str = True,
    ) -> list[ModelInfo]:
        """Installed models with their details (``GET /api/tags``), in the server's order.

        A server without ``/api/tags`` (llama.cpp, vLLM) is asked ``GET /v1/models``:
        its models come back with their names only.
        """
        from .._catalog import model_records

        endpoint = cls._admin(api_base, api_key, headers, proxy, verify)
        return await model_records(endpoint, cls._kind(), Timeout.of(timeout, DEFAULT_TIMEOUT))  # type: ignore[attr-defined]

    @classmethod
    async def show(cls, model: str, api_base: Base = None, **options: Any) -> ShowResult:
        """Details, parameters, context length and capabilities of one model."""
        from .._requests import wrong_shape

        name = _model(model)
        data = await cls._call(
            Action.SHOW, "POST", "/api/show", {"model": name}, api_base, _options(options),
            model=name,
        )  # fmt: skip
        if not isinstance(data, dict):
            endpoint = cls._admin(api_base, **_connection(options))
            raise wrong_shape(endpoint, "/api/show", Action.SHOW, "a model's details", data)
        return ShowResult.parse(name, data)

    @classmethod
    async def ps(cls, api_base: Base = None, **options: Any) -> list[RunningModel]:
        """Models loaded in memory, with their size and when they unload."""
        data = await cls._call(Action.LIST, "GET", "/api/ps", None, api_base, _options(options))
        if not isinstance(data, dict) or "models" not in data:
            from .._requests import wrong_shape

            endpoint = cls._admin(api_base, **_connection(options))
            raise wrong_shape(endpoint, "/api/ps", Action.LIST, "a model list", data)
        return [RunningModel.parse(m) for m in data["models"] or [] if isinstance(m, dict)]

    @classmethod
    async def version(cls, api_base: Base = None, **options: Any) -> str:
        """The server's version (``GET /api/version``)."""
        data = await cls._call(
            Action.OTHER, "GET", "/api/version", None, api_base, _options(options)
        )
        if not isinstance(data, dict) or not isinstance(data.get("version"), str):
            from .._requests import wrong_shape

            endpoint = cls._admin(api_base, **_connection(options))
            raise wrong_shape(endpoint, "/api/version", Action.OTHER, "a version", data)
        return str(data["version"])

    @classmethod
    async def load(
        cls,
        model: str,
        api_base: Base = None,
        *,
        keep_alive: str | float | None = None,
        **options: Any,
    ) -> None:
        """Load a model into memory now (and keep it for ``keep_alive``)."""
        name = _model(model)
        body: dict[str, Any] = {"model": name, "stream": False}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        action = Action.UNLOAD if keep_alive == 0 else Action.LOAD
        await cls._call(
            action, "POST", "/api/generate", body, api_base, _options(options), model=name,
            wait=CHAT_TIMEOUT,
        )  # fmt: skip

    @classmethod
    async def unload(cls, model: str, api_base: Base = None, **options: Any) -> None:
        """Unload a model from memory now (``keep_alive`` 0)."""
        await cls.load(model, api_base, keep_alive=0, **options)

    @classmethod
    async def delete(cls, model: str, api_base: Base = None, **options: Any) -> None:
        """Remove an installed model from the server's disk."""
        name = _model(model)
        await cls._call(
            Action.DELETE, "DELETE", "/api/delete", {"model": name}, api_base, _options(options),
            model=name,
        )  # fmt: skip

    @classmethod
    async def copy(
        cls, source: str, destination: str, api_base: Base = None, **options: Any
    ) -> None:
        """Make ``destination`` another name of the installed model ``source``."""
        body = {"source": _model(source), "destination": _model(destination)}
        await cls._call(
            Action.COPY, "POST", "/api/copy", body, api_base, _options(options), model=source
        )

    # -- sync forms: the same calls, run on the sync portal ---------------------------

    @classmethod
    def list_models_sync(cls, api_base: Base = None, **options: Any) -> list[ModelInfo]:
        return _run(cls.list_models(api_base, **options))

    @classmethod
    def show_sync(cls, model: str, api_base: Base = None, **options: Any) -> ShowResult:
        return _run(cls.show(model, api_base, **options))

    @classmethod
    def ps_sync(cls, api_base: Base = None, **options: Any) -> list[RunningModel]:
        return _run(cls.ps(api_base, **options))

    @classmethod
    def version_sync(cls, api_base: Base = None, **options: Any) -> str:
        return _run(cls.version(api_base, **options))

    @classmethod
    def load_sync(cls, model: str, api_base: Base = None, **options: Any) -> None:
        _run(cls.load(model, api_base, **options))

    @classmethod
    def unload_sync(cls, model: str, api_base: Base = None, **options: Any) -> None:
        _run(cls.unload(model, api_base, **options))

    @classmethod
    def delete_sync(cls, model: str, api_base: Base = None, **options: Any) -> None:
        _run(cls.delete(model, api_base, **options))

    @classmethod
    def copy_sync(
        cls, source: str, destination: str, api_base: Base = None, **options: Any
    ) -> None:
        _run(cls.copy(source, destination, api_base, **options))


_CONNECTION = ("api_key", "headers", "proxy", "verify")


def _options(options: dict[str, Any]) -> dict[str, Any]:
    """The keyword options of a management call, checked: connection settings and timeout."""
    unknown = sorted(set(options) - {*_CONNECTION, "timeout"})
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        raise TypeError(
            f"unexpected keyword argument(s) {names}; accepted: {', '.join(_CONNECTION)}, timeout"
        )
    return {"api_key": None, "headers": None, "proxy": None, "verify": True, **options}


def _connection(options: dict[str, Any]) -> dict[str, Any]:
    checked = _options(options)
    checked.pop("timeout", None)
    return checked


def _run(coro: Coroutine[Any, Any, T]) -> T:
    from .._sync import run

    return run(coro)


def _model(model: object) -> str:
    name = check_model_name(model)
    if not name:
        raise ValueError("a model name is required, e.g. 'llama3.2'")
    return name
