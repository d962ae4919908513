"""Stream items to openai-python's shapes: chunks, a merged completion, a parsed answer. Pure."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from typing import Any

from ._completion_types import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageToolCall,
    Choice,
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
    ChunkChoice,
    Completion,
    CompletionChoice,
    CompletionUsage,
    Function,
)
from ._errors import BadResponseError, Reason
from ._events import FinishReason, Logprobs, Reasoning, ToolCalls, Usage

__all__ = ["chunk_of", "completion_chunks", "merge_chat", "merge_completion", "new_id", "parse"]


def new_id(prefix: str = "chatcmpl-") -> str:
    return prefix + os.urandom(12).hex()


def _usage(item: Usage) -> CompletionUsage:
    return CompletionUsage(item.prompt_tokens, item.completion_tokens, item.total_tokens)


def _logprobs(item: Logprobs) -> dict[str, Any]:
    """OpenAI's ``choice.logprobs``: ``{"content": [{token, logprob, bytes, top_logprobs}]}``."""

    def one(t: Any) -> dict[str, Any]:
        return {
            "token": t.token,
            "logprob": t.logprob,
            "bytes": list(t.bytes) if t.bytes is not None else None,
            "top_logprobs": [one(x) for x in t.top_logprobs],
        }

    return {"content": [one(t) for t in item.tokens]}


def chunk_of(
    item: Any, id_: str, created: int, model: str, first: bool
) -> ChatCompletionChunk | None:
    """One stream item as a chunk (None for items a chat chunk has no place for)."""
    role = "assistant" if first else None
    if isinstance(item, str):
        delta = ChoiceDelta(content=item, role=role)
    elif isinstance(item, Reasoning):
        delta = ChoiceDelta(reasoning=item.text, role=role)
    elif isinstance(item, ToolCalls):
        calls = [
            ChoiceDeltaToolCall(
                i,
                c["id"],
                ChoiceDeltaToolCallFunction(c["function"]["name"], c["function"]["arguments"]),
                c.get("type", "function"),
            )
            for i, c in enumerate(item.calls)
        ]
        delta = ChoiceDelta(role=role, tool_calls=calls)
    elif isinstance(item, FinishReason):
        choice = ChunkChoice(0, ChoiceDelta(role=role), item.reason)
        return ChatCompletionChunk(id_, [choice], created, model)
    elif isinstance(item, Usage):
        return ChatCompletionChunk(id_, [], created, model, usage=_usage(item))
    elif isinstance(item, Logprobs):
        choice = ChunkChoice(0, ChoiceDelta(role=role), logprobs=_logprobs(item))
        return ChatCompletionChunk(id_, [choice], created, model)
    else:
        return None  # /api/generate's Context has no place in a chat chunk
    return ChatCompletionChunk(id_, [ChunkChoice(0, delta)], created, model)


def parse(content: str | None, response_format: Any, finish: str | None) -> Any:
    """The structured answer: a pydantic instance for a model class, a dict for a schema."""
    if content is None or response_format is None:
        return None
    wants_model = isinstance(response_format, type) and hasattr(response_format, "model_validate")
    is_schema = isinstance(response_format, dict) and response_format.get("type") != "text"
    if not (wants_model or is_schema):
        return None
    import orjson

    try:
        if wants_model:
            return response_format.model_validate_json(content)
        return orjson.loads(content)
    except (orjson.JSONDecodeError, ValueError) as exc:
        why = " ".join(str(exc).split())[:300]
    reason = Reason.CUT_BY_LIMIT if finish == "length" else Reason.WRONG_SHAPE
    raise BadResponseError(
        reason=reason, detail="answered with text that does not match the requested "
        "response_format", excerpt=why,
    )  # fmt: skip


async def merge_chat(items: AsyncIterator[Any], model: str, response_format: Any) -> ChatCompletion:
    texts: list[str] = []
    thoughts: list[str] = []
    calls: list[ChatCompletionMessageToolCall] = []
    logprobs: list[Any] = []
    finish: str | None = None
    usage: CompletionUsage | None = None
    async for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, Reasoning):
            thoughts.append(item.text)
        elif isinstance(item, ToolCalls):
            calls += [
                ChatCompletionMessageToolCall(
                    c["id"], Function(c["function"]["name"], c["function"]["arguments"])
                )
                for c in item.calls
            ]
        elif isinstance(item, FinishReason):
            finish = item.reason
        elif isinstance(item, Usage):
            usage = _usage(item)
        elif isinstance(item, Logprobs):
            logprobs += _logprobs(item)["content"]
    content = "".join(texts) if texts or not calls else None
    message = ChatCompletionMessage(
        content,
        reasoning="".join(thoughts) or None,
        tool_calls=calls or None,
        parsed=parse(content, response_format, finish),
    )
    choice = Choice(0, message, finish, {"content": logprobs} if logprobs else None)
    return ChatCompletion(new_id(), [choice], int(time.time()), model, usage=usage)


async def completion_chunks(items: AsyncIterator[Any], model: str) -> AsyncIterator[Completion]:
    id_, created = new_id("cmpl-"), int(time.time())
    async for item in items:
        if isinstance(item, str):
            yield Completion(id_, [CompletionChoice(0, item)], created, model)
        elif isinstance(item, FinishReason):
            yield Completion(id_, [CompletionChoice(0, "", item.reason)], created, model)
        elif isinstance(item, Usage):
            yield Completion(id_, [], created, model, usage=_usage(item))


async def merge_completion(items: AsyncIterator[Any], model: str) -> Completion:
    texts: list[str] = []
    finish: str | None = None
    usage: CompletionUsage | None = None
    async for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, FinishReason):
            finish = item.reason
        elif isinstance(item, Usage):
            usage = _usage(item)
    choice = CompletionChoice(0, "".join(texts), finish)
    return Completion(new_id("cmpl-"), [choice], int(time.time()), model, usage=usage)
