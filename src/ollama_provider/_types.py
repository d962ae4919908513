"""Typing aliases of the public API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ._events import FinishReason, Reasoning, ToolCalls, Usage

__all__ = ["AsyncResult", "Messages", "StreamItem"]

#: A conversation: ``[{"role": "user", "content": "Hi"}, ...]``.
Messages = Sequence[Mapping[str, Any]]
#: One item of a chat stream: text, or a typed event whose ``str()`` is "".
StreamItem = str | Reasoning | ToolCalls | Usage | FinishReason
#: What ``create_async_generator`` returns.
AsyncResult = AsyncIterator[StreamItem]
