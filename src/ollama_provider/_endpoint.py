"""A server to talk to, resolved once per call: address, credentials, headers, proxy, TLS.

An :class:`Endpoint` makes :class:`~._transport.HTTPRequest` objects and sends
them, adding to any error the facts the transport cannot know (which setting
named the server, which provider, what the call was doing). Endpoints are
made once per distinct settings and reused: building one (header checks, the
proxy rule, the redactor) costs more than parsing a small answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from ._address import ServerAddress
from ._errors import Action, ProviderError
from ._proxies import PROXY_VARIABLES as _PROXY_VARIABLES
from ._proxies import ProxyChoice, choose_proxy
from ._redact import Redactor
from ._timeout import Timeout
from ._transport import HTTPRequest, HTTPResponse, Transport, default_transport
from ._version import __version__

if TYPE_CHECKING:
    from ._catalog import ServerKind

__all__ = ["Endpoint", "check_headers", "cloud_key", "endpoint_for", "ollama_api_key", "reset"]

_USER_AGENT = f"ollama-provider/{__version__}"
_KEY = os.urandom(32)  # keys cache identities to this process: secrets are never kept plain


@dataclass(slots=True)
class Endpoint:
    """A resolved server with the settings of one call."""

    address: ServerAddress
    server: str  # the provider's label ("Ollama"), for advice
    redact: Redactor = field(repr=False)
    headers: dict[str, str] = field(repr=False)  # may hold Authorization
    proxy: ProxyChoice | None = field(default=None, repr=False)
    verify: Any = True
    transport: Transport = field(default_factory=default_transport, repr=False)
    identity: str = ""  # a keyed digest of everything that decides what the server answers

    @property
    def base(self) -> str:
        return self.address.root

    def request(
        self,
        method: str,
        path: str,
        timeout: Timeout,
        body: bytes | IO[bytes] | None = None,
        *,
        accept: str = "application/json",
        content_type: str = "application/json",
    ) -> HTTPRequest:
        headers = {**self.headers, "Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type
        return HTTPRequest(
            method,
            self.address.root + path,
            headers,
            timeout,
            body,
            proxy=self.proxy.url if self.proxy is not None and self.proxy.usable else None,
            verify=self.verify,
            redact=self.redact,
        )

    def annotate(self, error: ProviderError, action: Action) -> ProviderError:
        """Add what only the caller knows to an error from below."""
        if not error.setting:
            error.setting = self.address.setting
        error.server = error.server or self.server
        if error.action is Action.OTHER:
            error.action = action
        return error

    async def send(self, request: HTTPRequest, action: Action) -> HTTPResponse:
        try:
            return await self.transport.send(request)
        except ProviderError as error:
            self.annotate(error, action)
            raise


def check_headers(headers: object) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a dict of strings, not {type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("headers must map strings to strings")
        if not name or any(c in name for c in "\r\n\0: \t") or any(c in value for c in "\r\n\0"):
            raise ValueError(f"header {name!r} has a character that would break the request")
        checked[name] = value
    return checked


def _identity(*parts: object) -> str:
    return hmac.new(_KEY, repr(parts).encode(), hashlib.sha256).hexdigest()


def _build(
    address: ServerAddress,
    server: str,
    api_key: str | None,
    headers: object,
    proxy: str | bool | None,
    verify: Any,
) -> Endpoint:
    if api_key is not None and not isinstance(api_key, str):
        raise TypeError("api_key must be a string")
    if api_key is not None and any(c in api_key for c in "\r\n\0"):
        raise ValueError("api_key contains a line break or NUL: it cannot be sent as a header")
    extra = check_headers(headers)
    sent = {"User-Agent": _USER_AGENT}
    if api_key:
        sent["Authorization"] = f"Bearer {api_key}"
    elif address.has_credentials:
        pair = f"{address.username}:{address.password or ''}".encode()
        sent["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    sent.update(extra)
    choice = choose_proxy(address, proxy, os.environ)
    redact = Redactor.for_credentials(
        api_key, address.username, address.password, sent, choice.secrets if choice else ()
    )
    identity = _identity(
        address.root, address.username, address.password, sorted(sent.items()),
        choice.url if choice else None, verify if isinstance(verify, (bool, str)) else id(verify),
    )  # fmt: skip
    return Endpoint(address, server, redact, sent, choice, verify, default_transport(), identity)


# Kept: without it a request costs ~22 µs more (of ~260 µs for a short stream on
# loopback, measured with bench.server): the header checks, proxy rule and redactor.
_endpoints: dict[tuple[Any, ...], Endpoint] = {}


def reset() -> None:
    _endpoints.clear()


def ollama_api_key() -> str | None:
    """``OLLAMA_API_KEY``, when it is set."""
    return os.environ.get("OLLAMA_API_KEY", "").strip() or None


def cloud_key(address: ServerAddress, kind: ServerKind) -> str | None:
    """``OLLAMA_API_KEY`` for a request to a remote Ollama (ollama.com, or one behind a
    proxy), when no ``api_key`` was given. Never sent to a loopback server by itself."""
    if address.is_loopback:
        return None
    from ._catalog import ServerKind  # not at import time: _catalog imports this module

    return ollama_api_key() if kind is ServerKind.OLLAMA else None


def endpoint_for(
    address: ServerAddress,
    server: str,
    kind: ServerKind,
    api_key: str | None,
    connection: Mapping[str, Any],
) -> Endpoint:
    """The endpoint for these settings (``headers``, ``proxy``, ``verify`` in ``connection``);
    ``server`` is the provider's label, ``kind`` what it talks to."""
    headers = connection.get("headers")
    proxy, verify = connection.get("proxy"), connection.get("verify", True)
    if api_key is None:
        api_key = cloud_key(address, kind)
    try:
        key: tuple[Any, ...] | None = (
            address, server, api_key, tuple(headers.items()) if headers else None, proxy, verify,
            None if address.is_loopback else tuple(os.environ.get(n) for n in _PROXY_VARIABLES),
        )  # fmt: skip
        cached = _endpoints.get(key)  # type: ignore[arg-type]
    except (TypeError, AttributeError):  # unhashable settings: build it every time
        key, cached = None, None
    if cached is not None:
        return cached
    endpoint = _build(address, server, api_key, headers, proxy, verify)
    if key is not None:
        if len(_endpoints) >= 256:
            _endpoints.clear()
        _endpoints[key] = endpoint
    return endpoint
