"""Typing aliases of the public API."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any

from ._events import Context, FinishReason, Logprobs, Reasoning, ToolCalls, Usage

__all__ = ["AsyncResult", "Messages", "StreamItem"]

#: A conversation: ``[{"role": "user", "content": "Hi"}, ...]``.
Messages = Sequence[Mapping[str, Any]]
#: One item of a chat stream: text, or a typed event whose ``str()`` is "".
StreamItem = str | Reasoning | ToolCalls | Usage | FinishReason | Logprobs | Context
#: What ``create_async_generator`` returns: an async generator (so ``aclose()`` is typed too).
AsyncResult = AsyncGenerator[StreamItem, None]
