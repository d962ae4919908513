"""Chat-event assembly: decoded JSON documents in, stream items out. Pure, no I/O.

One :class:`ChatAssembler` per response. It turns OpenAI ``chat.completion.chunk``
objects (every Ollama release's shape, llama.cpp, vLLM), Ollama's native
``/api/chat`` and ``/api/generate`` lines, and whole non-streaming answers into
the same items: ``str`` text, :class:`Reasoning`, :class:`ToolCalls`,
:class:`FinishReason`, :class:`Usage`, :class:`Logprobs`, :class:`Context`. All
shapes go through one field extraction (:meth:`ChatAssembler._message`).

Values are normalised where a server's intent is clear (content given as a list
of text parts, token counts as digit strings) and rejected with a
:class:`DecodeError` where it is not (content that is a number).

Tool calls arrive whole (Ollama) or as fragments keyed by ``index`` (llama.cpp,
vLLM); both are merged here, in linear time, and yielded once, complete, just
before the finish.
"""

from __future__ import annotations

import os
from typing import Any

import orjson

from ._decode import DEFAULT_MAX_LINE, DecodeError, ErrorFieldError, NDJSONDecoder, SSEDecoder
from ._events import Context, FinishReason, Logprobs, Reasoning, TokenLogprob, ToolCalls, Usage

__all__ = ["ChatAssembler", "ServerStreamError", "UnexpectedAnswerError", "error_text"]

Item = Any  # str | Reasoning | ToolCalls | Usage | FinishReason | Logprobs | Context
_loads = orjson.loads
_dumps = orjson.dumps
_MAX_TOOL_CALLS = 1024  # distinct call indexes one answer may open


class ServerStreamError(DecodeError):
    """The server put an error into the answer; ``server_message`` has its words."""

    def __init__(self, server_message: str, items: list[object] | None = None) -> None:
        super().__init__(f"the server reported an error: {server_message}", items)
        self.server_message = server_message


class UnexpectedAnswerError(DecodeError):
    """A whole answer of another shape (no ``choices``, no ``message``): ``words`` are the
    server's own (``{"detail": "Not authenticated"}``) when it gave any."""

    def __init__(self, words: str, excerpt: str) -> None:
        super().__init__(f"the answer is not a chat completion: {excerpt}")
        self.words = words
        self.excerpt = excerpt


def error_text(error: object) -> str:
    """The human words inside ``{"error": ...}`` in any of the shapes servers use."""
    if isinstance(error, dict):
        message = error.get("message")
        if message is None:
            message = error.get("error", error)
        return str(message)
    return str(error)


def _text(value: object, field: str) -> str:
    """Text from a server field: a string, or a list of text parts; else a DecodeError."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, list):
        parts = []
        for part in value:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                raise DecodeError(f"the server sent a {field} part that is not text: {part!r:.100}")
        return "".join(parts)
    raise DecodeError(f"the server sent a {field} that is not text: {value!r:.100}")


def _count(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return 0


def _usage(usage: dict[str, Any]) -> Usage:
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    total = usage.get("total_tokens")
    return Usage(prompt, completion, _count(total) if total is not None else prompt + completion)


def _token(entry: Any) -> TokenLogprob:
    raw = entry.get("bytes")
    top = entry.get("top_logprobs") or ()
    return TokenLogprob(
        str(entry.get("token", "")),
        float(entry.get("logprob", 0.0)),
        tuple(raw) if isinstance(raw, list) else None,
        tuple(_token(t) for t in top if isinstance(t, dict)),
    )


def _logprobs(entries: object) -> Logprobs | None:
    """OpenAI's ``choice.logprobs.content`` or Ollama's native ``logprobs`` list."""
    if isinstance(entries, dict):
        entries = entries.get("content")
    if not isinstance(entries, list) or not entries:
        return None
    return Logprobs(tuple(_token(e) for e in entries if isinstance(e, dict)))


def _arguments(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return _dumps(value).decode()


class _ToolCallMerger:
    """Merges whole calls and ``index``-keyed fragments; argument pieces are joined once."""

    __slots__ = ("_calls",)

    def __init__(self) -> None:
        # index -> [id, type, name pieces, argument pieces]
        self._calls: dict[int, list[Any]] = {}

    def add(self, fragments: object) -> None:
        if not isinstance(fragments, list):
            raise DecodeError(f"the server sent tool_calls that are not a list: {fragments!r:.100}")
        calls = self._calls
        for frag in fragments:
            if not isinstance(frag, dict):
                continue
            fn = frag.get("function")
            fn = fn if isinstance(fn, dict) else {}
            index = frag.get("index", fn.get("index"))
            name = fn.get("name") or ""
            if not isinstance(index, int) or isinstance(index, bool):
                starts_new = bool(frag.get("id") or name) or not calls
                index = max(calls, default=-1) + (1 if starts_new else 0)
            call = calls.get(index)
            if call is None:
                if len(calls) >= _MAX_TOOL_CALLS:
                    raise DecodeError(f"the server opened more than {_MAX_TOOL_CALLS} tool calls")
                calls[index] = [frag.get("id") or "", frag.get("type") or "function", [], []]
                call = calls[index]
            elif frag.get("id") and not call[0]:
                call[0] = frag["id"]
            if name and (not call[2] or name != call[2][-1]):
                call[2].append(str(name))
            arguments = _arguments(fn.get("arguments"))
            if arguments:
                call[3].append(arguments)

    def flush(self) -> ToolCalls | None:
        if not self._calls:
            return None
        calls = []
        for index in sorted(self._calls):
            id_, type_, names, arguments = self._calls[index]
            function = {"name": "".join(names), "arguments": "".join(arguments)}
            calls.append(
                {"id": id_ or "call_" + os.urandom(4).hex(), "type": type_, "function": function}
            )
        self._calls = {}
        return ToolCalls(calls)


class ChatAssembler:
    """Assembles one answer: ``feed(bytes)`` then ``close()`` for streams, ``whole(obj)`` else.

    ``complete`` turns true at a finish reason, ``[DONE]`` or a native ``done``
    line (the answer has succeeded); ``exhausted`` at ``[DONE]`` or a native
    ``done`` line (nothing more is to come). ``partial`` is the text so far.
    Errors are :class:`DecodeError` subclasses whose ``items`` hold the items
    decoded before the fault, so nothing already received is lost.
    """

    __slots__ = ("_frames", "_native", "_text", "_tools", "complete", "exhausted", "saw_tools")

    def __init__(self, *, native: bool = False, max_line: int = DEFAULT_MAX_LINE) -> None:
        self._native = native
        self._frames: SSEDecoder | NDJSONDecoder = (
            NDJSONDecoder(max_line) if native else SSEDecoder(max_line)
        )
        self._tools = _ToolCallMerger()
        self._text: list[str] = []
        self.complete = False
        self.exhausted = False
        self.saw_tools = False

    @property
    def partial(self) -> str:
        return "".join(self._text)

    def feed(self, data: bytes) -> list[Item]:
        out: list[Item] = []
        try:
            payloads = self._frames.feed(data)
        except ErrorFieldError as exc:
            self._payloads(exc.items, out)  # type: ignore[arg-type]
            raise ServerStreamError(_error_field_words(exc.payload), out) from None
        except DecodeError as exc:
            self._payloads(exc.items, out)  # type: ignore[arg-type]
            exc.items = out
            raise
        self._payloads(payloads, out)
        return out

    def close(self) -> list[Item]:
        out: list[Item] = []
        self._payloads(self._frames.close(), out)
        if not self.complete:
            self._flush_tools(out)  # whatever merged so far is still the server's words
        return out

    def whole(self, obj: object) -> list[Item]:
        """The items of a whole (non-streaming) answer: OpenAI ``chat.completion`` or native."""
        out: list[Item] = []
        if not isinstance(obj, dict):
            raise UnexpectedAnswerError("", f"{obj!r:.200}")
        if obj.get("error") is not None:
            raise ServerStreamError(error_text(obj["error"]))
        try:
            if "choices" not in obj and ("message" in obj or "response" in obj or "done" in obj):
                self._handle(obj, out, native=True)
            elif isinstance(obj.get("choices"), list):
                self._handle(obj, out, native=False)
                self.complete = True  # a whole answer is complete even without a finish reason
                self._flush_tools(out)
            else:
                words = next((str(obj[k]) for k in ("detail", "message") if obj.get(k)), "")
                excerpt = _dumps(obj)[:200].decode(errors="replace")
                raise UnexpectedAnswerError(words, excerpt)
        except (AttributeError, TypeError, KeyError, IndexError):
            shown = _dumps(obj)[:200].decode(errors="replace")
            raise DecodeError(
                f"the server sent an answer of an unexpected shape: {shown}"
            ) from None
        return out

    def _payloads(self, payloads: list[bytes], out: list[Item]) -> None:
        native = self._native
        for payload in payloads:
            if payload == b"[DONE]":
                self._flush_tools(out)
                self.complete = self.exhausted = True
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
            if obj.get("error") is not None:
                raise ServerStreamError(error_text(obj["error"]), out)
            try:
                self._handle(obj, out, native=native)
            except DecodeError as exc:
                exc.items = out
                raise
            except (AttributeError, TypeError, KeyError, IndexError):
                raise DecodeError(
                    f"the server sent a chunk of an unexpected shape: {payload[:200]!r}", out
                ) from None

    def _flush_tools(self, out: list[Item]) -> None:
        calls = self._tools.flush()
        if calls is not None:
            out.append(calls)

    def _message(self, message: dict[str, Any], out: list[Item]) -> None:
        """The one field extraction: reasoning, text and tool calls of any message shape."""
        reasoning = (
            message.get("reasoning") or message.get("reasoning_content") or message.get("thinking")
        )
        if reasoning:
            out.append(Reasoning(_text(reasoning, "reasoning")))
        content = message.get("content")
        if content:
            text = _text(content, "content")
            if text:
                out.append(text)
                self._text.append(text)
        calls = message.get("tool_calls")
        if calls:
            self.saw_tools = True
            self._tools.add(calls)

    def _handle(self, obj: dict[str, Any], out: list[Item], *, native: bool) -> None:
        if native:
            message = obj.get("message")
            if message:
                self._message(message, out)
            elif "response" in obj or "thinking" in obj:  # /api/generate
                generated = {"content": obj.get("response"), "thinking": obj.get("thinking")}
                self._message(generated, out)
            if obj.get("logprobs"):
                self._append(_logprobs(obj["logprobs"]), out)
            if obj.get("done"):
                self._done(obj, out)
            return
        choices = obj.get("choices")
        if choices:
            choice = choices[0]
            message = choice.get("delta") or choice.get("message")
            if message:
                self._message(message, out)
            elif choice.get("text"):  # /completions
                self._message({"content": choice["text"]}, out)
            if choice.get("logprobs"):
                self._append(_logprobs(choice["logprobs"]), out)
            reason = choice.get("finish_reason")
            if reason:
                self._flush_tools(out)
                out.append(FinishReason(str(reason)))
                self.complete = True
        usage = obj.get("usage")
        if usage:
            counts = _usage(usage)
            if counts.total_tokens or counts.prompt_tokens or counts.completion_tokens:
                out.append(counts)  # Ollama's /v1/completions puts zeros on every chunk

    @staticmethod
    def _append(item: Item | None, out: list[Item]) -> None:
        if item is not None:
            out.append(item)

    def _done(self, obj: dict[str, Any], out: list[Item]) -> None:
        """Ollama's last native line: finish reason, counts, and /api/generate's context."""
        self._flush_tools(out)
        reason = obj.get("done_reason") or "stop"
        if reason == "stop" and self.saw_tools:
            reason = "tool_calls"  # what Ollama's /v1 layer reports for the same answer
        out.append(FinishReason(str(reason)))
        prompt, completion = _count(obj.get("prompt_eval_count")), _count(obj.get("eval_count"))
        out.append(
            Usage(
                prompt, completion, prompt + completion,
                load_duration=_seconds(obj.get("load_duration")),
                prompt_eval_duration=_seconds(obj.get("prompt_eval_duration")),
                eval_duration=_seconds(obj.get("eval_duration")),
                total_duration=_seconds(obj.get("total_duration")),
            )
        )  # fmt: skip
        context = obj.get("context")
        if isinstance(context, list) and context:
            out.append(Context(tuple(t for t in context if isinstance(t, int))))
        self.complete = self.exhausted = True


def _seconds(nanoseconds: object) -> float | None:
    """A native duration (integer nanoseconds) in seconds; None when absent or not a count."""
    if isinstance(nanoseconds, int) and not isinstance(nanoseconds, bool) and nanoseconds >= 0:
        return nanoseconds / 1e9
    return None


def _error_field_words(payload: bytes) -> str:
    try:
        return error_text(_loads(payload))
    except orjson.JSONDecodeError:
        return payload[:500].decode("utf-8", "replace")
