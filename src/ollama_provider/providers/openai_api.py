"""A provider for any OpenAI-compatible server: Ollama's /v1, llama.cpp, vLLM, LM Studio, OpenAI.

A provider is a plain class with attributes and class methods; nothing is
instantiated. ``create_async_generator`` checks its arguments at once and
returns the stream (an async generator) without awaiting anything.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import ModelNotFoundError, ProviderError
from .._hosts import ServerAddress, parse_base_url
from .._params import (
    BODY_PARAMS,
    CONNECTION_PARAMS,
    check_headers,
    check_model_name,
    openai_body,
    reject_unknown,
    response_format_of,
)
from .._settings import CHAT_TIMEOUT, DEFAULT_TIMEOUT, Timeout, is_loopback, proxy_for
from .._types import AsyncResult, Messages, StreamItem

if TYPE_CHECKING:
    from .._cache import SingleFlightCache
    from .._exchange import ChatCall, Endpoint

__all__ = ["OpenaiAPI"]

# The network stack (aiohttp, orjson, asyncio) is imported on first use, not
# with the package: ``import ollama_provider`` stays light.
_model_cache: SingleFlightCache[list[str]] | None = None


def model_cache() -> SingleFlightCache[list[str]]:
    global _model_cache  # noqa: PLW0603 - made on first use
    if _model_cache is None:
        from .._cache import SingleFlightCache

        _model_cache = SingleFlightCache()
    return _model_cache


class OpenaiAPI:
    """Chat completions and model lists from an OpenAI-compatible ``api_base``."""

    label: ClassVar[str] = "OpenAI API"
    url: ClassVar[str | None] = "https://platform.openai.com"
    login_url: ClassVar[str | None] = "https://platform.openai.com/api-keys"
    api_base: ClassVar[str] = "https://api.openai.com/v1"
    needs_auth: ClassVar[bool] = True
    working: ClassVar[bool] = True
    supports_stream: ClassVar[bool] = True
    models: ClassVar[list[str]] = []
    default_model: ClassVar[str] = ""

    # -- where and how to connect -------------------------------------------------

    @classmethod
    def _address(cls, api_base: str | None) -> ServerAddress:
        return _parse_base_url(api_base or cls.api_base)

    @classmethod
    def _advice(cls) -> str:
        return "Check api_base and that the server is running."

    @classmethod
    def _endpoint(
        cls, address: ServerAddress, api_key: str | None, connection: Mapping[str, Any]
    ) -> Endpoint:
        """The endpoint for these settings; made once per distinct settings and reused."""
        headers = connection.get("headers")
        try:
            key = (
                cls,
                address,
                api_key,
                tuple(headers.items()) if headers else None,
                connection.get("proxy"),
                connection.get("verify", True),
                connection.get("transport"),
                None if _is_loopback_root(address.root) else _proxy_environment(),
            )
            cached = _endpoints.get(key)
        except (TypeError, AttributeError):  # unhashable settings: build it every time
            key, cached = None, None
        if cached is not None:
            return cached
        endpoint = cls._new_endpoint(address, api_key, connection)
        if key is not None:
            if len(_endpoints) >= 256:
                _endpoints.clear()
            _endpoints[key] = endpoint
        return endpoint

    @classmethod
    def _new_endpoint(
        cls, address: ServerAddress, api_key: str | None, connection: Mapping[str, Any]
    ) -> Endpoint:
        if api_key is not None and not isinstance(api_key, str):
            raise TypeError("api_key must be a string")
        if api_key is not None and any(c in api_key for c in "\r\n\0"):
            raise ValueError("api_key contains a line break or NUL: it cannot be sent as a header")
        scheme, _, rest = address.root.partition("://")
        host = rest.split("/", 1)[0].rsplit(":", 1)[0]
        proxy = proxy_for(scheme, host, connection.get("proxy"))
        auth = (address.username or "", address.password or "") if address.has_credentials else None
        from .._exchange import Endpoint
        from .._redact import Redactor

        where = address.source if address.source != "default" else "the default address"
        if address.source in ("OLLAMA_HOST", "OLLAMA_PORT"):
            where = f"from {address.source}"
        return Endpoint(
            base=address.root,
            redact=Redactor.for_credentials(
                api_key, address.username, address.password, _proxy_secrets(proxy)
            ),
            api_key=api_key,
            auth=auth,
            headers=check_headers(connection.get("headers")),
            proxy=proxy,
            verify=connection.get("verify", True),
            transport=connection.get("transport") or _default_transport(),
            where=where,
            advice=cls._advice(),
        )

    # -- models ---------------------------------------------------------------------

    @classmethod
    def get_models(
        cls,
        api_base: str | None = None,
        *,
        api_key: str | None = None,
        refresh: bool = False,
        timeout: float | Timeout | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """The server's model ids (``GET {api_base}/models``), cached per server."""
        from .._sync import run

        return run(
            cls.get_models_async(
                api_base, api_key=api_key, refresh=refresh, timeout=timeout, **kwargs
            )
        )

    @classmethod
    async def get_models_async(
        cls,
        api_base: str | None = None,
        *,
        api_key: str | None = None,
        refresh: bool = False,
        timeout: float | Timeout | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """As :meth:`get_models`, for async code."""
        reject_unknown(kwargs, CONNECTION_PARAMS - {"extra_body", "max_line_size"}, "get_models()")
        address = cls._address(api_base)
        endpoint = cls._endpoint(address, api_key, kwargs)
        wait = Timeout.of(timeout, DEFAULT_TIMEOUT)
        key = (cls, address.root, address.username, hash(api_key) if api_key else None)
        models = await model_cache().aget(
            key, lambda: cls._fetch_models(endpoint, wait), refresh=refresh
        )
        cls.models = list(models)
        cls.default_model = models[0] if models else ""
        return list(models)

    @classmethod
    async def _fetch_models(cls, endpoint: Endpoint, timeout: Timeout) -> list[str]:
        from .._exchange import fetch_json

        return _model_ids(await fetch_json(endpoint, "GET", "/models", timeout), endpoint.base)

    # -- chat -----------------------------------------------------------------------

    @classmethod
    def create_async_generator(
        cls,
        model: str,
        messages: Messages,
        api_base: str | None = None,
        *,
        api_key: str | None = None,
        stream: bool = True,
        timeout: float | Timeout | None = None,
        **params: Any,
    ) -> AsyncResult:
        """Stream a chat completion: ``str`` text, then typed events. No ``await`` needed.

        Arguments are checked here, at once; the request starts at the first iteration.
        """
        from .._exchange import chat_items

        call = cls._chat_call(model, messages, api_base, api_key, stream, timeout, params)
        return chat_items(call)

    @classmethod
    def create_completion(
        cls, model: str, messages: Messages, **kwargs: Any
    ) -> Iterator[StreamItem]:
        """The same items as :meth:`create_async_generator`, as a plain iterator."""
        from .._sync import iterate

        return iterate(cls.create_async_generator(model, messages, **kwargs))

    _chat_params: ClassVar[frozenset[str]] = BODY_PARAMS | CONNECTION_PARAMS

    @classmethod
    def _chat_call(
        cls,
        model: str,
        messages: Messages,
        api_base: str | None,
        api_key: str | None,
        stream: bool,
        timeout: float | Timeout | None,
        params: dict[str, Any],
    ) -> ChatCall:
        from .._exchange import ChatCall
        from .._messages import check_messages

        reject_unknown(params, cls._chat_params, "create_async_generator()")
        model = check_model_name(model or "")
        checked = check_messages(messages)
        connection = {k: params.pop(k) for k in CONNECTION_PARAMS & params.keys()}
        if params.get("tools") is not None:
            from .._tools import tool_schemas

            params["tools"] = tool_schemas(params["tools"])
        if params.get("response_format") is not None:
            params["response_format"] = response_format_of(params["response_format"])
        address = cls._address(api_base)
        endpoint = cls._endpoint(address, api_key, connection)
        path, body, native = cls._route(model, checked, bool(stream), params, _extra(connection))
        return ChatCall(
            endpoint,
            path,
            body,
            Timeout.of(timeout, CHAT_TIMEOUT),
            native=native,
            stream=bool(stream),
            max_line=_max_line(connection),
            default_model=None if model else cls._default_model_for(api_base, api_key, connection),
            available=cls._available_for(api_base, api_key, connection),
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
        """(path, body, native?) for a chat request."""
        from .._messages import openai_messages

        return (
            "/chat/completions",
            openai_body(model, openai_messages(messages), stream, params, extra_body),
            False,
        )

    @classmethod
    def _available_for(
        cls, api_base: str | None, api_key: str | None, connection: Mapping[str, Any]
    ) -> Any:
        """Best-effort list of installed models, for a ModelNotFoundError."""

        async def available() -> list[str]:
            return await cls.get_models_async(
                api_base,
                api_key=api_key,
                refresh=True,
                timeout=5.0,
                **_connection_only(connection),
            )

        return available

    @classmethod
    def _default_model_for(
        cls, api_base: str | None, api_key: str | None, connection: Mapping[str, Any]
    ) -> Any:
        async def first_model() -> str:
            models = await cls.get_models_async(
                api_base, api_key=api_key, **_connection_only(connection)
            )
            if not models:
                root = cls._address(api_base).root
                raise ModelNotFoundError(
                    f"no model given and the server at {root} has none installed: pull one "
                    "first (for Ollama: ollama pull llama3.2), or name a model",
                    url=root,
                    model="",
                    available=[],
                    status=None,
                )
            return models[0]

        return first_model


def _model_ids(data: Any, where: str) -> list[str]:
    """``data[].id`` of an OpenAI model list; ``"data": null`` means none."""
    if not isinstance(data, dict) or "data" not in data:
        raise ProviderError(f"{where} did not answer with a model list", url=where)
    items = data["data"] or []
    return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]


_endpoints: dict[Any, Endpoint] = {}
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def _proxy_environment() -> tuple[str | None, ...]:
    """The proxy variables now: a cached endpoint is valid only while they are unchanged."""
    get = os.environ.get
    return tuple(get(n) or get(n.lower()) for n in _PROXY_VARIABLES)


@functools.lru_cache(maxsize=64)
def _is_loopback_root(root: str) -> bool:
    """Loopback servers never use an environment proxy, so its variables do not matter."""
    host = root.partition("://")[2].split("/", 1)[0].rsplit(":", 1)[0]
    return is_loopback(host)


@functools.lru_cache(maxsize=64)
def _parse_base_url(value: str) -> ServerAddress:
    return parse_base_url(value)


def _connection_only(connection: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in connection.items() if k in ("headers", "proxy", "verify", "transport")}


def _extra(connection: Mapping[str, Any]) -> Mapping[str, Any] | None:
    extra = connection.get("extra_body")
    if extra is not None and not isinstance(extra, Mapping):
        raise TypeError("extra_body must be a dict of fields to merge into the request body")
    return extra


def _max_line(connection: Mapping[str, Any]) -> int:
    from .._decode import DEFAULT_MAX_LINE

    value = connection.get("max_line_size", DEFAULT_MAX_LINE)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1024:
        raise ValueError("max_line_size must be an int of at least 1024 bytes")
    return value


def _proxy_secrets(proxy: str | None) -> list[str]:
    if not proxy or "@" not in proxy:
        return []
    userinfo = proxy.split("://", 1)[-1].rsplit("@", 1)[0]
    return [userinfo.partition(":")[2]] if ":" in userinfo else [userinfo]


def _default_transport() -> Any:
    from .._transport import default_transport

    return default_transport()
