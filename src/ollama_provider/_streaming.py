"""The chat stream driver: one request, then bytes → assembler → items, yielded as they arrive.

Data flows one way. A :class:`ChatCall` holds everything resolved when the call
was made (endpoint, path, body already checked as JSON, timeouts); the driver
asks the server, and, when no model was named, the model catalogue below it.
It never calls back into a provider.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from typing import Any

import orjson

from . import _catalog, _pool
from ._assemble import ChatAssembler, ServerStreamError, UnexpectedAnswerError
from ._decode import DEFAULT_MAX_LINE, DecodeError, LineTooLongError
from ._endpoint import Endpoint
from ._errors import (
    Action,
    BadResponseError,
    ModelNotFoundError,
    ProviderError,
    ProviderTimeoutError,
    Reason,
    StreamInterruptedError,
)
from ._events import Usage
from ._requests import bad_answer, status_error
from ._timeout import Timeout
from ._transport import HTTPRequest, HTTPResponse

__all__ = ["FINISHED_GRACE", "ChatCall", "chat_items"]

logger = logging.getLogger("ollama_provider")
# Ollama cuts a prompt to the context window without a word; the count it reports is then
# the window itself. Default windows are powers of two: only those counts are checked.
_WINDOWS = frozenset(1 << n for n in range(10, 21))

#: Once the answer has finished, how long to wait for the usage chunk or ``[DONE]``.
FINISHED_GRACE = 5.0


@dataclass(slots=True)
class ChatCall:
    """Everything a chat request needs, built (and checked) before the first ``await``."""

    endpoints: tuple[Endpoint, ...]  # one server, or several to route between
    kind: _catalog.ServerKind
    path: str
    body: dict[str, Any]
    payload: bytes  # the body as JSON, made when the call was made: bad text fails there
    timeout: Timeout
    native: bool = False
    stream: bool = True
    max_line: int = DEFAULT_MAX_LINE
    action: Action = Action.CHAT


def _failure(exc: DecodeError, request: HTTPRequest, partial: str) -> ProviderError:
    redact = request.redact
    if isinstance(exc, ServerStreamError):
        words = redact(exc.server_message)
        return StreamInterruptedError(
            reason=Reason.SERVER_ERROR, server_message=words, partial=partial, url=request.url
        )
    if isinstance(exc, UnexpectedAnswerError):
        return BadResponseError(
            reason=Reason.WRONG_SHAPE, detail="answered with JSON that is not a chat completion",
            excerpt=redact(exc.words or exc.excerpt), url=request.url,
        )  # fmt: skip
    reason = Reason.LINE_TOO_LONG if isinstance(exc, LineTooLongError) else Reason.BAD_CHUNK
    return StreamInterruptedError(
        reason=reason, detail=redact(str(exc)), partial=partial, url=request.url
    )


def _is_stream(content_type: str) -> bool:
    kind = content_type.partition(";")[0].strip().lower()
    return kind in ("text/event-stream", "application/x-ndjson", "") or "stream" in kind


async def _open(call: ChatCall) -> tuple[Endpoint, HTTPRequest, HTTPResponse]:
    """Send the request to the first server that answers (several servers: see ``_pool``).

    The chosen server counts one more request in flight until the caller ends it.
    """
    wanted = str(call.body.get("model") or "")
    model, order = await _pool.choose(call.endpoints, call.kind, wanted, call.timeout, call.action)
    multi = len(call.endpoints) > 1
    if model != wanted:
        call.body["model"] = model
        call.payload = orjson.dumps(call.body)
    if call.stream:
        accept = "application/x-ndjson" if call.native else "text/event-stream"
    else:
        accept = "application/json"
    errors: list[ProviderError] = []
    for endpoint in order:
        request = endpoint.request("POST", call.path, call.timeout, call.payload, accept=accept)
        if multi:
            logger.debug("%s %r → %s", call.action.value, model, endpoint.base)
        _pool.begin(endpoint)
        try:
            response = await endpoint.send(request, call.action)
        except ProviderError as unreachable:
            _pool.end(endpoint)
            if not _pool.try_next(endpoint, unreachable, call.kind, multi):
                raise
            errors.append(unreachable)
            continue
        except BaseException:
            _pool.end(endpoint)
            raise
        if response.status < 300:
            _pool.succeeded(endpoint)
            return endpoint, request, response
        _pool.end(endpoint)
        error = await status_error(response, request, endpoint, call.action, model=model)
        if not _pool.try_next(endpoint, error, call.kind, multi):
            if isinstance(error, ModelNotFoundError):
                raise await _catalog.with_installed(error, endpoint, call.kind)
            raise error
        errors.append(error)
    raise _pool.all_failed(errors, order, call.action)


async def chat_items(call: ChatCall) -> AsyncGenerator[Any, None]:
    """The stream driver: request, then bytes → assembler → items, yielded as they arrive."""
    endpoint, request, response = await _open(call)
    assembler = ChatAssembler(native=call.native, max_line=call.max_line)
    complete = False
    failure: ProviderError | None = None
    try:
        content_type = response.headers.get("Content-Type", "")
        if call.stream and _is_stream(content_type):
            read, feed = response.read_some, assembler.feed
            waiting_for_end = False
            try:
                while data := await read():
                    for item in feed(data):
                        if item.__class__ is Usage and call.kind is _catalog.ServerKind.OLLAMA:
                            yield await _truncation(item, call, endpoint)
                        else:
                            yield item
                    if assembler.exhausted:
                        break
                    if assembler.complete and not waiting_for_end:
                        waiting_for_end = True  # only the usage chunk or [DONE] may follow
                        response.shorten_wait(FINISHED_GRACE)
                else:
                    for item in assembler.close():
                        yield item
            except DecodeError as exc:
                failure = _failure(exc, request, assembler.partial)
                for item in exc.items:
                    yield item
            except ProviderTimeoutError as exc:
                if not assembler.complete:
                    raise
                exc.partial = ""  # a finished answer whose end never came: it has succeeded
            if failure is None and not assembler.complete:
                failure = StreamInterruptedError(
                    reason=Reason.ENDED_EARLY, partial=assembler.partial, url=request.url
                )
            complete = failure is None
        else:
            data = await response.read_all(call.max_line)
            if len(data) > call.max_line:
                failure = _failure(
                    LineTooLongError(f"the answer is larger than {call.max_line:,} bytes"),
                    request, "",
                )  # fmt: skip
            elif "json" not in content_type.lower() and data[:1] not in (b"{", b"["):
                failure = bad_answer(
                    request, endpoint, call.action, data, content_type,
                    wanted="a stream" if call.stream else "JSON",
                )  # fmt: skip
            else:
                items, failure = _whole(data, assembler, request, endpoint, call)
                if failure is None:
                    complete = True
                    for item in items:
                        if item.__class__ is Usage and call.kind is _catalog.ServerKind.OLLAMA:
                            yield await _truncation(item, call, endpoint)
                        else:
                            yield item
    except (ProviderTimeoutError, StreamInterruptedError) as exc:
        if not exc.partial and not assembler.complete:
            exc.partial = assembler.partial
        endpoint.annotate(exc, call.action)
        raise
    finally:
        _pool.end(endpoint)
        if complete:
            await response.finish()
        else:
            response.close()
    if failure is not None:
        raise endpoint.annotate(failure, call.action)


def _whole(
    data: bytes, assembler: ChatAssembler, request: HTTPRequest, endpoint: Endpoint, call: ChatCall
) -> tuple[list[Any], ProviderError | None]:
    """A whole answer's items, or why it cannot be read."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        obj = None
        error: ProviderError | None = bad_answer(
            request, endpoint, call.action, data, "application/json"
        )
    else:
        error = None
    if error is not None:
        return [], error
    try:
        return assembler.whole(obj), None
    except DecodeError as exc:
        failure = exc
    return [], _failure(failure, request, "")


async def _truncation(usage: Usage, call: ChatCall, endpoint: Endpoint) -> Usage:
    """Usage with ``truncated`` set when the prompt filled the whole context window."""
    options = call.body.get("options")
    window = options.get("num_ctx") if isinstance(options, dict) else None
    tokens = usage.prompt_tokens
    if not isinstance(window, int) and tokens in _WINDOWS:
        window = await _catalog.loaded_context(endpoint, str(call.body.get("model", "")))
    if not isinstance(window, int) or tokens < window:
        return usage
    from ._wording import truncation_warning

    logger.warning("%s", truncation_warning(str(call.body.get("model", "")), window))
    return replace(usage, truncated=True)
