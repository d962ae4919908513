"""Messages as each API wants them: checked, images turned into data URLs or base64.

Users write OpenAI-style messages. Images may be given as content parts
(``{"type": "image", "image": X}`` or ``{"type": "image_url", "image_url": {"url": X}}``)
or, as in ollama-python, as ``images=[X, ...]`` on the message, where X is a
path, bytes, base64 text or a data URL. On ``/v1`` they become data URLs; on
Ollama's native API, base64 strings in ``images``.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

__all__ = ["check_messages", "image_base64", "native_messages", "openai_messages"]

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"RIFF", "image/webp"),
    (b"BM", "image/bmp"),
)


def _mime(data: bytes) -> str:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return "application/octet-stream"


# What a message sends; other fields of a message object (parsed, refusal...) stay home.
_MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "tool_calls", "tool_call_id", "tool_name", "images", "thinking"}
)


def _as_mapping(message: object, i: int) -> Mapping[str, Any]:
    """A message as a mapping: dicts as they are; a response's message object (this
    library's, openai-python's, any pydantic model) through ``model_dump()``."""
    if isinstance(message, Mapping):
        return message
    dump = getattr(message, "model_dump", None) or getattr(message, "to_dict", None)
    if callable(dump):
        try:
            data = dump(exclude_none=True)
        except TypeError:
            data = dump()
        if isinstance(data, Mapping):
            return {k: v for k, v in data.items() if k in _MESSAGE_KEYS and v is not None}
    raise TypeError(
        f"messages[{i}] must be a dict (or a message object with model_dump()), "
        f"not {type(message).__name__}"
    )


def check_messages(messages: object) -> list[Mapping[str, Any]]:
    """A clear error for anything that is not a list of role-bearing messages."""
    if not isinstance(messages, (list, tuple)):
        raise TypeError(
            f"messages must be a list of dicts like {{'role': 'user', 'content': 'Hi'}}, "
            f"not {type(messages).__name__}"
        )
    if not messages:
        raise ValueError("messages is empty: pass at least one message")
    checked = []
    for i, item in enumerate(messages):
        message = _as_mapping(item, i)
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise ValueError(f"messages[{i}] has no 'role' (system, user, assistant or tool)")
        checked.append(message)
    return checked


def _image_bytes(value: object, where: str) -> tuple[bytes | None, str | None]:
    """(raw bytes, None) for local data, (None, url) for a remote http(s) URL."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), None
    if isinstance(value, Path):
        return value.read_bytes(), None
    if not isinstance(value, str):
        raise TypeError(f"{where}: an image must be a path, bytes, base64 text or a URL")
    if value.startswith("data:"):
        _, _, encoded = value.partition(",")
        value = encoded
    elif value.startswith(("http://", "https://")):
        return None, value
    elif len(value) < 4096 and os.path.isfile(value):
        return Path(value).read_bytes(), None
    try:
        return base64.b64decode(value, validate=True), None
    except (binascii.Error, ValueError):
        raise ValueError(
            f"{where}: the image is neither an existing file, a URL, nor valid base64 "
            f"(starts {value[:40]!r})"
        ) from None


def _image_value(part: Mapping[str, Any]) -> object:
    if part.get("type") == "image_url":
        url = part.get("image_url")
        return url.get("url") if isinstance(url, Mapping) else url
    return part.get("image")


def _parts(message: Mapping[str, Any]) -> list[Any] | None:
    content = message.get("content")
    return content if isinstance(content, list) else None


def _needs_work(message: Mapping[str, Any]) -> bool:
    return "images" in message or isinstance(message.get("content"), list)


def openai_messages(messages: list[Mapping[str, Any]]) -> list[Any]:
    """Messages for ``/v1``: images become ``image_url`` parts with data URLs."""
    if not any(_needs_work(m) for m in messages):
        return messages
    out: list[Any] = []
    for i, message in enumerate(messages):
        if not _needs_work(message):
            out.append(message)
            continue
        converted = {k: v for k, v in message.items() if k != "images"}
        parts = _parts(message)
        if parts is None:
            text = message.get("content")
            parts = [{"type": "text", "text": text}] if text else []
        new_parts: list[Any] = []
        for part in parts:
            if isinstance(part, Mapping) and part.get("type") in ("image", "image_url"):
                new_parts.append(_data_url_part(_image_value(part), f"messages[{i}]"))
            else:
                new_parts.append(part)
        for image in message.get("images") or ():
            new_parts.append(_data_url_part(image, f"messages[{i}].images"))
        converted["content"] = new_parts
        out.append(converted)
    return out


def _data_url_part(value: object, where: str) -> dict[str, Any]:
    data, url = _image_bytes(value, where)
    if url is None:
        assert data is not None
        url = f"data:{_mime(data)};base64,{base64.b64encode(data).decode()}"
    return {"type": "image_url", "image_url": {"url": url}}


def _arguments_object(arguments: object) -> object:
    if isinstance(arguments, str):
        try:
            return orjson.loads(arguments) if arguments.strip() else {}
        except orjson.JSONDecodeError:
            return arguments
    return arguments


def native_messages(messages: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages for Ollama's ``/api/chat``: text content, base64 ``images``, object arguments."""
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id -> function name, for tool results
    for i, message in enumerate(messages):
        converted = {k: v for k, v in message.items() if k not in ("content", "images")}
        images: list[str] = []
        parts = _parts(message)
        if parts is None:
            converted["content"] = message.get("content") or ""
        else:
            texts = []
            for part in parts:
                if isinstance(part, str):
                    texts.append(part)
                elif isinstance(part, Mapping) and part.get("type") in ("image", "image_url"):
                    images.append(image_base64(_image_value(part), f"messages[{i}]"))
                elif isinstance(part, Mapping):
                    texts.append(str(part.get("text", "")))
            converted["content"] = "\n".join(t for t in texts if t)
        for image in message.get("images") or ():
            images.append(image_base64(image, f"messages[{i}].images"))
        if images:
            converted["images"] = images
        calls = message.get("tool_calls")
        if calls:
            native_calls = []
            for call in calls:
                fn = call.get("function", {})
                if call.get("id"):
                    names[call["id"]] = fn.get("name", "")
                native_calls.append(
                    {
                        "function": {
                            "name": fn.get("name", ""),
                            "arguments": _arguments_object(fn.get("arguments")),
                        }
                    }
                )
            converted["tool_calls"] = native_calls
        if message.get("role") == "tool" and "tool_name" not in converted:
            name = names.get(str(message.get("tool_call_id", "")))
            if name:
                converted["tool_name"] = name
        out.append(converted)
    return out


def image_base64(value: object, where: str) -> str:
    data, url = _image_bytes(value, where)
    if data is None:
        raise ValueError(
            f"{where}: Ollama's native API takes image bytes, not a URL ({url}); "
            "download the image and pass its path or bytes"
        )
    return base64.b64encode(data).decode()
