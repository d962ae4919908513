"""Every sentence the library shows a person, in one place, for the audience that reads it.

Errors carry facts (``_errors``); this module turns them into a message (what
failed and where) and advice (what to do), phrased for the reader: a Python
caller is told ``timeout=`` and ``ollama pull``, a user of the command line
``--timeout`` and ``ollama-provider pull``. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus

from ._address import HostProblem, Note, ServerAddress, Source
from ._errors import (
    Action,
    AllServersFailedError,
    BadResponseError,
    InvalidHostError,
    ModelNotFoundError,
    Phase,
    ProviderError,
    ProviderTimeoutError,
    Reason,
    ResponseStatusError,
    ServerUnreachableError,
    SomeServersFailedError,
    StreamInterruptedError,
)

__all__ = [
    "CLI",
    "LIBRARY",
    "Audience",
    "Wording",
    "describe",
    "note_text",
    "source_text",
    "truncation_warning",
]


@dataclass(frozen=True, slots=True)
class Audience:
    """How the reader spells each setting and command."""

    host: str  # the option that names the server
    timeout: str  # how to wait longer
    pull: str  # a command that pulls {name}
    api_key: str
    max_line: str
    name_model: str
    verify: str
    proxy: str  # where the proxy is set
    max_tokens: str  # how to allow a longer answer
    num_ctx: str  # how to give the prompt a larger context window
    quote: int  # the most characters of a server's own words shown in a message


LIBRARY = Audience(
    host="api_base",
    timeout="pass timeout=SECONDS (or a Timeout) to wait longer",
    pull="ollama pull {name}",
    api_key="pass api_key=..., or user:password@ in the address",
    max_line="pass max_line_size= a larger number of bytes if such answers are expected",
    name_model="name a model",
    verify="pass verify= a CA bundle path (or verify=False, only on a network you trust)",
    proxy="proxy=, HTTPS_PROXY, NO_PROXY",
    max_tokens="max_tokens, or options num_predict",
    num_ctx="options={'num_ctx': ...}",
    quote=500,
)
CLI = Audience(
    host="--host",
    timeout="use --timeout SECONDS to wait longer",
    pull="ollama-provider pull {name}",
    api_key="use --api-key (or set OLLAMA_API_KEY), or user:password@ in the address",
    max_line="the answer is larger than this tool accepts",
    name_model="pass -m NAME",
    verify="set SSL_CERT_FILE to a CA bundle that trusts the server",
    proxy="HTTPS_PROXY, HTTP_PROXY, NO_PROXY",
    max_tokens="--max-tokens",
    num_ctx="--num-ctx N, or /set num_ctx N in a session",
    quote=200,  # one line on a terminal; --debug shows the whole text
)


@dataclass(frozen=True, slots=True)
class Wording:
    message: str
    advice: str


_NOTES = {
    Note.HOST_NOT_SET: "OLLAMA_HOST is not set: using 127.0.0.1",
    Note.NO_HOST: "no host given: using 127.0.0.1",
    Note.BIND_ALL_V4: "0.0.0.0 is a bind-all address, not one to connect to: using 127.0.0.1",
    Note.BIND_ALL_V6: ":: is a bind-all address, not one to connect to: using [::1]",
    Note.CREDENTIALS: "credentials in the address: sent as Basic auth, never shown",
    Note.PORT_FROM_ENV: "the port comes from OLLAMA_PORT",
    Note.V1_REMOVED: "trailing /v1 removed: the server root is used",
}
_HOST_PROBLEMS = {
    HostProblem.CONTROL_CHARACTERS: "it contains blanks or control characters",
    HostProblem.QUERY_OR_FRAGMENT: "it may not contain '?', '#' or '\\'",
    HostProblem.SCHEME: "the scheme {detail!r} is not http or https",
    HostProblem.IPV6_UNCLOSED: "an IPv6 address lacks its closing ']'",
    HostProblem.IPV6_TRAILING: "unexpected text {detail!r} after the IPv6 address",
    HostProblem.IPV6_INVALID: "{detail!r} is not a valid IPv6 address",
    HostProblem.ZONE_ID: "zone ids and percent signs are not supported in the host",
    HostProblem.HOST_NAME: "{detail!r} is not a valid host name",
    HostProblem.HOST_TOO_LONG: "the host name is longer than 253 characters",
    HostProblem.PORT_NOT_NUMBER: "the port {detail!r} is not a number",
    HostProblem.PORT_RANGE: "the port {detail} is outside 1-65535",
    HostProblem.PATH_CHARACTERS: "the path has characters a URL path prefix cannot hold",
    HostProblem.PATH_DOTS: "the path may not contain '.' or '..' segments",
}


def note_text(note: Note) -> str:
    return _NOTES[note]


def source_text(address: ServerAddress) -> str:
    """How an address was derived, for ``doctor``: ``OLLAMA_HOST='0.0.0.0'``, ``--host``."""
    if address.source is Source.DEFAULT:
        return "the default address"
    if address.source is Source.ARGUMENT:
        return address.setting
    return f"{address.setting}={address.shown!r}"


def _where(error: ProviderError, audience: Audience) -> str:
    setting = error.setting
    if not setting:
        return ""
    if setting in ("OLLAMA_HOST", "OLLAMA_PORT"):
        return f" (from {setting})" if error.url else ""
    return f" ({audience.host if setting == 'api_base' else setting})"


def _host_setting(error: ProviderError, audience: Audience) -> str:
    """Where the reader sets the server's address."""
    setting = error.setting
    if setting in ("", "OLLAMA_HOST", "OLLAMA_PORT", "api_base"):
        return f"OLLAMA_HOST (or {audience.host})"
    return setting


def _point_at(error: ProviderError, audience: Audience) -> str:
    return f"point {_host_setting(error, audience)} at the server"


def _quote(text: str, audience: Audience) -> str:
    """A server's own words, cut at a word for the audience (the error keeps them whole)."""
    text = " ".join(text.split())
    if len(text) <= audience.quote:
        return text
    cut = text[: audience.quote].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " …"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?", "…")) else text + "."


def _unreachable(error: ProviderError, a: Audience) -> Wording:
    url, where, detail = error.url, _where(error, a), error.detail
    ollama = error.server == "Ollama"
    start = (
        "Is Ollama running? Start it with `ollama serve`, or " + _point_at(error, a)
        if ollama
        else "Check that the server is running, and " + _point_at(error, a)
    )
    reason = error.reason
    if reason is Reason.REFUSED:
        return Wording(f"cannot reach {url}{where}: the connection was refused.", _sentence(start))
    if reason is Reason.DNS:
        return Wording(
            f"cannot reach {url}{where}: its host name could not be resolved.",
            _sentence(f"Check the host name in {_host_setting(error, a)}"),
        )
    if reason is Reason.TLS:
        return Wording(
            f"cannot reach {url}{where}: its TLS certificate could not be verified ({detail}).",
            _sentence(a.verify[0].upper() + a.verify[1:]),
        )
    if reason is Reason.PROXY:
        return Wording(
            f"cannot reach {url}{where}: the proxy could not be reached ({detail}).",
            f"Check the proxy setting ({a.proxy}).",
        )
    if reason is Reason.NOT_HTTP:
        return Wording(
            f"{url}{where}: what answers on that port does not speak HTTP (it sent {detail}).",
            "Check the port: another service listens there.",
        )
    if reason is Reason.CLOSED:
        return Wording(
            f"cannot reach {url}{where}: the server closed the connection before answering.",
            "Check the server's log; a proxy or a crashed server can do this.",
        )
    shown = f" ({detail})" if detail else ""
    return Wording(f"cannot reach {url}{where}: the connection failed{shown}.", _sentence(start))


def _timeout(error: ProviderTimeoutError, a: Audience) -> Wording:
    url, limit = error.url, error.timeout
    if error.phase is Phase.CONNECT:
        return Wording(
            f"connecting to {url}{_where(error, a)} took longer than {limit} s "
            "(the connect timeout).",
            "Check that the host is up and reachable; a firewall may be dropping the connection.",
        )
    what = (
        "for the first byte of the answer"
        if error.phase is Phase.FIRST_BYTE
        else ("between chunks")
    )
    advice = a.timeout[0].upper() + a.timeout[1:]
    if error.phase is Phase.FIRST_BYTE:
        advice = f"The model may still be loading. {advice}"
    return Wording(
        f"{url} sent nothing {what} for {limit} s (the {error.phase} timeout).", _sentence(advice)
    )


_UNSUPPORTED = {
    Action.EMBED: "Use a model made for embeddings (nomic-embed-text, all-minilm, …).",
    Action.GENERATE: "Use a model that completes text; embedding models cannot.",
}


def _status_advice(error: ResponseStatusError, a: Audience) -> str:
    status, words = error.status, error.server_message.lower()
    if error.reason is Reason.UNSUPPORTED:
        return _UNSUPPORTED.get(
            error.action,
            "The model lacks that capability: its capabilities are listed by `show` "
            "(tools, thinking, vision, embedding…).",
        )
    if 300 <= status < 400:
        return (
            f"It redirects to {error.location or 'another address'}; redirects are not followed "
            "(so credentials never reach another origin): use the final address instead."
        )
    if status == 401:
        return f"The server wants credentials: {a.api_key}."
    if status == 403:
        return (
            "Access was denied. Ollama bound to loopback answers 403 to a Host header it does "
            "not serve: connect to 127.0.0.1 or localhost (or have your proxy or tunnel send "
            "`Host: localhost`), or start the server with OLLAMA_HOST=0.0.0.0 to accept other "
            "names. A proxy or auth gateway may also be refusing the request."
        )
    if status == 404:
        return "This endpoint does not exist there: check that the address points at the server."
    if status in (429, 503) and error.retry_after is not None:
        return f"The server asks to retry after {error.retry_after:g} s."
    if status == 503 and "loading" in words:
        return "The server is still loading the model: try again in a moment."
    if status in (502, 503, 504) and error.html:
        return "A proxy or gateway answered: the model server behind it is down or unreachable."
    if status == 429:
        return "Too many requests: wait, then try again."
    return ""


#: How Go's net package words a failed connection (Ollama quotes it when the registry
#: is out of reach): DNS, refused, timed out, unreachable.
_NETWORK_WORDS = ("dial tcp", "no such host", "connection refused", "i/o timeout", "unreachable")


def _failure_advice(error: ResponseStatusError) -> str:
    said = error.server_message.lower()
    if error.action in (Action.PULL, Action.PUSH) and any(w in said for w in _NETWORK_WORDS):
        return (
            "The Ollama server could not reach the registry: the machine it runs on needs "
            "internet access (or HTTPS_PROXY set where `ollama serve` starts)."
        )
    return ""


def _status(error: ResponseStatusError, a: Audience) -> Wording:
    kind = " (an HTML page)" if error.html else ""
    words = f": {_quote(error.server_message, a)}" if error.server_message else ""
    try:
        phrase = " " + HTTPStatus(error.status).phrase
    except ValueError:
        phrase = ""
    head = f"{error.method} {error.url}".strip() if error.method else str(error.url)
    if error.reason is Reason.STATUS and 200 <= error.status < 300:
        return Wording(_sentence(f"{head} reported a failure{words}"), _failure_advice(error))
    return Wording(
        _sentence(f"{head} answered {error.status}{phrase}{kind}{words}"), _status_advice(error, a)
    )


def _model_missing(error: ModelNotFoundError, a: Audience) -> Wording:
    name, installed = error.model, error.available
    if error.available_by_server:
        each = "; ".join(
            f"{server} has {', '.join(names) if names else 'none'}"
            for server, names in error.available_by_server.items()
        )
        return Wording(
            f"model {name!r} is on none of the servers ({each}).",
            f"Pull it on one of them: {a.pull.format(name=name)} (with {a.host} naming it).",
        )
    listed = f" Installed: {', '.join(installed)}." if installed else ""
    if error.reason is Reason.NO_MODELS:
        where = f" at {error.url}" if error.url else ""
        return Wording(
            f"no model given and the server{where} has none installed.",
            f"Pull one first ({a.pull.format(name='llama3.2')}), or {a.name_model}.",
        )
    message = error.server_message
    # "model 'x' not found" says nothing more than the sentence itself
    restated = "not found" in message.lower() and name.lower() in message.lower()
    said = f" (it said: {_quote(message, a)})" if message and not restated else ""
    where = f" at {_server_part(str(error.url))}" if error.url else ""
    if error.action is Action.PULL:
        return Wording(
            f"the registry has no model {name!r}{said}.",
            "Check the name: the models are listed at https://ollama.com/library.",
        )
    if error.action in (Action.DELETE, Action.UNLOAD, Action.COPY, Action.PUSH):
        return Wording(
            f"model {name!r} is not on the server{where}{said}; there is nothing to "
            f"{error.action.value}.",
            listed.strip(),
        )
    pull = a.pull.format(name=name)
    return Wording(
        f"model {name!r} is not on the server{where}{said}.", f"Pull it first: {pull}.{listed}"
    )


def _server_part(url: str) -> str:
    """``http://h:11434`` of ``http://h:11434/api/show``: a model lives on a server, not
    on the endpoint that was asked (a path prefix before ``/api`` or ``/v1`` stays)."""
    for marker in ("/api/", "/v1/"):
        head, found, _ = url.rpartition(marker)
        if found:
            return head
    return url


def _stream(error: StreamInterruptedError, a: Audience) -> Wording:
    url, reason = error.url, error.reason
    if reason is Reason.SERVER_ERROR:
        return Wording(
            f"{url}: the server reported an error mid-stream: {_quote(error.server_message, a)}",
            "",
        )
    if reason is Reason.BROKE:
        return Wording(f"the connection to {url} broke mid-stream ({error.detail}).", "Try again.")
    if reason is Reason.LINE_TOO_LONG:
        return Wording(f"{url}: {error.detail}.", _sentence(a.max_line[0].upper() + a.max_line[1:]))
    if reason is Reason.UNFINISHED:
        return Wording(
            f"{url} ended before it reported success (the last status was {error.detail!r}).",
            "Try again; the server's log may say why.",
        )
    if reason is Reason.BAD_CHUNK:
        return Wording(f"{url}: {error.detail}.", "")
    return Wording(
        f"the stream from {url} ended before the answer finished (no finish reason and no "
        "[DONE]): the server or a proxy cut it short.",
        "Try again.",
    )


def _bad_response(error: BadResponseError, a: Audience) -> Wording:
    url, reason, excerpt = error.url, error.reason, error.excerpt
    if reason is Reason.HTML_PAGE:
        title = f" ({excerpt!r})" if excerpt else ""
        return Wording(
            f"{url} answered with an HTML page{title} instead of {error.detail or 'JSON'}.",
            "A captive portal, login page or proxy may be in the way: check the address.",
        )
    if reason is Reason.NOT_JSON:
        return Wording(f"{url} did not answer with JSON: {excerpt!r}.", "")
    if reason is Reason.CUT_BY_LIMIT:
        return Wording(
            "the structured answer was cut by the token limit (finish_reason 'length') before "
            f"its JSON was complete ({excerpt}).",
            f"Allow more tokens ({a.max_tokens}).",
        )
    if reason is Reason.WRONG_SHAPE and not url:
        return Wording(_sentence(f"the server {error.detail}: {excerpt}"), "")
    if reason is Reason.TOO_LARGE:
        return Wording(f"{url} sent a larger answer than expected ({error.detail}).", "")
    shown = f": {excerpt}" if excerpt else ""
    advice = "Is this Ollama?" if error.server == "Ollama" and error.action is Action.LIST else ""
    return Wording(
        _sentence(f"{url} {error.detail or 'answered with an unexpected shape'}{shown}"), advice
    )


def _invalid_host(error: InvalidHostError, a: Audience) -> Wording:
    setting = a.host if error.setting == "api_base" else error.setting
    problem = error.problem
    why = (
        _HOST_PROBLEMS[problem].format(detail=error.detail)
        if isinstance(problem, HostProblem)
        else error.detail
    )
    unset = f", or unset {setting} to use 127.0.0.1:11434" if setting.isupper() else ""
    return Wording(
        f"{setting}={error.value!r} is not a usable server address: {why}.",
        "Use a value like 'localhost', 'example.com:11434' or 'https://example.com/ollama'"
        f"{unset}.",
    )


_BY_CLASS: list[tuple[type[ProviderError], Callable[..., Wording]]] = [
    (InvalidHostError, _invalid_host),
    (ProviderTimeoutError, _timeout),
    (ModelNotFoundError, _model_missing),
    (ResponseStatusError, _status),
    (StreamInterruptedError, _stream),
    (BadResponseError, _bad_response),
]


def describe(error: ProviderError, audience: Audience) -> Wording:
    """The message and the advice for an error, in the audience's terms."""
    if error._message is not None:  # an error made with its own words
        return Wording(error._message, "")
    words = _words(error, audience)
    inputs = error.inputs
    if inputs is not None and len(inputs):
        span = (
            f"input {inputs.start}" if len(inputs) == 1 else f"inputs {inputs.start}–{inputs[-1]}"
        )
        words = Wording(f"{words.message.rstrip('.')} (the batch of {span}).", words.advice)
    return words


def _all_failed(error: AllServersFailedError, a: Audience) -> Wording:
    each = "; ".join(_words(e, a).message.rstrip(".") for e in error.errors)
    return Wording(f"every server failed: {each}.", "Check that at least one of them is running.")


def _some_failed(error: SomeServersFailedError, a: Audience) -> Wording:
    each = "; ".join(
        f"{server}: {_words(e, a).message.rstrip('.')}" for server, e in error.errors.items()
    )
    done = f" It worked on {', '.join(error.done)}." if error.done else ""
    return Wording(
        f"{error.action.value} failed on {len(error.errors)} server(s): {each}.{done}", ""
    )


def _words(error: ProviderError, audience: Audience) -> Wording:
    if isinstance(error, AllServersFailedError):
        return _all_failed(error, audience)
    if isinstance(error, SomeServersFailedError):
        return _some_failed(error, audience)
    for cls, make in _BY_CLASS:
        if isinstance(error, cls):
            return make(error, audience)
    if isinstance(error, ServerUnreachableError):
        return _unreachable(error, audience)
    return Wording(_sentence(f"{error.url}: {error.detail}" if error.url else error.detail), "")


def truncation_warning(model: str, window: int, audience: Audience = LIBRARY) -> str:
    return (
        f"the prompt filled the whole context window of {model} ({window} tokens), so the "
        "server cut it: the answer did not see all of it. Give it more room with "
        f"{audience.num_ctx}, or send less"
    )
