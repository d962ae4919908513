"""Stream events: everything a chat stream yields besides text.

Text arrives as plain ``str``. The other items are small frozen objects whose
``str()`` is ``""``, so ``"".join(map(str, items))`` is exactly the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Context",
    "FinishReason",
    "Logprobs",
    "Reasoning",
    "StreamEvent",
    "TokenLogprob",
    "ToolCalls",
    "Usage",
]


class StreamEvent:
    """Base of the non-text stream items; renders as the empty string."""

    __slots__ = ()

    def __str__(self) -> str:
        return ""


@dataclass(frozen=True, slots=True)
class Reasoning(StreamEvent):
    """A piece of the model's thinking (``delta.reasoning`` / ``message.thinking``)."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCalls(StreamEvent):
    """Complete tool calls in OpenAI's shape.

    Each call is ``{"id", "type": "function", "function": {"name", "arguments"}}``
    with ``arguments`` a JSON string, whatever shape the server streamed.
    """

    calls: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Usage(StreamEvent):
    """Token counts reported by the server at the end of a stream.

    ``truncated`` is true when the prompt filled the whole context window, so
    the server cut it (Ollama does so silently; a warning is logged too). The
    durations, in seconds, are there when the server reports them (Ollama's
    native API); they are not compared, so equal counts make equal usages.
    """

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    truncated: bool = False
    load_duration: float | None = field(default=None, compare=False)
    prompt_eval_duration: float | None = field(default=None, compare=False)
    eval_duration: float | None = field(default=None, compare=False)
    total_duration: float | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One token's log probability, and the likeliest alternatives when asked for."""

    token: str
    logprob: float
    bytes: tuple[int, ...] | None = None
    top_logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class Logprobs(StreamEvent):
    """Log probabilities of the tokens of the text just before it (``logprobs=True``)."""

    tokens: tuple[TokenLogprob, ...]


@dataclass(frozen=True, slots=True)
class Context(StreamEvent):
    """``/api/generate``'s conversation state: pass it as ``context=`` to continue."""

    tokens: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class FinishReason(StreamEvent):
    """Why generation ended: ``stop``, ``length``, ``tool_calls`` or another server word."""

    reason: str
