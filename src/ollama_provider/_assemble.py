"""Chat-event assembly: decoded JSON documents in, stream items out. Pure, no I/O.

One :class:`ChatStream` per response. It turns OpenAI ``chat.completion.chunk``
objects (every Ollama release's shape, llama.cpp, vLLM), Ollama's native
``/api/chat`` lines and whole non-streaming responses into the same items:
``str`` text, :class:`Reasoning`, :class:`ToolCalls`, :class:`FinishReason`,
:class:`Usage`.

Tool calls arrive whole (Ollama) or as fragments keyed by ``index`` (llama.cpp,
vLLM); both are merged here and yielded once, complete, just before the finish.
"""

from __future__ import annotations

import os
from typing import Any

import orjson

from ._decode import DEFAULT_MAX_LINE, DecodeError, NDJSONDecoder, SSEDecoder
from ._events import FinishReason, Reasoning, ToolCalls, Usage

__all__ = ["ChatStream", "ServerStreamError", "completion_items", "error_text"]

Item = Any  # str | Reasoning | ToolCalls | Usage | FinishReason
_loads = orjson.loads
_dumps = orjson.dumps


class ServerStreamError(DecodeError):
    """The server put an error object into the stream; ``server_message`` has its words."""

    def __init__(self, server_message: str, items: list[object] | None = None) -> None:
        super().__init__(f"the server reported an error mid-stream: {server_message}", items)
        self.server_message = server_message


def error_text(error: object) -> str:
    """The human words inside ``{"error": ...}`` in any of the shapes servers use."""
    if isinstance(error, dict):
        message = error.get("message")
        if message is None:
            message = error.get("error", error)
        return str(message)
    return str(error)


def _arguments(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return _dumps(value).decode()


class _ToolCallMerger:
    """Merges whole calls and ``index``-keyed fragments into complete OpenAI-shaped calls."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}

    def add(self, fragments: list[Any]) -> None:
        calls = self._calls
        for frag in fragments:
            if not isinstance(frag, dict):
                continue
            fn = frag.get("function")
            fn = fn if isinstance(fn, dict) else {}
            index = frag.get("index", fn.get("index"))
            name = fn.get("name") or ""
            if not isinstance(index, int):
                starts_new = bool(frag.get("id") or name) or not calls
                index = max(calls, default=-1) + (1 if starts_new else 0)
            call = calls.get(index)
            if call is None:
                calls[index] = {
                    "id": frag.get("id") or "",
                    "type": frag.get("type") or "function",
                    "function": {"name": name, "arguments": _arguments(fn.get("arguments"))},
                }
                continue
            if frag.get("id") and not call["id"]:
                call["id"] = frag["id"]
            merged = call["function"]
            if name and name != merged["name"]:
                merged["name"] += name
            merged["arguments"] += _arguments(fn.get("arguments"))

    def flush(self) -> ToolCalls | None:
        if not self._calls:
            return None
        calls = [self._calls[i] for i in sorted(self._calls)]
        self._calls = {}
        for call in calls:
            if not call["id"]:
                call["id"] = "call_" + os.urandom(4).hex()
        return ToolCalls(calls)


class ChatStream:
    """Assembles one chat response; ``feed(bytes) -> list[item]`` then ``close()``.

    ``finished`` turns true at a finish reason, ``[DONE]`` or a native ``done``
    line; ``text`` is every text piece so far (for an interruption's ``partial``).
    Errors are :class:`DecodeError` subclasses whose ``items`` hold the items
    decoded before the fault, so nothing already received is lost.
    """

    __slots__ = ("_frames", "_native", "_tools", "done", "finished", "text", "tool_calls_seen")

    def __init__(self, *, native: bool = False, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._native = native
        self._frames: SSEDecoder | NDJSONDecoder = (
            NDJSONDecoder(max_line) if native else SSEDecoder(max_line)
        )
        self._tools = _ToolCallMerger()
        self.finished = False  # a finish reason, [DONE] or a native done line arrived
        self.done = False  # [DONE] or the native done line: nothing more is to come
        self.tool_calls_seen = False
        self.text: list[str] = []

    def feed(self, data: bytes) -> list[Item]:
        out: list[Item] = []
        try:
            payloads = self._frames.feed(data)
        except DecodeError as exc:
            self._payloads(exc.items, out)  # type: ignore[arg-type]
            exc.items = out
            raise
        self._payloads(payloads, out)
        return out

    def close(self) -> list[Item]:
        out: list[Item] = []
        self._payloads(self._frames.close(), out)
        if not self.finished:
            self._flush_tools(out)  # whatever merged so far is still the server's words
        return out

    def _payloads(self, payloads: list[bytes], out: list[Item]) -> None:
        handle = self._native_line if self._native else self._chunk
        for payload in payloads:
            if payload == b"[DONE]":
                self._flush_tools(out)
                self.finished = self.done = True
                continue
            try:
                obj = _loads(payload)
            except orjson.JSONDecodeError:
                shown = payload[:200].decode("utf-8", "replace")
                more = "…" if len(payload) > 200 else ""
                raise DecodeError(
                    f"the server sent a line that is not JSON: {shown!r}{more}", out
                ) from None
            if not isinstance(obj, dict):
                raise DecodeError(f"the server sent JSON that is not an object: {obj!r:.200}", out)
            if "error" in obj and obj["error"] is not None:
                raise ServerStreamError(error_text(obj["error"]), out)
            try:
                handle(obj, out)
            except (AttributeError, TypeError, KeyError, IndexError):
                raise DecodeError(
                    f"the server sent a chunk of an unexpected shape: {payload[:200]!r}", out
                ) from None

    def _flush_tools(self, out: list[Item]) -> None:
        calls = self._tools.flush()
        if calls is not None:
            out.append(calls)

    def _chunk(self, obj: dict[str, Any], out: list[Item]) -> None:
        """One OpenAI ``chat.completion.chunk``."""
        choices = obj.get("choices")
        if choices:
            choice = choices[0]
            delta = choice.get("delta")
            if delta:
                reasoning = delta.get("reasoning") or delta.get("reasoning_content")
                if reasoning:
                    out.append(Reasoning(reasoning))
                content = delta.get("content")
                if content:
                    out.append(content)
                    self.text.append(content)
                calls = delta.get("tool_calls")
                if calls:
                    self.tool_calls_seen = True
                    self._tools.add(calls)
            reason = choice.get("finish_reason")
            if reason:
                self._flush_tools(out)
                out.append(FinishReason(reason))
                self.finished = True
        usage = obj.get("usage")
        if usage:
            out.append(_usage(usage))

    def _native_line(self, obj: dict[str, Any], out: list[Item]) -> None:
        """One line of Ollama's native ``/api/chat`` stream."""
        message = obj.get("message")
        if message:
            thinking = message.get("thinking")
            if thinking:
                out.append(Reasoning(thinking))
            content = message.get("content")
            if content:
                out.append(content)
                self.text.append(content)
            calls = message.get("tool_calls")
            if calls:
                self.tool_calls_seen = True
                self._tools.add(calls)
        if obj.get("done"):
            self._flush_tools(out)
            reason = obj.get("done_reason") or "stop"
            if reason == "stop" and self.tool_calls_seen:
                reason = "tool_calls"  # what Ollama's /v1 layer reports for the same answer
            out.append(FinishReason(reason))
            prompt = obj.get("prompt_eval_count") or 0
            completion = obj.get("eval_count") or 0
            out.append(Usage(prompt, completion, prompt + completion))
            self.finished = self.done = True


def _usage(usage: dict[str, Any]) -> Usage:
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    total = usage.get("total_tokens")
    return Usage(prompt, completion, total if total is not None else prompt + completion)


def completion_items(obj: object) -> list[Item]:
    """The items of a whole (non-streaming) response: OpenAI ``chat.completion`` or native."""
    try:
        return _completion_items(obj)
    except (AttributeError, TypeError, KeyError, IndexError):
        raise DecodeError(
            f"the server sent an answer of an unexpected shape: {obj!r:.200}"
        ) from None


def _completion_items(obj: object) -> list[Item]:
    if not isinstance(obj, dict):
        raise DecodeError(f"the server sent JSON that is not an object: {obj!r:.200}")
    if obj.get("error") is not None:
        raise ServerStreamError(error_text(obj["error"]))
    out: list[Item] = []
    if "choices" not in obj and "message" in obj:  # native /api/chat with stream false
        ChatStream(native=True)._native_line(obj, out)
        return out
    choices = obj.get("choices") or []
    if choices:
        choice = choices[0]
        message = choice.get("message") or {}
        reasoning = message.get("reasoning") or message.get("reasoning_content")
        if reasoning:
            out.append(Reasoning(reasoning))
        content = message.get("content")
        if content:
            out.append(content)
        merger = _ToolCallMerger()
        merger.add(message.get("tool_calls") or [])
        calls = merger.flush()
        if calls is not None:
            out.append(calls)
        if choice.get("finish_reason"):
            out.append(FinishReason(choice["finish_reason"]))
    if obj.get("usage"):
        out.append(_usage(obj["usage"]))
    return out
