"""Objects shaped like openai-python's chat types, so code written for it ports by an import.

Attribute names match openai-python's (``choices[0].message.content``,
``choices[0].delta.content``, ``usage.prompt_tokens``, ...). They are plain
slotted dataclasses; ``model_dump()`` gives the dict form.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChunkChoice",
    "CompletionUsage",
    "Function",
    "Model",
    "ModelsPage",
]


class _Dump:
    __slots__ = ()

    def model_dump(self) -> dict[str, Any]:
        """The dict form, as openai-python's ``model_dump()``."""
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]


@dataclass(slots=True)
class Function(_Dump):
    name: str
    arguments: str


@dataclass(slots=True)
class ChatCompletionMessageToolCall(_Dump):
    id: str
    function: Function
    type: str = "function"


@dataclass(slots=True)
class ChatCompletionMessage(_Dump):
    content: str | None
    role: str = "assistant"
    reasoning: str | None = None
    tool_calls: list[ChatCompletionMessageToolCall] | None = None
    refusal: str | None = None
    parsed: Any = None

    @property
    def reasoning_content(self) -> str | None:
        """The name llama.cpp and vLLM use for ``reasoning``."""
        return self.reasoning


@dataclass(slots=True)
class CompletionUsage(_Dump):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(slots=True)
class Choice(_Dump):
    index: int
    message: ChatCompletionMessage
    finish_reason: str | None
    logprobs: Any = None


@dataclass(slots=True)
class ChatCompletion(_Dump):
    id: str
    choices: list[Choice]
    created: int
    model: str
    object: str = "chat.completion"
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None


@dataclass(slots=True)
class ChoiceDeltaToolCallFunction(_Dump):
    name: str | None = None
    arguments: str | None = None


@dataclass(slots=True)
class ChoiceDeltaToolCall(_Dump):
    index: int
    id: str | None = None
    function: ChoiceDeltaToolCallFunction | None = None
    type: str | None = "function"


@dataclass(slots=True)
class ChoiceDelta(_Dump):
    content: str | None = None
    role: str | None = None
    reasoning: str | None = None
    tool_calls: list[ChoiceDeltaToolCall] | None = None
    refusal: str | None = None

    @property
    def reasoning_content(self) -> str | None:
        return self.reasoning


@dataclass(slots=True)
class ChunkChoice(_Dump):
    index: int
    delta: ChoiceDelta
    finish_reason: str | None = None
    logprobs: Any = None


@dataclass(slots=True)
class ChatCompletionChunk(_Dump):
    id: str
    choices: list[ChunkChoice]
    created: int
    model: str
    object: str = "chat.completion.chunk"
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None


@dataclass(slots=True)
class Model(_Dump):
    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = ""


@dataclass(slots=True)
class ModelsPage(_Dump):
    """``client.models.list()``: iterate it, or read ``.data``."""

    data: list[Model] = field(default_factory=list)
    object: str = "list"

    def __iter__(self) -> Any:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)
