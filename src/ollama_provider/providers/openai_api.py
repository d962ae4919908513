"""A provider for any OpenAI-compatible server: Ollama's /v1, llama.cpp, vLLM, LM Studio, OpenAI.

A provider is a plain class with attributes and class methods; nothing is
instantiated. Each call resolves its server once (an ``api_base`` string, or a
:class:`ServerAddress` resolved earlier) and hands what it resolved down;
``create_async_generator`` checks its arguments at once and returns the
stream (an async generator) without awaiting anything.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .._address import ServerAddress, parse_base_url
from .._errors import ProviderError
from .._params import (
    BODY_PARAMS,
    CONNECTION_PARAMS,
    check_model_name,
    encode_body,
    openai_body,
    reject_unknown,
    request_options,
    response_format_of,
)
from .._proxies import ProxyChoice, choose_proxy
from .._timeout import CHAT_TIMEOUT, DEFAULT_TIMEOUT, Timeout
from .._types import AsyncResult, ChatParams, Messages, RequestOptions, StreamItem
from ._inference import InferenceMixin

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._catalog import ServerKind
    from .._endpoint import Endpoint
    from .._streaming import ChatCall

__all__ = ["ConnectionInfo", "OpenaiAPI"]

#: ``api_base`` as callers pass it: a URL, an address resolved by ``server_address``, or a
#: list of either (several servers: calls are routed between them, see ``_pool``).
Base = str | ServerAddress | Sequence[str | ServerAddress] | None


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """How a request to a server would be made, computed as a real request does it:
    the address (with how it was derived) and the proxy chosen (with the variable that
    set it). For ``doctor``-like diagnostics."""

    address: ServerAddress
    proxy: ProxyChoice | None


class OpenaiAPI(InferenceMixin):
    """Chat completions, model lists, embeddings and completions from an OpenAI-compatible
    ``api_base``."""

    label: ClassVar[str] = "OpenAI API"
    url: ClassVar[str | None] = "https://platform.openai.com"
    login_url: ClassVar[str | None] = "https://platform.openai.com/api-keys"
    api_base: ClassVar[str] = "https://api.openai.com/v1"
    needs_auth: ClassVar[bool] = True
    working: ClassVar[bool] = True
    supports_stream: ClassVar[bool] = True
    models: ClassVar[list[str]] = []
    default_model: ClassVar[str] = ""

    _chat_params: ClassVar[frozenset[str]] = BODY_PARAMS | CONNECTION_PARAMS
    _chat_path: ClassVar[str] = "/chat/completions"

    # What gpt4free reads on a provider class besides the above (see _g4f).
    live: ClassVar[int] = 0  # g4f counts successes and failures here
    use_stream_timeout: ClassVar[bool] = True  # g4f's stream_timeout is between chunks
    supports_native_tools: ClassVar[bool] = True  # tools go to the server, not into the prompt
    model_aliases: ClassVar[dict[str, str]] = {}

    @classmethod
    def get_dict(cls) -> dict[str, str | None]:
        """How g4f names a provider in its answers: class name, home page, label."""
        return {"name": cls.__name__, "url": cls.url, "label": cls.label}

    @classmethod
    def get_parent(cls) -> str:
        """The name g4f files API keys and ignore lists under."""
        return cls.__name__

    # -- where and how to connect -------------------------------------------------

    @classmethod
    def _kind(cls) -> ServerKind:
        from .._catalog import ServerKind

        return ServerKind.OPENAI

    @classmethod
    def _resolve(cls, api_base: str | None, setting: str) -> tuple[ServerAddress, ...]:
        return (_parse_base_url(api_base or cls.api_base, setting),)

    @classmethod
    def server_addresses(
        cls, api_base: Base = None, *, setting: str = "api_base"
    ) -> tuple[ServerAddress, ...]:
        """Every server calls would go to now (several for a list, or for a comma-separated
        ``OLLAMA_HOST``), in order, without repeats. ``setting`` is how the caller spells
        ``api_base`` in messages (a command line says ``--host``)."""
        if isinstance(api_base, ServerAddress):
            return (api_base,)
        if api_base is None or isinstance(api_base, str):
            return cls._resolve(api_base, setting)
        if not isinstance(api_base, Sequence) or not api_base:
            raise ValueError("api_base must be a URL, or a non-empty list of URLs")
        found: dict[str, ServerAddress] = {}
        for item in api_base:
            if not isinstance(item, (str, ServerAddress)):
                raise TypeError(f"api_base entries must be URLs, not {type(item).__name__}")
            for address in cls.server_addresses(item, setting=setting):
                found.setdefault(address.root, address)
        return tuple(found.values())

    @classmethod
    def server_address(cls, api_base: Base = None, *, setting: str = "api_base") -> ServerAddress:
        """Where calls would go now, and how that was derived (one server; see
        :meth:`server_addresses` for several). The result may be passed as ``api_base``."""
        addresses = cls.server_addresses(api_base, setting=setting)
        if len(addresses) > 1:
            roots = ", ".join(a.root for a in addresses)
            raise ValueError(
                f"{len(addresses)} servers are given ({roots}): use server_addresses()"
            )
        return addresses[0]

    @classmethod
    def connection_info(
        cls, api_base: Base = None, *, proxy: str | bool | None = None
    ) -> ConnectionInfo:
        """The address and the proxy a request would use now (the same rules as a request)."""
        address = cls.server_address(api_base)
        return ConnectionInfo(address, choose_proxy(address, proxy, os.environ))

    @classmethod
    def connections_info(
        cls, api_base: Base = None, *, proxy: str | bool | None = None
    ) -> list[ConnectionInfo]:
        """:meth:`connection_info` for each of several servers."""
        addresses = cls.server_addresses(api_base)
        return [ConnectionInfo(a, choose_proxy(a, proxy, os.environ)) for a in addresses]

    @classmethod
    def _endpoint(
        cls, api_base: Base, api_key: str | None, connection: Mapping[str, Any]
    ) -> Endpoint:
        """The one server a call goes to (several: the first; see :meth:`_endpoints`)."""
        return cls._endpoints(api_base, api_key, connection)[0]

    @classmethod
    def _endpoints(
        cls, api_base: Base, api_key: str | None, connection: Mapping[str, Any]
    ) -> tuple[Endpoint, ...]:
        from .._endpoint import endpoint_for

        kind = cls._kind()
        return tuple(
            endpoint_for(address, cls.label, kind, api_key, connection)
            for address in cls.server_addresses(api_base)
        )

    @classmethod
    def _prepare(
        cls,
        api_base: Base,
        options: Mapping[str, Any],
        where: str,
        key: Callable[[str | None], str | None] | None = None,
    ) -> tuple[tuple[Endpoint, ...], float | Timeout | None]:
        """(the servers, the timeout as given) of a call's ``**options`` (see
        ``RequestOptions``), checked: an unknown keyword is a TypeError naming ``where``.
        ``key`` may turn the ``api_key`` given into the one to use (or refuse the call)."""
        api_key, timeout, connection = request_options(options, where)
        if key is not None:
            api_key = key(api_key)
        return cls._endpoints(api_base, api_key, connection), timeout

    # -- models ---------------------------------------------------------------------

    @classmethod
    def get_models(
        cls,
        api_base: Base = None,
        *,
        refresh: bool = False,
        **options: Unpack[RequestOptions],
    ) -> list[str]:
        """The server's model names, in its order; cached per server (``refresh=True`` asks again).

        Sets ``models`` and ``default_model`` (the first, or "" when there is none).
        """
        from .._sync import run

        return run(cls.get_models_async(api_base, refresh=refresh, **options))

    @classmethod
    async def get_models_async(
        cls,
        api_base: Base = None,
        *,
        refresh: bool = False,
        **options: Unpack[RequestOptions],
    ) -> list[str]:
        """As :meth:`get_models`, for async code."""
        from .._catalog import model_names

        endpoints, timeout = cls._prepare(api_base, options, "get_models()")
        wait = Timeout.of(timeout, DEFAULT_TIMEOUT)
        if len(endpoints) == 1:
            models = await model_names(endpoints[0], cls._kind(), wait, refresh=refresh)
        else:  # several servers: the union of those that answer, in order, each name once
            from .._errors import Action
            from .._pool import all_failed, model_lists

            lists = await model_lists(endpoints, cls._kind(), refresh, wait, skip_cooling=False)
            answered = [names for names in lists if isinstance(names, list)]
            if not answered:
                errors = [e for e in lists if isinstance(e, ProviderError)]
                raise all_failed(errors, endpoints, Action.LIST)
            models = list(dict.fromkeys(name for names in answered for name in names))
        cls.models = list(models)
        cls.default_model = models[0] if models else ""
        return models

    @classmethod
    async def first_model(cls, api_base: Base = None, **options: Unpack[RequestOptions]) -> str:
        """The model a call without one uses: the server's first. None installed raises
        :class:`ModelNotFoundError` (``status`` None) saying how to get one."""
        from .._errors import Action
        from .._pool import choose

        endpoints, timeout = cls._prepare(api_base, options, "first_model()")
        wait = Timeout.of(timeout, DEFAULT_TIMEOUT)
        model, _ = await choose(endpoints, cls._kind(), "", wait, Action.CHAT)
        return model

    @classmethod
    async def find_model(
        cls, name: str, api_base: Base = None, **options: Unpack[RequestOptions]
    ) -> str | None:
        """The installed model ``name`` names, as the server spells it (``llama3.2`` finds
        ``llama3.2:latest``), or None. Uses the cached model lists, as :meth:`first_model`;
        with several servers, the first that has it (an error only when none answered)."""
        from .._catalog import installed_name, model_names
        from .._errors import ProviderError

        endpoints, timeout = cls._prepare(api_base, options, "find_model()")
        wait = Timeout.of(timeout, DEFAULT_TIMEOUT)
        failure: ProviderError | None = None
        answered = False
        for endpoint in endpoints:
            try:
                names = await model_names(endpoint, cls._kind(), wait)
            except ProviderError as error:
                failure = error
                continue
            answered = True
            found = installed_name(names, name)
            if found is not None:
                return found
        if failure is not None and not answered:
            raise failure
        return None

    # -- chat -----------------------------------------------------------------------

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
        **params: Unpack[ChatParams],
    ) -> AsyncResult:
        """Stream a chat completion: ``str`` text, then typed events. No ``await`` needed.

        ``model`` "" means the server's first. ``messages`` are dicts (or message
        objects with ``model_dump()``). ``api_base``: a URL, or a list of them (see
        :meth:`server_addresses`). ``api_key``: sent as a bearer token. ``stream``
        False asks for one answer, yielded as the same items. ``timeout``: seconds,
        or a :class:`Timeout` per phase. ``params``: see :class:`ChatParams`.
        Arguments are checked here, at once; the request starts at the first iteration.
        """
        from .._g4f import called_by_g4f, chat_for_g4f
        from .._streaming import chat_items

        where = "create_async_generator()"
        if called_by_g4f():  # its keywords and chunk classes are not a direct caller's
            return chat_for_g4f(
                cls, model, messages, api_base, api_key, stream, timeout, _dict(params), where
            )
        call = cls._chat_call(
            model, messages, api_base, api_key, stream, timeout, _dict(params), where
        )
        return chat_items(call)

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
        **kwargs: Unpack[ChatParams],
    ) -> Iterator[StreamItem]:
        """The same items as :meth:`create_async_generator`, as a plain iterator (it also
        works inside a running event loop, on the library's own)."""
        from .._g4f import called_by_g4f, chat_for_g4f
        from .._streaming import chat_items
        from .._sync import iterate

        where = "create_completion()"
        if called_by_g4f():  # g4f's sync path
            return iterate(
                chat_for_g4f(
                    cls, model, messages, api_base, api_key, stream, timeout, _dict(kwargs), where
                )
            )
        call = cls._chat_call(
            model, messages, api_base, api_key, stream, timeout, _dict(kwargs), where
        )
        return iterate(chat_items(call))

    # g4f before 7.5 calls these names.
    create_function = create_completion
    async_create_function = create_async_generator

    @classmethod
    def _chat_call(
        cls,
        model: str,
        messages: Messages,
        api_base: Base,
        api_key: str | None,
        stream: bool,
        timeout: float | Timeout | None,
        params: dict[str, Any],
        where: str,
    ) -> ChatCall:
        from .._messages import check_messages
        from .._streaming import ChatCall

        reject_unknown(params, cls._chat_params, where)
        model = check_model_name(model or "")
        checked = check_messages(messages)
        connection = {k: params.pop(k) for k in CONNECTION_PARAMS & params.keys()}
        extra = connection.get("extra_body")
        if extra is not None and not isinstance(extra, Mapping):
            raise TypeError("extra_body must be a dict of fields to merge into the request body")
        if params.get("tools") is not None:
            from .._tools import tool_schemas

            params["tools"] = tool_schemas(params["tools"])
        if params.get("response_format") is not None:
            params["response_format"] = response_format_of(params["response_format"])
        wait = Timeout.of(timeout, CHAT_TIMEOUT)
        endpoints = cls._endpoints(api_base, api_key, connection)
        path, body, native = cls._route(model, checked, bool(stream), params, extra)
        return ChatCall(
            endpoints,
            cls._kind(),
            path,
            body,
            encode_body(body),
            wait,
            native=native,
            stream=bool(stream),
            max_line=_max_line(connection),
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

        body = openai_body(model, openai_messages(messages), stream, params, extra_body)
        return cls._chat_path, body, False


# The host rules are pure: the same inputs need not be parsed twice.
@functools.lru_cache(maxsize=64)
def _parse_base_url(value: str, setting: str) -> ServerAddress:
    return parse_base_url(value, setting=setting)


def _dict(params: Any) -> dict[str, Any]:
    """``**params`` as the plain dict it is at run time (typed as a TypedDict for IDEs)."""
    return params  # type: ignore[no-any-return]


def _max_line(connection: Mapping[str, Any]) -> int:
    from .._decode import DEFAULT_MAX_LINE

    value = connection.get("max_line_size", DEFAULT_MAX_LINE)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1024:
        raise ValueError("max_line_size must be an int of at least 1024 bytes")
    return value
