"""Objects shaped like openai-python's, so code written for it ports by an import.

Attribute names match openai-python's (``choices[0].message.content``,
``choices[0].delta.content``, ``usage.prompt_tokens``, ``data[0].embedding``...).
They are plain slotted dataclasses with openai-python's dump methods
(``model_dump()``, ``model_dump_json()``, ``to_dict()``, ``to_json()``), and a
``ChatCompletionMessage`` can go back into ``messages`` as it is.
"""

from __future__ import annotations

import dataclasses
import json
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
    "Completion",
    "CompletionChoice",
    "CompletionUsage",
    "CreateEmbeddingResponse",
    "Embedding",
    "EmbeddingUsage",
    "Function",
    "Model",
    "ModelsPage",
]


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


class _Dump:
    __slots__ = ()

    def model_dump(self, *, exclude_none: bool = False, **_: Any) -> dict[str, Any]:
        """The dict form, as openai-python's (and pydantic's) ``model_dump()``."""
        data: dict[str, Any] = dataclasses.asdict(self)  # type: ignore[call-overload]
        return _drop_none(data) if exclude_none else data

    def model_dump_json(
        self, *, exclude_none: bool = False, indent: int | None = None, **_: Any
    ) -> str:
        return json.dumps(
            self.model_dump(exclude_none=exclude_none),
            indent=indent,
            ensure_ascii=False,
            default=str,
        )

    def to_dict(self) -> dict[str, Any]:
        """openai-python's ``to_dict()``: the dict form without unset (None) fields."""
        return self.model_dump(exclude_none=True)

    def to_json(self, *, indent: int | None = 2) -> str:
        return self.model_dump_json(exclude_none=True, indent=indent)


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


@dataclass(slots=True)
class Embedding(_Dump):
    embedding: list[float]
    index: int
    object: str = "embedding"


@dataclass(slots=True)
class EmbeddingUsage(_Dump):
    prompt_tokens: int
    total_tokens: int


@dataclass(slots=True)
class CreateEmbeddingResponse(_Dump):
    """``client.embeddings.create()``: ``data[i].embedding`` for each input, in order."""

    data: list[Embedding]
    model: str
    usage: EmbeddingUsage
    object: str = "list"


@dataclass(slots=True)
class CompletionChoice(_Dump):
    index: int
    text: str
    finish_reason: str | None = None
    logprobs: Any = None


@dataclass(slots=True)
class Completion(_Dump):
    """``client.completions.create()`` (and each chunk of its stream)."""

    id: str
    choices: list[CompletionChoice]
    created: int
    model: str
    object: str = "text_completion"
    system_fingerprint: str | None = None
    usage: CompletionUsage | None = None
