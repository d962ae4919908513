"""The library's exceptions: one family for streaming and non-streaming calls.

::

    ProviderError                      base; .url is the URL tried, credentials removed
    ├── ServerUnreachableError         refused, DNS failure, reset before a response
    ├── ProviderTimeoutError           also a builtin TimeoutError; .phase, .timeout, .partial
    ├── ResponseStatusError            an HTTP error status; .status, .server_message
    ├── ModelNotFoundError             404 about the model, or none installed; .model, .available
    ├── StreamInterruptedError         the stream ended before it finished; .partial
    └── InvalidHostError               also a ValueError; unusable OLLAMA_HOST/OLLAMA_PORT/api_base

Messages are built from parts that were already cleaned of secrets (see
``_redact``): an error never carries an API key, a URL password or an
``Authorization`` value, even when the server echoed one back.
"""

from __future__ import annotations

__all__ = [
    "InvalidHostError",
    "ModelNotFoundError",
    "ProviderError",
    "ProviderTimeoutError",
    "ResponseStatusError",
    "ServerUnreachableError",
    "StreamInterruptedError",
]


class ProviderError(Exception):
    """Base of every error this library raises about a server or its answer."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.url = url

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructors defeat Exception's default pickling.
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type[ProviderError], state: dict[str, object]) -> ProviderError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class ServerUnreachableError(ProviderError):
    """No HTTP response: connection refused, name not resolved, reset before a response."""


class ProviderTimeoutError(ProviderError, TimeoutError):
    """A wait ran out.

    ``phase`` is ``"connect"``, ``"first byte"`` or ``"between chunks"``;
    ``partial`` holds the text received before the wait began.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        phase: str,
        timeout: float | None,
        partial: str = "",
    ) -> None:
        super().__init__(message, url=url)
        self.phase = phase
        self.timeout = timeout
        self.partial = partial


class ResponseStatusError(ProviderError):
    """The server answered with an HTTP error status (4xx, 5xx, or an unexpected 3xx)."""

    def __init__(
        self, message: str, *, url: str | None = None, status: int, server_message: str = ""
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.server_message = server_message


class ModelNotFoundError(ProviderError):
    """The server does not have the model (or has none at all).

    ``available`` lists the installed models when they could be fetched.
    ``status`` is 404 when the server said so, ``None`` when no model is installed.
    """

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        model: str,
        available: list[str] | None = None,
        status: int | None = 404,
        server_message: str = "",
    ) -> None:
        super().__init__(message, url=url)
        self.model = model
        self.available = available if available is not None else []
        self.status = status
        self.server_message = server_message


class StreamInterruptedError(ProviderError):
    """The stream stopped before a finish reason or ``[DONE]`` arrived.

    ``partial`` is all the text yielded before the failure; ``server_message``
    is the server's own words when it sent an error object.
    """

    def __init__(
        self, message: str, *, url: str | None = None, partial: str = "", server_message: str = ""
    ) -> None:
        super().__init__(message, url=url)
        self.partial = partial
        self.server_message = server_message


class InvalidHostError(ProviderError, ValueError):
    """``OLLAMA_HOST``, ``OLLAMA_PORT`` or ``api_base`` cannot name a server."""
