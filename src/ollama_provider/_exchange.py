"""Requests and their answers: endpoints, status errors, and the chat stream driver.

Data flows one way: transport (bytes) → decoder (items) → caller. This module
sends through a :class:`~._transport.Transport`, maps HTTP statuses to the
library's errors, and drives :class:`~._assemble.ChatStream` with the bytes
as they arrive.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ._assemble import ChatStream, ServerStreamError, completion_items, error_text
from ._decode import DEFAULT_MAX_LINE, DecodeError, NDJSONDecoder
from ._errors import (
    ModelNotFoundError,
    ProviderError,
    ProviderTimeoutError,
    ResponseStatusError,
    StreamInterruptedError,
)
from ._redact import Redactor
from ._settings import Timeout
from ._transport import HTTPRequest, HTTPResponse, Transport, default_transport
from ._version import __version__

__all__ = ["ChatCall", "Endpoint", "chat_items", "fetch_json", "ndjson_objects"]

logger = logging.getLogger("ollama_provider")
_ERROR_BODY_LIMIT = 64 * 1024
_MODEL_404 = re.compile(
    r"""model\s+[`'"](?P<q>[^`'"]+)[`'"]\s+(?:not\s+found|does\s+not\s+exist)"""
    r"""|model\s+(?P<b>\S+)\s+(?:not\s+found|does\s+not\s+exist)""",
    re.IGNORECASE,
)
_HTML_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")
_USER_AGENT = f"ollama-provider/{__version__}"


@dataclass(slots=True)
class Endpoint:
    """A server to talk to: URL prefix, credentials and connection settings."""

    base: str  # URL prefix without credentials, e.g. http://127.0.0.1:11434
    redact: Redactor
    api_key: str | None = field(default=None, repr=False)
    auth: tuple[str, str] | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    proxy: str | None = field(default=None, repr=False)
    verify: Any = True
    transport: Transport = field(default_factory=default_transport, repr=False)
    where: str = ""
    advice: str = ""

    def request(
        self,
        method: str,
        path: str,
        timeout: Timeout,
        body: bytes | None = None,
        *,
        accept: str = "application/json",
    ) -> HTTPRequest:
        headers = {"User-Agent": _USER_AGENT, "Accept": accept}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif self.auth is not None:
            pair = f"{self.auth[0]}:{self.auth[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        headers.update(self.headers)
        return HTTPRequest(
            method,
            self.base + path,
            headers,
            timeout,
            body,
            proxy=self.proxy,
            verify=self.verify,
            redact=self.redact,
            where=self.where,
            advice=self.advice,
        )


def _server_message(body: bytes, content_type: str) -> tuple[str, bool]:
    """The server's own words in an error body, and whether the body was an HTML page."""
    text = body.decode("utf-8", "replace").strip()
    if text[:1] in "{[" and text:
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            for key in ("error", "message", "detail"):
                if obj.get(key) is not None:
                    return error_text(obj[key]), False
    if "html" in content_type.lower() or text[:15].lower().startswith(("<!doctype", "<html")):
        title = _HTML_TITLE.search(body)
        shown = title.group(1).decode("utf-8", "replace") if title else _TAGS.sub(" ", text)
        return " ".join(shown.split())[:200], True
    return " ".join(text.split())[:500], False


def _status_hint(status: int, server_message: str, html: bool, location: str) -> str:
    if 300 <= status < 400:
        return (
            f" It redirects to {location or 'another address'}; redirects are not followed (so "
            "credentials never reach another origin): use the final address instead."
        )
    if status == 401:
        return " The server wants credentials: pass api_key=..., or user:password@ in the address."
    if status == 403:
        return (
            " Access was denied. Ollama itself answers 403 when the Host header is not one it"
            " serves (it is bound to loopback): connect through localhost, or set OLLAMA_HOST"
            " on the server. A proxy or auth gateway may also be refusing the request."
        )
    if status == 503 and "loading" in server_message.lower():
        return " The server is still loading the model: try again in a moment."
    if status in (502, 503, 504) and html:
        return " A proxy or gateway answered: the model server behind it is down or unreachable."
    if status == 404:
        return " This endpoint does not exist there: check that the address points at the server."
    return ""


async def status_error(
    response: HTTPResponse,
    request: HTTPRequest,
    *,
    model: str | None = None,
    available: Callable[[], Awaitable[list[str]]] | None = None,
) -> ProviderError:
    """The error for a response whose status is not 2xx (its body is read, then it is closed)."""
    try:
        body = await response.read_all(_ERROR_BODY_LIMIT)
    except ProviderError:
        body = b""
    response.close()
    status = response.status
    content_type = response.headers.get("Content-Type", "")
    message, html = _server_message(body, content_type)
    message = request.redact(message)
    shown = f"{request.method} {request.url} answered {status} {response.reason}".rstrip()
    if status == 404 and (found := _MODEL_404.search(message)):
        name = found.group("q") or found.group("b") or model or ""
        installed: list[str] | None = None
        if available is not None:
            try:
                installed = await available()
            except ProviderError:
                installed = None
        tail = f" Installed: {', '.join(installed)}." if installed else ""
        return ModelNotFoundError(
            f"model {name!r} is not on the server at {request.url} (it said: {message}). "
            f"Pull it first: ollama pull {name}.{tail}",
            url=request.url,
            model=name,
            available=installed,
            server_message=message,
        )
    location = request.redact(response.headers.get("Location", ""))
    kind = " (an HTML page)" if html else ""
    detail = f": {message}" if message else ""
    end = "" if detail.endswith((".", "!", "?")) else "."
    hint = _status_hint(status, message, html, location)
    return ResponseStatusError(
        f"{shown}{kind}{detail}{end}{hint}",
        url=request.url,
        status=status,
        server_message=message,
    )


async def fetch_json(
    endpoint: Endpoint,
    method: str,
    path: str,
    timeout: Timeout,
    body: object = None,
    *,
    model: str | None = None,
) -> Any:
    """One request with a JSON answer; HTTP errors become the library's errors."""
    payload = None if body is None else orjson.dumps(body)
    request = endpoint.request(method, path, timeout, payload)
    response = await endpoint.transport.send(request)
    if response.status >= 300:
        raise await status_error(response, request, model=model)
    try:
        data = await response.read_all(DEFAULT_MAX_LINE + 1)
    except BaseException:
        response.close()
        raise
    await response.finish()
    if len(data) > DEFAULT_MAX_LINE:
        raise ProviderError(f"{request.url} sent a larger answer than expected", url=request.url)
    if not data.strip():
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        shown = request.redact(data[:200].decode("utf-8", "replace"))
        raise ProviderError(
            f"{request.url} did not answer with JSON: {shown!r}", url=request.url
        ) from None


@dataclass(slots=True)
class ChatCall:
    """Everything a chat request needs, built (and checked) before the first ``await``."""

    endpoint: Endpoint
    path: str
    body: dict[str, Any]
    timeout: Timeout
    native: bool = False
    stream: bool = True
    max_line: int = DEFAULT_MAX_LINE
    default_model: Callable[[], Awaitable[str]] | None = None
    available: Callable[[], Awaitable[list[str]]] | None = None


def _interrupted(exc: DecodeError, request: HTTPRequest, partial: str) -> StreamInterruptedError:
    redact = request.redact
    if isinstance(exc, ServerStreamError):
        words = redact(exc.server_message)
        return StreamInterruptedError(
            f"{request.url}: the server reported an error mid-stream: {words}",
            url=request.url,
            partial=partial,
            server_message=words,
        )
    return StreamInterruptedError(
        f"{request.url}: {redact(str(exc))}", url=request.url, partial=partial
    )


async def chat_items(call: ChatCall) -> AsyncGenerator[Any, None]:
    """The stream driver: request, then bytes → decoder → items, yielded as they arrive."""
    if not call.body.get("model") and call.default_model is not None:
        call.body["model"] = await call.default_model()
    accept = "application/x-ndjson" if call.native else "text/event-stream"
    request = call.endpoint.request(
        "POST",
        call.path,
        call.timeout,
        orjson.dumps(call.body),
        accept=accept if call.stream else "application/json",
    )
    response = await call.endpoint.transport.send(request)
    complete = False
    failure: DecodeError | None = None
    decoder = ChatStream(native=call.native, max_line=call.max_line)
    try:
        if response.status >= 300:
            raise await status_error(
                response, request, model=call.body.get("model"), available=call.available
            )
        if call.stream:
            read = response.read_some
            feed = decoder.feed
            try:
                while data := await read():
                    for item in feed(data):
                        yield item
                    if decoder.done:
                        break
                for item in decoder.close():
                    yield item
            except DecodeError as exc:
                failure = exc
            else:
                if not decoder.finished:
                    raise StreamInterruptedError(
                        f"the stream from {request.url} ended before the answer finished "
                        "(no finish reason and no [DONE]): the server or a proxy cut it short",
                        url=request.url,
                        partial="".join(decoder.text),
                    )
                complete = True
        else:
            failure, items = _whole_answer(await response.read_all(call.max_line + 1), call)
            if failure is None:
                complete = True
                decoder.text.extend(item for item in items if type(item) is str)
                for item in items:
                    yield item
    except (ProviderTimeoutError, StreamInterruptedError) as exc:
        if not exc.partial:
            exc.partial = "".join(decoder.text)
        raise
    finally:
        if complete:
            await response.finish()
        else:
            response.close()
    if failure is not None:
        for item in failure.items:
            yield item
        raise _interrupted(failure, request, "".join(decoder.text))


def _whole_answer(data: bytes, call: ChatCall) -> tuple[DecodeError | None, list[Any]]:
    """A non-streaming answer's items, or the reason it cannot be read."""
    if len(data) > call.max_line:
        return DecodeError(f"the answer is larger than {call.max_line:,} bytes"), []
    try:
        return None, completion_items(orjson.loads(data))
    except orjson.JSONDecodeError:
        shown = data[:200].decode("utf-8", "replace")
        return DecodeError(f"the server did not answer with JSON: {shown!r}"), []
    except DecodeError as exc:
        return exc, []


async def ndjson_objects(
    endpoint: Endpoint, path: str, body: object, timeout: Timeout
) -> AsyncGenerator[dict[str, Any], None]:
    """A streamed NDJSON answer (pull progress) as objects; an ``{"error": ...}`` line raises."""
    request = endpoint.request(
        "POST", path, timeout, orjson.dumps(body), accept="application/x-ndjson"
    )
    response = await endpoint.transport.send(request)
    complete = False
    try:
        if response.status >= 300:
            raise await status_error(response, request)
        decoder = NDJSONDecoder()
        while True:
            data = await response.read_some()
            lines = decoder.feed(data) if data else decoder.close()
            for line in lines:
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError:
                    shown = request.redact(line[:200].decode("utf-8", "replace"))
                    raise ProviderError(
                        f"{request.url} sent a line that is not JSON: {shown!r}", url=request.url
                    ) from None
                if isinstance(obj, dict) and obj.get("error") is not None:
                    words = request.redact(error_text(obj["error"]))
                    raise ResponseStatusError(
                        f"{request.url} reported a failure: {words.rstrip('.')}.",
                        url=request.url,
                        status=response.status,
                        server_message=words,
                    )
                yield obj
            if not data:
                break
        complete = True
    except DecodeError as exc:
        raise ProviderError(f"{request.url}: {exc}", url=request.url) from None
    finally:
        if complete:
            await response.finish()
        else:
            response.close()
