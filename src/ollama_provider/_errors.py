"""The library's exceptions: one family for streaming and non-streaming calls.

::

    ProviderError                      base; .url, .reason, .advice
    ├── ServerUnreachableError         refused, DNS failure, TLS, reset or non-HTTP before an answer
    │   └── AllServersFailedError      several servers, each failed before answering; .errors
    ├── SomeServersFailedError         a call on several servers failed on some; .errors, .done
    ├── ProviderTimeoutError           also a builtin TimeoutError; .phase, .timeout, .partial
    ├── ResponseStatusError            an HTTP error status; .status, .server_message, .retry_after
    ├── ModelNotFoundError             the model is not there, or none is; .model, .available
    ├── StreamInterruptedError         the stream ended before it finished; .partial
    ├── BadResponseError               an answer that is not what was asked (HTML, not JSON…)
    └── InvalidHostError               also a ValueError; unusable OLLAMA_HOST/OLLAMA_PORT/api_base

An error holds facts (what happened, where, which phase, the server's words),
never sentences: ``message`` and ``advice`` are made from the facts by
``_wording``, for library users; the command line asks ``_wording`` for its
own words. Every text in the facts was cleaned of secrets before it got here
(``_redact``), and no exception of this family chains an exception of a
dependency (whose ``repr`` may show request headers).
"""

from __future__ import annotations

import enum

__all__ = [
    "Action",
    "AllServersFailedError",
    "BadResponseError",
    "InvalidHostError",
    "ModelNotFoundError",
    "Phase",
    "ProviderError",
    "ProviderTimeoutError",
    "Reason",
    "ResponseStatusError",
    "ServerUnreachableError",
    "SomeServersFailedError",
    "StreamInterruptedError",
]


class Reason(enum.Enum):
    """What happened, finer than the class; ``_wording`` has the words for each."""

    OTHER = "other"
    # no answer
    REFUSED = "refused"
    DNS = "dns"
    TLS = "tls"
    PROXY = "proxy"
    CLOSED = "closed before answering"
    NOT_HTTP = "not http"
    TIMEOUT = "timeout"
    # an answer, but not the one asked for
    STATUS = "status"
    MODEL_NOT_FOUND = "model not found"
    NO_MODELS = "no models"
    NOT_JSON = "not json"
    HTML_PAGE = "html page"
    WRONG_SHAPE = "wrong shape"
    TOO_LARGE = "too large"
    CUT_BY_LIMIT = "cut by the token limit"
    # a stream that stopped
    BROKE = "connection broke"
    ENDED_EARLY = "ended early"
    SERVER_ERROR = "server error"
    BAD_CHUNK = "bad chunk"
    LINE_TOO_LONG = "line too long"
    UNFINISHED = "unfinished"
    # the address
    INVALID_HOST = "invalid host"
    # the model cannot do what was asked ("does not support embeddings", "… tools")
    UNSUPPORTED = "unsupported"


class Phase(str, enum.Enum):
    """Which wait ran out (compares equal to its value: ``phase == "connect"``)."""

    CONNECT = "connect"
    FIRST_BYTE = "first byte"
    BETWEEN_CHUNKS = "between chunks"

    def __str__(self) -> str:
        return self.value


class Action(enum.Enum):
    """What the call was doing, so that advice fits (pulling a missing model is not deleting it)."""

    CHAT = "chat"
    GENERATE = "generate"
    EMBED = "embed"
    LIST = "list"
    SHOW = "show"
    PULL = "pull"
    PUSH = "push"
    CREATE = "create"
    COPY = "copy"
    DELETE = "delete"
    LOAD = "load"
    UNLOAD = "unload"
    OTHER = "other"


class ProviderError(Exception):
    """Base of every error this library raises about a server or its answer.

    ``url`` is the URL tried (credentials removed); ``reason`` says what happened;
    ``advice`` what to do about it ("" when there is nothing to add);
    ``setting`` names where the address came from (``api_base``, ``OLLAMA_HOST``…).
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        url: str | None = None,
        reason: Reason = Reason.OTHER,
        detail: str = "",
        action: Action = Action.OTHER,
        setting: str = "",
        server: str = "",
    ) -> None:
        super().__init__(message or "")
        self._message = message
        self.url = url
        self.reason = reason
        self.detail = detail  # the underlying cause in words, already free of secrets
        self.action = action
        self.setting = setting
        self.server = server  # the provider's label ("Ollama"), for advice
        self.inputs: range | None = None  # which inputs of a batched call failed

    @property
    def message(self) -> str:
        if self._message is not None:
            return self._message
        from ._wording import LIBRARY, describe

        return describe(self, LIBRARY).message

    @property
    def advice(self) -> str:
        if self._message is not None:
            return ""
        from ._wording import LIBRARY, describe

        return describe(self, LIBRARY).advice

    def __str__(self) -> str:
        if self._message is not None:
            return self._message
        from ._wording import LIBRARY, describe

        described = describe(self, LIBRARY)  # once: message and advice together
        advice = described.advice
        return f"{described.message} {advice}" if advice else described.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructors defeat Exception's default pickling.
        return (_rebuild, (type(self), dict(self.__dict__)))


def _rebuild(cls: type[ProviderError], state: dict[str, object]) -> ProviderError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("_message") or "")
    error.__dict__.update(state)
    return error


class ServerUnreachableError(ProviderError):
    """No HTTP answer: refused, name not resolved, TLS failed, closed or not HTTP."""


class AllServersFailedError(ServerUnreachableError):
    """A call given several servers found none that could answer; ``errors`` holds each
    server's error, in the order tried."""

    def __init__(
        self, message: str | None = None, *, errors: list[ProviderError], **facts: object
    ) -> None:
        super().__init__(message, **facts)  # type: ignore[arg-type]
        self.errors = errors


class SomeServersFailedError(ProviderError):
    """Model management on several servers failed on some of them: ``errors`` maps each
    failing server's root URL to its error; ``done`` lists the servers where it worked."""

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: dict[str, ProviderError],
        done: list[str],
        **facts: object,
    ) -> None:
        super().__init__(message, **facts)  # type: ignore[arg-type]
        self.errors = errors
        self.done = done


class ProviderTimeoutError(ProviderError, TimeoutError):
    """A wait ran out.

    ``phase`` is ``"connect"``, ``"first byte"`` or ``"between chunks"``;
    ``partial`` holds the text received before the wait began.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        phase: Phase | str,
        timeout: float | None,
        partial: str = "",
        **facts: object,
    ) -> None:
        facts.setdefault("reason", Reason.TIMEOUT)
        super().__init__(message, **facts)  # type: ignore[arg-type]
        self.phase = Phase(phase)
        self.timeout = timeout
        self.partial = partial


class ResponseStatusError(ProviderError):
    """The server answered with an HTTP error status (4xx, 5xx, or an unexpected 3xx).

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int,
        server_message: str = "",
        retry_after: float | None = None,
        html: bool = False,
        location: str = "",
        method: str = "",
        **facts: object,
    ) -> None:
        facts.setdefault("reason", Reason.STATUS)
        super().__init__(message, **facts)  # type: ignore[arg-type]
        self.method = method
        self.status = status
        self.server_message = server_message
        self.retry_after = retry_after
        self.html = html
        self.location = location


class ModelNotFoundError(ProviderError):
    """The server does not have the model (or has none at all).

    ``available`` lists the installed models when they could be fetched.
    ``status`` is 404 when the server said so, ``None`` when no model is installed.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        model: str,
        available: list[str] | None = None,
        status: int | None = 404,
        server_message: str = "",
        **facts: object,
    ) -> None:
        facts.setdefault("reason", Reason.MODEL_NOT_FOUND if model else Reason.NO_MODELS)
        super().__init__(message, **facts)  # type: ignore[arg-type]
        self.model = model
        self.available = available if available is not None else []
        self.available_by_server: dict[str, list[str]] = {}  # several servers: what each has
        self.status = status
        self.server_message = server_message


class StreamInterruptedError(ProviderError):
    """The stream stopped before a finish reason or ``[DONE]`` arrived.

    ``partial`` is all the text yielded before the failure; ``server_message``
    is the server's own words when it sent an error.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        partial: str = "",
        server_message: str = "",
        **facts: object,
    ) -> None:
        facts.setdefault("reason", Reason.ENDED_EARLY)
        super().__init__(message, **facts)  # type: ignore[arg-type]
        self.partial = partial
        self.server_message = server_message


class BadResponseError(ProviderError):
    """The server answered (status 2xx) with something other than what was asked:
    an HTML page (a captive portal, a login page), text that is not JSON, JSON of
    another shape (``{"detail": "Not authenticated"}``), or more than the limit.

    ``content_type`` is the answer's type; ``excerpt`` its start (or an HTML title).
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int = 200,
        content_type: str = "",
        excerpt: str = "",
        **facts: object,
    ) -> None:
        super().__init__(message, **facts)  # type: ignore[arg-type]
        self.status = status
        self.content_type = content_type
        self.excerpt = excerpt


class InvalidHostError(ProviderError, ValueError):
    """``OLLAMA_HOST``, ``OLLAMA_PORT`` or ``api_base`` cannot name a server.

    ``value`` is the value as given with any credentials hidden; ``problem`` says why.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        setting: str,
        value: str,
        problem: object = None,
        detail: str = "",
    ) -> None:
        super().__init__(message, reason=Reason.INVALID_HOST, detail=detail, setting=setting)
        self.value = value
        self.problem = problem  # a _address.HostProblem
