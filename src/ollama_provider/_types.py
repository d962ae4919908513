"""Typing aliases of the public API."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from ._events import Context, FinishReason, Logprobs, Reasoning, ToolCalls, Usage

if TYPE_CHECKING:
    from ._timeout import Timeout

__all__ = ["AsyncResult", "Messages", "RequestOptions", "StreamItem"]


class RequestOptions(TypedDict, total=False):
    """The keyword options every server call takes (``**options`` in the signatures).

    ``api_key``: sent as ``Authorization: Bearer …`` (never shown). ``timeout``:
    seconds, or a :class:`Timeout` per phase. ``headers``: more HTTP headers.
    ``proxy``: a proxy URL, or False for none (default: the environment's).
    ``verify``: TLS verification: True, False, or a CA bundle path.
    """

    api_key: str | None
    timeout: float | Timeout | None
    headers: Mapping[str, str] | None
    proxy: str | bool | None
    verify: bool | str


#: A conversation: ``[{"role": "user", "content": "Hi"}, ...]``.
Messages = Sequence[Mapping[str, Any]]
#: One item of a chat stream: text, or a typed event whose ``str()`` is "".
StreamItem = str | Reasoning | ToolCalls | Usage | FinishReason | Logprobs | Context
#: What ``create_async_generator`` returns: an async generator (so ``aclose()`` is typed too).
AsyncResult = AsyncGenerator[StreamItem, None]
