"""Typing aliases of the public API."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from ._events import Context, FinishReason, Logprobs, Reasoning, ToolCalls, Usage

if TYPE_CHECKING:
    from ._timeout import Timeout

__all__ = [
    "AsyncResult",
    "ChatParams",
    "Messages",
    "OllamaChatParams",
    "RequestOptions",
    "StreamItem",
]


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


class ChatParams(TypedDict, total=False):
    """A chat's keyword parameters (``**params``): sent in the body, or how to connect.

    In the OpenAI body: ``temperature``, ``top_p``, ``max_tokens`` (or
    ``max_completion_tokens``), ``stop``, ``seed``, ``response_format`` (a dict,
    a JSON schema or a pydantic model class), ``tools`` (schemas or Python
    functions), ``tool_choice``, ``parallel_tool_calls``, ``reasoning_effort``
    (or ``reasoning``), ``frequency_penalty``, ``presence_penalty``,
    ``logprobs``/``top_logprobs``, ``logit_bias``, ``user``. How to connect:
    ``headers``, ``extra_body`` (merged into the body), ``proxy``, ``verify``,
    ``max_line_size`` (bytes a streamed line may hold; 16 MiB).
    """

    temperature: float
    top_p: float
    max_tokens: int
    max_completion_tokens: int
    stop: str | list[str]
    seed: int
    response_format: Any
    tools: list[Any]
    tool_choice: Any
    parallel_tool_calls: bool
    reasoning_effort: str
    reasoning: Mapping[str, Any]
    frequency_penalty: float
    presence_penalty: float
    logprobs: bool
    top_logprobs: int
    logit_bias: Mapping[str, float]
    user: str
    headers: Mapping[str, str]
    extra_body: Mapping[str, Any]
    proxy: str | bool | None
    verify: bool | str
    max_line_size: int


class OllamaChatParams(ChatParams, total=False):
    """:class:`ChatParams` plus Ollama's own, which send the call to its native API:
    ``keep_alive`` ("10m", seconds, 0 to unload), ``options`` (``{"num_ctx": 8192}``…),
    ``think`` (True, False, "low", "medium", "high"), ``format`` ("json", a JSON
    schema or a pydantic model class)."""

    keep_alive: str | float
    options: Mapping[str, Any]
    think: bool | str
    format: Any
