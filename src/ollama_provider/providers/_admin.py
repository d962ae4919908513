"""Model management on the Ollama provider: list, show, ps, version, load, unload, delete, copy.

Each operation is async (``await Ollama.show(...)``, ``async for p in Ollama.pull(...)``)
and has a sync form with a ``_sync`` suffix, written on top of it. Results are
typed (``_model_records``), never raw dicts; a 404 about the model raises
``ModelNotFoundError``. Pull, push and create are in ``_transfer``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import Action, ModelNotFoundError, ProviderError
from .._model_records import ModelInfo, RunningModel, ServerVersion, ShowResult
from .._params import required_model
from .._timeout import CHAT_TIMEOUT, DEFAULT_TIMEOUT, Timeout

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._endpoint import Endpoint
    from .._types import RequestOptions
    from .openai_api import Base

__all__ = ["ModelAdmin"]

T = TypeVar("T")


class ModelAdmin:
    """Mixed into ``Ollama``; relies on its ``_prepare`` and ``_kind``.

    Every method takes ``api_base`` (as the chat methods do) and the options
    ``api_key``, ``timeout``, ``headers``, ``proxy``, ``verify``.
    """

    @classmethod
    async def _fetch(
        cls,
        endpoint: Endpoint,
        action: Action,
        method: str,
        path: str,
        body: object,
        timeout: float | Timeout | None,
        *,
        model: str | None = None,
        wait: Timeout = DEFAULT_TIMEOUT,
    ) -> Any:
        """One request to one server; a missing model's error lists the installed ones."""
        from .._requests import fetch_json

        try:
            return await fetch_json(
                endpoint, method, path, Timeout.of(timeout, wait), body, action=action, model=model
            )
        except ModelNotFoundError as error:
            missing = error
        from .._catalog import with_installed

        raise await with_installed(missing, endpoint, cls._kind())  # type: ignore[attr-defined]

    @classmethod
    async def _call(
        cls,
        action: Action,
        method: str,
        path: str,
        body: object,
        api_base: Base,
        options: Mapping[str, Any],
        where: str,
        *,
        model: str | None = None,
        wait: Timeout = DEFAULT_TIMEOUT,
    ) -> list[tuple[Endpoint, Any]]:
        """The request on every server given (one, or each of several), with its answer."""
        endpoints, timeout = cls._prepare(api_base, options, where)  # type: ignore[attr-defined]

        async def one(endpoint: Endpoint) -> Any:
            return await cls._fetch(
                endpoint, action, method, path, body, timeout, model=model, wait=wait
            )

        return await on_each(endpoints, action, one)

    @classmethod
    async def list_models(
        cls, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> list[ModelInfo]:
        """Installed models with their details (``GET /api/tags``), in the server's order.

        A server without ``/api/tags`` (llama.cpp, vLLM) is asked ``GET /v1/models``:
        its models come back with their names only.
        """
        from .._catalog import model_records

        endpoints, timeout = cls._prepare(api_base, options, "list_models()")  # type: ignore[attr-defined]
        wait = Timeout.of(timeout, DEFAULT_TIMEOUT)

        async def one(endpoint: Endpoint) -> list[ModelInfo]:
            records = await model_records(endpoint, cls._kind(), wait)  # type: ignore[attr-defined]
            return [replace(r, server=endpoint.base) for r in records]

        found = await on_each(endpoints, Action.LIST, one)
        return [record for _, records in found for record in records]

    @classmethod
    async def show(
        cls, model: str, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> ShowResult:
        """Details, parameters, context length and capabilities of one model (several
        servers: from one that has it, chosen as a chat's server is)."""
        from .._pool import candidates
        from .._requests import wrong_shape

        name = required_model(model)
        endpoints, timeout = cls._prepare(api_base, options, "show()")  # type: ignore[attr-defined]
        _, order = await candidates(endpoints, cls._kind(), name, Action.SHOW)  # type: ignore[attr-defined]
        data = await cls._fetch(
            order[0], Action.SHOW, "POST", "/api/show", {"model": name}, timeout, model=name
        )
        if not isinstance(data, dict):
            raise wrong_shape(order[0], "/api/show", Action.SHOW, "a model's details", data)
        return ShowResult.parse(name, data)

    @classmethod
    async def ps(
        cls, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> list[RunningModel]:
        """Models loaded in memory, with their size and when they unload (several
        servers: each record's ``server`` says where)."""
        from .._requests import wrong_shape

        running: list[RunningModel] = []
        answers = await cls._call(Action.LIST, "GET", "/api/ps", None, api_base, options, "ps()")
        for endpoint, data in answers:
            if not isinstance(data, dict) or "models" not in data:
                raise wrong_shape(endpoint, "/api/ps", Action.LIST, "a model list", data)
            running += [
                replace(RunningModel.parse(m), server=endpoint.base)
                for m in data["models"] or []
                if isinstance(m, dict)
            ]
        return running

    @classmethod
    async def versions(
        cls, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> list[ServerVersion]:
        """Each server's version (``GET /api/version``)."""
        from .._requests import wrong_shape

        found = []
        answers = await cls._call(
            Action.OTHER, "GET", "/api/version", None, api_base, options, "versions()"
        )
        for endpoint, data in answers:
            if not isinstance(data, dict) or not isinstance(data.get("version"), str):
                raise wrong_shape(endpoint, "/api/version", Action.OTHER, "a version", data)
            found.append(ServerVersion(endpoint.base, str(data["version"])))
        return found

    @classmethod
    async def version(cls, api_base: Base = None, **options: Unpack[RequestOptions]) -> str:
        """The server's version (``GET /api/version``; several servers: :meth:`versions`)."""
        if len(cls.server_addresses(api_base)) > 1:  # type: ignore[attr-defined]
            raise ValueError("several servers are given: use versions(), one per server")
        return (await cls.versions(api_base, **options))[0].version

    @classmethod
    async def load(
        cls,
        model: str,
        api_base: Base = None,
        *,
        keep_alive: str | float | None = None,
        **options: Unpack[RequestOptions],
    ) -> None:
        """Load a model into memory now (and keep it for ``keep_alive``)."""
        name = required_model(model)
        body: dict[str, Any] = {"model": name, "stream": False}
        if keep_alive is not None:
            body["keep_alive"] = keep_alive
        action = Action.UNLOAD if keep_alive == 0 else Action.LOAD
        await cls._call(
            action, "POST", "/api/generate", body, api_base, options, "load()",
            model=name, wait=CHAT_TIMEOUT,
        )  # fmt: skip

    @classmethod
    async def unload(
        cls, model: str, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> None:
        """Unload a model from memory now (``keep_alive`` 0)."""
        await cls.load(model, api_base, keep_alive=0, **options)

    @classmethod
    async def delete(
        cls, model: str, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> None:
        """Remove an installed model from the server's disk."""
        name = required_model(model)
        body = {"model": name}
        await cls._call(
            Action.DELETE, "DELETE", "/api/delete", body, api_base, options, "delete()", model=name
        )

    @classmethod
    async def copy(
        cls, source: str, destination: str, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> None:
        """Make ``destination`` another name of the installed model ``source``."""
        body = {"source": required_model(source), "destination": required_model(destination)}
        await cls._call(
            Action.COPY,
            "POST",
            "/api/copy",
            body,
            api_base,
            options,
            "copy()",
            model=source,
        )

    # -- sync forms: the same calls, run on the sync portal ---------------------------

    @classmethod
    def list_models_sync(
        cls, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> list[ModelInfo]:
        return _run(cls.list_models(api_base, **options))

    @classmethod
    def show_sync(
        cls, model: str, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> ShowResult:
        return _run(cls.show(model, api_base, **options))

    @classmethod
    def ps_sync(
        cls, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> list[RunningModel]:
        return _run(cls.ps(api_base, **options))

    @classmethod
    def version_sync(cls, api_base: Base = None, **options: Unpack[RequestOptions]) -> str:
        return _run(cls.version(api_base, **options))

    @classmethod
    def versions_sync(
        cls, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> list[ServerVersion]:
        return _run(cls.versions(api_base, **options))

    @classmethod
    def load_sync(
        cls,
        model: str,
        api_base: Base = None,
        *,
        keep_alive: str | float | None = None,
        **options: Unpack[RequestOptions],
    ) -> None:
        _run(cls.load(model, api_base, keep_alive=keep_alive, **options))

    @classmethod
    def unload_sync(
        cls, model: str, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> None:
        _run(cls.unload(model, api_base, **options))

    @classmethod
    def delete_sync(
        cls, model: str, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> None:
        _run(cls.delete(model, api_base, **options))

    @classmethod
    def copy_sync(
        cls, source: str, destination: str, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> None:
        _run(cls.copy(source, destination, api_base, **options))


async def on_each(
    endpoints: tuple[Endpoint, ...], action: Action, work: Callable[[Endpoint], Awaitable[T]]
) -> list[tuple[Endpoint, T]]:
    """``work`` on every server (concurrently); any failure raises, naming each server's.

    One server: its result, or its error as it is.
    """
    if len(endpoints) == 1:
        return [(endpoints[0], await work(endpoints[0]))]
    import asyncio

    results = await asyncio.gather(*(work(e) for e in endpoints), return_exceptions=True)
    errors = {
        e.base: r for e, r in zip(endpoints, results, strict=True) if isinstance(r, BaseException)
    }
    if not errors:
        return list(zip(endpoints, results, strict=True))  # type: ignore[arg-type]
    from .._pool import some_failed

    failures: dict[str, ProviderError] = {}
    for base, error in errors.items():
        if not isinstance(error, ProviderError):
            raise error
        failures[base] = error
    raise some_failed(failures, endpoints, action)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    from .._sync import run

    return run(coro)
