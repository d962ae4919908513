"""The fake Ollama's deterministic "model": what it answers, token by token.

Rules, applied to the conversation (first that fits wins):

1. last message has role ``tool``        -> ``The tool said: <content>``
2. last user message ``call: NAME {json}`` and a tool NAME was offered
                                          -> one tool call NAME(json args)
3. a JSON format / response_format        -> a JSON text valid for the schema
                                             (``{"answer": ...}`` for plain json mode)
4. images on the last user message        -> ``I see N image(s) of B bytes``
5. last user message ``say: <text>``      -> exactly ``<text>``
6. otherwise                              -> ``Hello! How can I help you today?``

Thinking models first think ``Let me think about that.`` unless thinking is off.
Tokens are words with their following whitespace. ``stop`` cuts the answer before
its first match (finish ``stop``); ``num_predict``/``max_tokens`` N keeps the first N
tokens, reasoning included, and finishes ``length`` when something was cut.
"""

from __future__ import annotations

import json
import random
import re
import string
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_ANSWER",
    "THINKING_TEXT",
    "Message",
    "Reply",
    "Step",
    "ToolCall",
    "Turn",
    "answer",
    "schema_instance",
    "tokenize",
]

DEFAULT_ANSWER = "Hello! How can I help you today?"
THINKING_TEXT = "Let me think about that."
_TOKEN_RE = re.compile(r"\s*\S+\s*|\s+")


def tokenize(text: str) -> list[str]:
    """Each word with its following whitespace (leading blanks stick to the first word)."""
    return _TOKEN_RE.findall(text)


@dataclass
class Message:
    role: str
    content: str = ""
    images: list[bytes] = field(default_factory=list)


@dataclass
class ToolCall:
    id: str
    index: int
    name: str
    arguments: dict[str, Any]


@dataclass
class Turn:
    """A chat request reduced to what the fake model looks at."""

    messages: list[Message]
    tool_names: list[str] = field(default_factory=list)
    format: Any = None  # None, "json" or a JSON schema dict
    think: bool = False
    num_predict: int | None = None
    stop: list[str] = field(default_factory=list)


@dataclass
class Step:
    """One streamed emission: a thinking piece, a content piece or the tool calls."""

    kind: str  # "thinking" | "content" | "tool_calls"
    text: str = ""
    calls: list[ToolCall] = field(default_factory=list)


@dataclass
class Reply:
    thinking: list[str]
    content: list[str]
    tool_calls: list[ToolCall]
    done_reason: str
    prompt_tokens: int

    @property
    def steps(self) -> list[Step]:
        out = [Step("thinking", t) for t in self.thinking]
        out += [Step("content", t) for t in self.content]
        if self.tool_calls:
            out.append(Step("tool_calls", calls=self.tool_calls))
        return out

    @property
    def completion_tokens(self) -> int:
        return len(self.thinking) + len(self.content) + len(self.tool_calls)

    @property
    def text(self) -> str:
        return "".join(self.content)

    @property
    def thinking_text(self) -> str:
        return "".join(self.thinking)


def tool_call_id(rng: random.Random) -> str:
    return "call_" + "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def _parse_call(text: str) -> tuple[str, dict[str, Any]] | None:
    if not text.startswith("call:"):
        return None
    name, _, rest = text[5:].strip().partition(" ")
    if not name:
        return None
    try:
        args = json.loads(rest) if rest.strip() else {}
    except json.JSONDecodeError:
        return None
    return (name, args) if isinstance(args, dict) else None


def _said(text: str) -> str | None:
    if not text.startswith("say:"):
        return None
    rest = text[4:]
    return rest[1:] if rest.startswith(" ") else rest


def _base_answer(user: Message | None) -> str:
    said = _said(user.content) if user else None
    return DEFAULT_ANSWER if said is None else said


def answer(turn: Turn, rng: random.Random) -> Reply:
    msgs = turn.messages
    last = msgs[-1] if msgs else None
    user = next((m for m in reversed(msgs) if m.role == "user"), None)
    prompt_tokens = sum(len(m.content.split()) for m in msgs) + 10
    calls: list[ToolCall] = []
    text = ""
    call = _parse_call(user.content) if user else None
    if last is not None and last.role == "tool":
        text = f"The tool said: {last.content}"
    elif call is not None and call[0] in turn.tool_names and last is user:
        calls = [ToolCall(tool_call_id(rng), 0, call[0], call[1])]
    elif turn.format is not None:
        if isinstance(turn.format, dict):
            value = schema_instance(turn.format)
        else:
            value = {"answer": _base_answer(user)}
        text = json.dumps(value, ensure_ascii=False)
    elif user is not None and user.images:
        total = sum(len(i) for i in user.images)
        text = f"I see {len(user.images)} image(s) of {total} bytes"
    else:
        text = _base_answer(user)

    done_reason = "stop"
    cuts = [text.find(s) for s in turn.stop if s and s in text]
    if cuts:
        text = text[: min(cuts)]
    thinking = tokenize(THINKING_TEXT) if turn.think else []
    content = tokenize(text)
    limit = turn.num_predict
    if limit is not None and limit > 0 and len(thinking) + len(content) + len(calls) > limit:
        done_reason = "length"
        thinking = thinking[:limit]
        content = content[: max(limit - len(thinking), 0)]
        calls = calls[: max(limit - len(thinking) - len(content), 0)]
    return Reply(thinking, content, calls, done_reason, prompt_tokens)


def schema_instance(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A minimal JSON value valid for ``schema``: required properties only, first enum."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 32:
        return {}
    if "$ref" in schema and isinstance(schema["$ref"], str):
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) and part else target
        return schema_instance(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return schema_instance(schema[key][0], root, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        props = schema.get("properties") or {}
        return {
            k: schema_instance(props.get(k, {"type": "string"}), root, depth + 1)
            for k in schema.get("required") or []
        }
    if kind == "array":
        n = int(schema.get("minItems") or 0)
        return [schema_instance(schema.get("items") or {}, root, depth + 1) for _ in range(n)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        value = 0
        if isinstance(low, int | float) and low >= 0:
            value = int(low) + (
                1 if "exclusiveMinimum" in schema and "minimum" not in schema else 0
            )
        elif isinstance(high, int | float) and high <= 0:
            value = int(high) - (
                1 if "exclusiveMaximum" in schema and "maximum" not in schema else 0
            )
        return value
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return "a" * int(schema.get("minLength") or 0)
