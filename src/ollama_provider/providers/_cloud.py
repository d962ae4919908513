"""Ollama's web tools: ``web_search`` and ``web_fetch`` on ollama.com, with an API key.

The key is ``api_key=`` or ``OLLAMA_API_KEY``; without one the call fails at once,
before any request. The host is ``https://ollama.com`` unless ``api_base`` names
another (a proxy, a test server).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._errors import Action
from .._results import WebPage, WebSearchResult
from .._timeout import DEFAULT_TIMEOUT, Timeout

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._endpoint import Endpoint
    from .._types import RequestOptions
    from .openai_api import Base

__all__ = ["CloudMixin"]

CLOUD = "https://ollama.com"


class CloudMixin:
    """Mixed into ``Ollama``; relies on its ``_prepare``."""

    @classmethod
    def _cloud(cls, what: str, api_base: Base, options: Mapping[str, Any]) -> tuple[Endpoint, Any]:
        """(the endpoint, the timeout); without a key, a clear error before any request."""

        from .._endpoint import ollama_api_key

        def key(api_key: str | None) -> str:
            # Sent to api_base even on loopback (a proxy, a test server): these calls are
            # for ollama.com's API, unlike a chat, where _endpoint.cloud_key decides.
            found = api_key or ollama_api_key()
            if not found:
                raise ValueError(
                    f"{what} needs an Ollama API key: pass api_key=... or set OLLAMA_API_KEY "
                    "(create one at https://ollama.com/settings/keys)"
                )
            return found

        endpoints, timeout = cls._prepare(api_base or CLOUD, options, what, key)  # type: ignore[attr-defined]
        return endpoints[0], timeout

    @classmethod
    async def web_search(
        cls,
        query: str,
        *,
        max_results: int = 5,
        api_base: Base = None,
        **options: Unpack[RequestOptions],
    ) -> list[WebSearchResult]:
        """Search the web (``POST /api/web_search``): title, URL and content of each hit."""
        from .._requests import fetch_json, wrong_shape

        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string")
        endpoint, timeout = cls._cloud("web_search()", api_base, options)
        body = {"query": query, "max_results": max_results}
        wait = Timeout.of(timeout, DEFAULT_TIMEOUT)
        data = await fetch_json(endpoint, "POST", "/api/web_search", wait, body)
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise wrong_shape(endpoint, "/api/web_search", Action.OTHER, "search results", data)
        return [WebSearchResult.parse(r) for r in results if isinstance(r, dict)]

    @classmethod
    async def web_fetch(
        cls,
        url: str,
        *,
        api_base: Base = None,
        **options: Unpack[RequestOptions],
    ) -> WebPage:
        """Read a web page (``POST /api/web_fetch``): its title, text and links."""
        from .._requests import fetch_json, wrong_shape

        if not isinstance(url, str) or not url.strip():
            raise ValueError("url must be a non-empty string")
        endpoint, timeout = cls._cloud("web_fetch()", api_base, options)
        wait = Timeout.of(timeout, DEFAULT_TIMEOUT)
        data = await fetch_json(endpoint, "POST", "/api/web_fetch", wait, {"url": url})
        if not isinstance(data, dict):
            raise wrong_shape(endpoint, "/api/web_fetch", Action.OTHER, "a page", data)
        return WebPage.parse(data)

    @classmethod
    def web_search_sync(cls, query: str, **kwargs: Any) -> list[WebSearchResult]:
        from .._sync import run

        return run(cls.web_search(query, **kwargs))

    @classmethod
    def web_fetch_sync(cls, url: str, **kwargs: Any) -> WebPage:
        from .._sync import run

        return run(cls.web_fetch(url, **kwargs))
