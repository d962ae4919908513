"""The fake Ollama's OpenAI-compatible layer: /v1/models and /v1/chat/completions."""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import TYPE_CHECKING, Any

from .gojson import go_decode_error, go_dumps, go_json
from .httpmsg import Request, Response
from .ollama_brain import Message, Reply, Step, ToolCall, Turn, answer
from .ollama_http import JSON_ENCODER, JSON_GIN, SSE, type_error
from .ollama_models import ModelRecord
from .ollama_native import BadRequest, Job, admit, think_levels, tool_names

if TYPE_CHECKING:
    from .fake_ollama import FakeOllama

__all__ = ["chat", "list_models", "retrieve_model"]

STRUCT = "ChatCompletionRequest"
IMAGE_PREFIXES = (
    "data:;base64,",
    *(f"data:image/{t};base64," for t in ("jpeg", "jpg", "png", "webp")),
)
_GO_TYPES = {float: "float64", int: "float64", bool: "bool", dict: "map[string]interface {}"}


def error_body(fake: FakeOllama, status: int, message: str) -> dict[str, Any]:
    if status == 400:
        kind = "invalid_request_error"
    elif status == 404 and fake.at_least(fake.NOT_FOUND_TYPE_SINCE):
        kind = "not_found_error"
    else:
        kind = "api_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


async def send_error(
    fake: FakeOllama, response: Response, status: int, message: str, *, middleware: bool
) -> None:
    """``middleware``: rejected by the /v1 middleware (gin AbortWithStatusJSON, no newline);
    otherwise the handler's error rewritten by the /v1 writer (json.Encoder, newline)."""
    body = error_body(fake, status, message)
    if middleware:
        await response.send(status, go_dumps(body), JSON_GIN)
    else:
        await response.send(status, go_dumps(body, newline=True), JSON_ENCODER)


def _model_entry(record: ModelRecord, name: str | None = None) -> dict[str, Any]:
    ident = name or record.name
    owner = ident.rsplit("/", 1)[0].rsplit("/", 1)[-1] if "/" in ident else "library"
    return {"id": ident, "object": "model", "created": int(record.modified_ts), "owned_by": owner}


async def list_models(fake: FakeOllama, request: Request, response: Response) -> None:
    data = [_model_entry(m) for m in fake.installed()] or None  # Go's nil slice -> null
    await response.send(200, go_dumps({"object": "list", "data": data}, newline=True), JSON_ENCODER)


async def retrieve_model(fake: FakeOllama, request: Request, response: Response, name: str) -> None:
    record = fake.find(name)
    if record is None:
        await send_error(fake, response, 404, f"model '{name}' not found", middleware=False)
        return
    await response.send(200, go_dumps(_model_entry(record, name), newline=True), JSON_ENCODER)


def _image(part: dict[str, Any]) -> bytes:
    src = part.get("image_url")
    url = src.get("url") if isinstance(src, dict) else src
    if not isinstance(url, str):
        raise BadRequest("invalid message format")
    prefix = next((p for p in IMAGE_PREFIXES if url.startswith(p)), None)
    if prefix is None:
        raise BadRequest("invalid image input")
    try:
        return base64.b64decode(url[len(prefix) :], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("invalid message format") from None


def _messages(raw: list[Any]) -> list[Message]:
    out = []
    for m in raw:
        if not isinstance(m, dict):
            raise BadRequest(type_error(STRUCT, "messages", "openai.Message", m))
        role, content, calls = str(m.get("role") or ""), m.get("content"), m.get("tool_calls")
        for call in calls or []:
            args = ((call or {}).get("function") or {}).get("arguments")
            try:
                json.loads(args if isinstance(args, str) else "")
            except json.JSONDecodeError:
                raise BadRequest("invalid tool call arguments") from None
        if isinstance(content, str):
            out.append(Message(role, content))
        elif isinstance(content, list):
            texts, images = [], []
            for part in content:
                kind = part.get("type") if isinstance(part, dict) else None
                if kind == "text" and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                elif kind == "image_url":
                    images.append(_image(part))
                else:
                    raise BadRequest("invalid message format")
            out.append(Message(role, "".join(texts), images))
        elif calls:
            out.append(Message(role, ""))
        else:
            kind = "<nil>" if content is None else _GO_TYPES.get(type(content), "[]interface {}")
            raise BadRequest(f"invalid message content type: {kind}")
    return out


def _think(fake: FakeOllama, body: dict[str, Any]) -> Any:
    """reasoning.effort wins over reasoning_effort; "none" means think=false."""
    reasoning = body.get("reasoning")
    effort = (
        reasoning.get("effort") if isinstance(reasoning, dict) else body.get("reasoning_effort")
    )
    if not effort:
        return None
    levels = (*think_levels(fake), "none")
    if effort not in levels:
        named = ", ".join(f'"{level}"' for level in levels[:-1])
        raise BadRequest(f"invalid reasoning value: '{effort}' (must be {named}, or \"none\")")
    return False if effort == "none" else effort


def _format(body: dict[str, Any]) -> Any:
    rf = body.get("response_format")
    if not isinstance(rf, dict):
        return None
    kind = str(rf.get("type") or "").strip().lower()
    if kind == "json_object":
        return "json"
    if kind == "json_schema" and isinstance(rf.get("json_schema"), dict):
        schema = rf["json_schema"].get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def _stop(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for s in value if isinstance(s, str)]
    return []


def _parse(body: dict[str, Any]) -> tuple[Turn, bool, bool]:
    for key, kind, go in (
        ("model", str, "string"),
        ("stream", bool, "bool"),
        ("messages", list, "[]openai.Message"),
    ):
        if body.get(key) is not None and not isinstance(body[key], kind):
            raise BadRequest(type_error(STRUCT, key, go, body[key]))
    limit = body.get("max_tokens")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise BadRequest(type_error(STRUCT, "max_tokens", "int", limit))
    if not body.get("messages"):
        raise BadRequest("[] is too short - 'messages'")
    messages = _messages(body["messages"])
    opts = body.get("stream_options")
    usage = isinstance(opts, dict) and opts.get("include_usage") is True
    turn = Turn(
        messages,
        tool_names(body.get("tools")),
        _format(body),
        False,
        limit,
        _stop(body.get("stop")),
    )
    return turn, body.get("stream") is True, usage


def oai_calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "index": c.index,
            "type": "function",
            "function": {"name": c.name, "arguments": go_json(c.arguments, sort_keys=True)},
        }
        for c in calls
    ]


def _delta(step: Step) -> dict[str, Any]:
    if step.kind == "content":
        return {"content": step.text}
    if step.kind == "thinking":
        return {"content": "", "reasoning": step.text}
    return {"content": "", "tool_calls": oai_calls(step.calls)}


def _usage(reply: Reply) -> dict[str, int]:
    p, c = reply.prompt_tokens, reply.completion_tokens
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _frame(obj: dict[str, Any]) -> bytes:
    return b"data: " + go_dumps(obj) + b"\n\n"


async def chat(fake: FakeOllama, request: Request, response: Response) -> None:
    body, error = go_decode_error(request.body, f"openai.{STRUCT}", empty="EOF")
    try:
        if body is None:
            raise BadRequest(error or "EOF")
        turn, stream, include_usage = _parse(body)
        think = _think(fake, body)
    except BadRequest as exc:
        await send_error(fake, response, exc.status, str(exc), middleware=True)
        return
    try:
        job = await admit(
            fake,
            {"model": body.get("model"), "think": think},
            tools=turn.tool_names,
            keep_alive=None,
            num_ctx=None,
            empty=False,
            conn=request.conn,
        )
    except BadRequest as exc:
        await send_error(fake, response, exc.status, str(exc), middleware=False)
        return
    turn.think = job.think
    reply = answer(turn, fake.rng)
    cid = f"chatcmpl-{fake.rng.randrange(999)}"
    finish = "tool_calls" if reply.tool_calls else reply.done_reason
    if not stream:
        await _complete(fake, response, job, reply, cid, finish)
    elif fake.at_least(fake.SSE_NEW_SHAPE_SINCE):
        await _stream_new(fake, response, job, reply, cid, finish, include_usage)
    else:
        await _stream_old(fake, response, job, reply, cid, finish, include_usage)


async def _complete(
    fake: FakeOllama, response: Response, job: Job, reply: Reply, cid: str, finish: str
) -> None:
    if fake.fail_after is not None:
        await send_error(fake, response, 500, fake.fail_message, middleware=False)
        return
    msg: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.thinking:
        msg["reasoning"] = reply.thinking_text
    if reply.tool_calls:
        msg["tool_calls"] = oai_calls(reply.tool_calls)
    out = {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": job.model,
        "system_fingerprint": "fp_ollama",
        "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
        "usage": _usage(reply),
    }
    await response.send(200, go_dumps(out, newline=True), JSON_ENCODER)


def _chunk(
    cid: str, created: int, model: str, delta: dict[str, Any], finish: str | None = None
) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_ollama",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


async def _fail(response: Response) -> None:
    """Mid-stream failure on /v1: text lost, no finish chunk, no [DONE]; the connection closes."""
    response.close_after = True
    await response.end_stream()


async def _stream_new(
    fake: FakeOllama,
    response: Response,
    job: Job,
    reply: Reply,
    cid: str,
    finish: str,
    include_usage: bool,
) -> None:
    """0.32.6+: role on the first chunk only, finish in a ``{}`` delta, usage frame apart."""
    created = int(time.time())
    steps = reply.steps or [Step("content", "")]
    cut = len(steps) if fake.fail_after is None else min(fake.fail_after, len(steps))
    await response.start_stream(200, SSE)
    for i, step in enumerate(steps[:cut]):
        if i:
            await fake.token_pause(response)
        delta = {"role": "assistant", **_delta(step)} if i == 0 else _delta(step)
        await response.write_chunk(_frame(_chunk(cid, created, job.model, delta)))
    if fake.fail_after is not None:
        await _fail(response)
        return
    await fake.token_pause(response)
    tail = _frame(_chunk(cid, created, job.model, {}, finish))
    if include_usage:
        usage = _chunk(cid, created, job.model, {})
        usage["choices"], usage["usage"] = [], _usage(reply)
        tail += _frame(usage)
    await response.write_chunk(tail + b"data: [DONE]\n\n")


async def _stream_old(
    fake: FakeOllama,
    response: Response,
    job: Job,
    reply: Reply,
    cid: str,
    finish: str,
    include_usage: bool,
) -> None:
    """0.11-0.32.5: role on every chunk, ``created`` per chunk; the finish comes in a chunk
    of its own with empty content (the runner's done response, as the real 0.24.0 sends
    it); the usage frame is a copy of that chunk with ``choices: []``."""
    steps = reply.steps
    cut = len(steps) if fake.fail_after is None else min(fake.fail_after, len(steps))
    await response.start_stream(200, SSE)
    for i, step in enumerate(steps[:cut]):
        if i:
            await fake.token_pause(response)
        delta = {"role": "assistant", **_delta(step)}
        await response.write_chunk(_frame(_chunk(cid, int(time.time()), job.model, delta)))
    if fake.fail_after is not None:
        await _fail(response)
        return
    await fake.token_pause(response)
    chunk = _chunk(cid, int(time.time()), job.model, {"role": "assistant", "content": ""}, finish)
    data = _frame(chunk)
    if include_usage:
        chunk["choices"], chunk["usage"] = [], _usage(reply)
        data += _frame(chunk)
    await response.write_chunk(data + b"data: [DONE]\n\n")
