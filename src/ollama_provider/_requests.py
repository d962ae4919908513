"""Requests with a JSON or NDJSON answer, and the error for an answer that is not a success.

Statuses become typed errors here (Ollama's and vLLM's 404 words about a
model become :class:`ModelNotFoundError`); answers that are not what was asked
(an HTML page, text that is not JSON, JSON of another shape) become
:class:`BadResponseError`. No sentence is made here: see ``_wording``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import orjson

from ._assemble import error_text
from ._decode import DEFAULT_MAX_LINE, DecodeError, NDJSONDecoder
from ._endpoint import Endpoint
from ._errors import (
    Action,
    BadResponseError,
    ModelNotFoundError,
    ProviderError,
    Reason,
    ResponseStatusError,
    StreamInterruptedError,
)
from ._params import encode_body
from ._timeout import Timeout
from ._transport import HTTPRequest, HTTPResponse

__all__ = [
    "bad_answer",
    "fetch_json",
    "html_title",
    "ndjson_objects",
    "server_words",
    "status_error",
    "wrong_shape",
]

_ERROR_BODY_LIMIT = 64 * 1024
_MODEL_404 = re.compile(
    r"""model\s+[`'"](?P<q>[^`'"]{1,300})[`'"]\s+(?:not\s+found|does\s+not\s+exist)"""
    r"""|model\s+(?P<b>\S{1,300})\s+(?:not\s+found|does\s+not\s+exist)""",
    re.IGNORECASE,
)
_TAGS = re.compile(r"<[^<>]{0,2000}>")


def html_title(text: str) -> str:
    """The ``<title>`` of a page, found by plain search (linear in the page's size)."""
    lower = text.lower()
    start = lower.find("<title")
    if start < 0:
        return ""
    start = lower.find(">", start)
    end = lower.find("</title", start)
    return " ".join(text[start + 1 : end].split())[:200] if 0 <= start < end else ""


def server_words(body: bytes, content_type: str) -> tuple[str, bool]:
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
                    return " ".join(error_text(obj[key]).split())[:500], False
    if "html" in content_type.lower() or text[:15].lower().startswith(("<!doctype", "<html")):
        shown = html_title(text) or _TAGS.sub(" ", text[:4000])
        return " ".join(shown.split())[:200], True
    return " ".join(text[:2000].split())[:500], False


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: rare from model servers, not worth a parser
    return seconds if 0 <= seconds < 86400 * 7 else None


async def status_error(
    response: HTTPResponse, request: HTTPRequest, endpoint: Endpoint, action: Action,
    *, model: str | None = None,
) -> ProviderError:  # fmt: skip
    """The error for a response whose status is not 2xx (its body is read, then it is closed)."""
    try:
        body = (await response.read_all(_ERROR_BODY_LIMIT))[:_ERROR_BODY_LIMIT]
    except ProviderError:
        body = b""
    response.close()
    status = response.status
    words, html = server_words(body, response.headers.get("Content-Type", ""))
    words = request.redact(words)
    error: ProviderError
    if status == 404 and (found := _MODEL_404.search(words)):
        name = found.group("q") or found.group("b") or model or ""
        error = ModelNotFoundError(model=name, server_message=words, url=request.url)
    else:
        unsupported = "does not support" in words.lower()
        error = ResponseStatusError(
            reason=Reason.UNSUPPORTED if unsupported else Reason.STATUS,
            status=status,
            server_message=words,
            retry_after=_retry_after(response.headers.get("Retry-After")),
            html=html,
            location=request.redact(response.headers.get("Location", "")),
            url=request.url,
            method=request.method,
        )
    return endpoint.annotate(error, action)


def bad_answer(
    request: HTTPRequest, endpoint: Endpoint, action: Action, body: bytes, content_type: str,
    *, wanted: str = "JSON",
) -> BadResponseError:  # fmt: skip
    """The error for a 2xx answer that is not what was asked."""
    words, html = server_words(body, content_type)
    if html:
        error = BadResponseError(
            reason=Reason.HTML_PAGE, excerpt=request.redact(words), detail=wanted,
            content_type=content_type, url=request.url,
        )  # fmt: skip
    else:
        shown = request.redact(body[:200].decode("utf-8", "replace"))
        error = BadResponseError(
            reason=Reason.NOT_JSON, excerpt=shown, content_type=content_type, url=request.url
        )
    endpoint.annotate(error, action)
    return error


async def fetch_json(
    endpoint: Endpoint, method: str, path: str, timeout: Timeout, body: object = None,
    *, action: Action = Action.OTHER, model: str | None = None, limit: int = DEFAULT_MAX_LINE,
) -> Any:  # fmt: skip
    """One request with a JSON answer of at most ``limit`` bytes; HTTP errors become the
    library's errors. ``body``: an object to send as JSON, or JSON already encoded (bytes)."""
    payload = body if body is None or isinstance(body, bytes) else encode_body(body)
    request = endpoint.request(method, path, timeout, payload)
    response = await endpoint.send(request, action)
    if response.status >= 300:
        raise await status_error(response, request, endpoint, action, model=model)
    try:
        data = await response.read_all(limit)
    except ProviderError as error:
        response.close()
        endpoint.annotate(error, action)
        raise
    except BaseException:
        response.close()
        raise
    if len(data) > limit:
        response.close()  # not drained: a server sending without end would hold the call
        over = f"over {limit:,} bytes"
        raise endpoint.annotate(
            BadResponseError(reason=Reason.TOO_LARGE, detail=over, url=request.url), action
        )
    await response.finish()
    if not data.strip():
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        pass  # raised below, outside the handler: the decode error holds the whole body
    raise bad_answer(request, endpoint, action, data, response.headers.get("Content-Type", ""))


def wrong_shape(
    endpoint: Endpoint, path: str, action: Action, what: str, data: object
) -> ProviderError:
    """The error for JSON of another shape than ``what`` (a model list, a version…)."""
    excerpt = endpoint.redact(orjson.dumps(data)[:200].decode("utf-8", "replace"))
    error = BadResponseError(
        reason=Reason.WRONG_SHAPE, detail=f"did not answer with {what}", excerpt=excerpt,
        url=endpoint.base + path,
    )  # fmt: skip
    return endpoint.annotate(error, action)


async def ndjson_objects(
    endpoint: Endpoint, path: str, body: Mapping[str, Any], timeout: Timeout, action: Action
) -> AsyncGenerator[dict[str, Any], None]:
    """A streamed NDJSON answer (progress lines) as objects; an ``{"error": ...}`` line raises."""
    request = endpoint.request(
        "POST", path, timeout, encode_body(body), accept="application/x-ndjson"
    )
    response = await endpoint.send(request, action)
    complete = False
    failure: ProviderError | None = None
    try:
        if response.status >= 300:
            raise await status_error(response, request, endpoint, action, model=body.get("model"))
        decoder = NDJSONDecoder()
        while failure is None:
            data = await response.read_some()
            try:
                lines = decoder.feed(data) if data else decoder.close()
            except DecodeError as exc:
                failure = StreamInterruptedError(
                    reason=Reason.BAD_CHUNK, detail=request.redact(str(exc)), url=request.url
                )
                break
            for line in lines:
                obj, failure = _progress(line, request, response.status, body)
                if failure is not None:
                    break
                yield obj
            if not data:
                complete = failure is None
                break
    except ProviderError as error:
        endpoint.annotate(error, action)
        raise
    finally:
        if complete:
            await response.finish()
        else:
            response.close()
    if failure is not None:
        raise endpoint.annotate(failure, action)


def _progress(
    line: bytes, request: HTTPRequest, status: int, body: Mapping[str, Any]
) -> tuple[dict[str, Any], ProviderError | None]:
    """One progress line, or the error it reports (or is)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        obj = None
    if not isinstance(obj, dict):
        shown = request.redact(line[:200].decode("utf-8", "replace"))
        return {}, BadResponseError(
            reason=Reason.WRONG_SHAPE, detail="sent a progress line that is not a JSON object",
            excerpt=shown, url=request.url,
        )  # fmt: skip
    if obj.get("error") is None:
        return obj, None
    words = request.redact(error_text(obj["error"]))
    model = str(body.get("model") or body.get("source") or "")
    if _MODEL_404.search(words) or ("manifest" in words and "not exist" in words):
        return obj, ModelNotFoundError(
            model=model, server_message=words, status=None, url=request.url
        )
    return obj, ResponseStatusError(status=status, server_message=words, url=request.url)
