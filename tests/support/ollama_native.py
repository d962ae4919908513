"""The fake Ollama's native streaming endpoints: /api/chat, /api/generate, /api/pull."""

from __future__ import annotations

import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .gojson import go_dumps, go_map, go_time_ns, parse_keep_alive
from .httpmsg import Connection, Request, Response
from .ollama_brain import Message, Reply, Step, ToolCall, Turn, answer
from .ollama_http import NDJSON, native_body, send_json, type_error
from .ollama_models import ModelRecord

if TYPE_CHECKING:
    from .fake_ollama import FakeOllama

__all__ = [
    "EVAL_NS_PER_TOKEN",
    "PROMPT_EVAL_NS_PER_TOKEN",
    "BadRequest",
    "Job",
    "admit",
    "chat",
    "decode_image",
    "generate",
    "pull",
]

THINK_LEVELS = ("high", "medium", "low")  # and "max" since THINK_MAX_SINCE
# The fake's fixed durations per token (nanoseconds): prompt_eval_duration and
# eval_duration are these times the token counts, never clock readings.
PROMPT_EVAL_NS_PER_TOKEN = 153_271
EVAL_NS_PER_TOKEN = 7_730_605


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400, *, bare: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.bare = bare  # sent as bare application/json (see send_json)


@dataclass
class Job:
    """An admitted generation: the model is known, loaded, and the request is valid."""

    record: ModelRecord
    model: str  # the name as the client sent it (echoed in responses)
    t0_ns: int
    load_ns: int = 0  # -1: this request unloaded the model
    think: bool = False


def decode_image(data: Any, struct: str) -> bytes:
    """Go's []byte JSON decoding (standard base64, padding required)."""
    if not isinstance(data, str):
        raise BadRequest(type_error(struct, "images", "[]uint8", data))
    clean = data.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(clean, validate=True)
    except (binascii.Error, ValueError):
        alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        pos = next((i for i, c in enumerate(clean) if c not in alphabet), len(clean) // 4 * 4)
        raise BadRequest(f"illegal base64 data at input byte {pos}") from None


def think_levels(fake: FakeOllama) -> tuple[str, ...]:
    return (*THINK_LEVELS, "max") if fake.at_least(fake.THINK_MAX_SINCE) else THINK_LEVELS


def think_flag(record: ModelRecord, value: Any, model: str, levels: tuple[str, ...]) -> bool:
    """Resolve ``think`` (bool or level); a thinking model thinks unless told not to."""
    if value is not None and not isinstance(value, bool) and value not in levels:
        named = "".join(f'"{level}", ' for level in levels)
        raise BadRequest(f'invalid think value: "{value}" (must be {named}true, or false)')
    wants = value is not None and value is not False
    if not record.has("thinking"):
        if wants:
            raise BadRequest(f'"{model}" does not support thinking')
        return False
    return value is None or wants


async def admit(
    fake: FakeOllama,
    body: dict[str, Any],
    *,
    tools: list[str],
    keep_alive: int | None,
    num_ctx: int | None,
    empty: bool,
    conn: Connection,
) -> Job:
    """Model lookup, unload, think/tools checks, cold-load delay; raises BadRequest."""
    t0 = time.time_ns()
    name = body.get("model") or ""
    if not name:
        raise BadRequest("model is required")
    record = fake.find(name)
    if record is None:
        raise BadRequest(fake.not_found_message(name), 404)
    if empty and keep_alive == 0:
        fake.unload(record)
        return Job(record, name, t0, -1)
    think = think_flag(record, body.get("think"), name, think_levels(fake))
    if tools and not record.has("tools"):
        raise BadRequest(f"registry.ollama.ai/library/{record.name} does not support tools")
    was_loaded = any(m.record is record for m in fake.running())
    if fake.first_byte_delay > 0:
        await conn.sleep(fake.first_byte_delay)
    fake.load(record, keep_alive, num_ctx)
    load_ns = time.time_ns() - t0 + (1_204_583 if was_loaded else 41_295_167)
    return Job(record, name, t0, load_ns, think)


def metrics(job: Job, reply: Reply) -> dict[str, int]:
    prompt_eval = reply.prompt_tokens * PROMPT_EVAL_NS_PER_TOKEN
    evals = reply.completion_tokens * EVAL_NS_PER_TOKEN
    total = max(time.time_ns() - job.t0_ns, job.load_ns + prompt_eval + evals + 1_000_000)
    out = {
        "total_duration": total,
        "load_duration": job.load_ns,
        "prompt_eval_count": reply.prompt_tokens,
        "prompt_eval_duration": prompt_eval,
        "eval_count": reply.completion_tokens,
        "eval_duration": evals,
    }
    return {k: v for k, v in out.items() if v}  # omitempty


def native_calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "function": {"index": c.index, "name": c.name, "arguments": go_map(c.arguments)},
        }
        for c in calls
    ]


def _options(body: dict[str, Any], struct: str) -> tuple[int | None, list[str], int | None]:
    opts = body.get("options")
    opts = {} if opts is None else opts
    if not isinstance(opts, dict):
        raise BadRequest(type_error(struct, "options", "map[string]interface {}", opts))
    limit, ctx, stop = opts.get("num_predict"), opts.get("num_ctx"), opts.get("stop") or []
    for key, val in (("num_predict", limit), ("num_ctx", ctx)):
        if val is not None and (isinstance(val, bool) or not isinstance(val, int | float)):
            raise BadRequest(f'option "{key}" must be of type integer', 500)
    if isinstance(stop, str) or not all(isinstance(s, str) for s in stop):
        raise BadRequest('option "stop" must be of type array', 500)
    return (None if limit is None else int(limit)), list(stop), (None if ctx is None else int(ctx))


def _format(value: Any) -> Any:
    if value in (None, ""):
        return None
    if value == "json" or isinstance(value, dict):
        return value
    text = json.dumps(json.dumps(value))  # the value, quoted twice, as Ollama 0.24 shows it
    raise BadRequest(
        f'invalid format: {text}; expected "json" or a valid JSON Schema object', 500, bare=True
    )


def _common(body: dict[str, Any], struct: str) -> tuple[bool, int | None]:
    for key, kind in (("model", str), ("stream", bool)):
        if body.get(key) is not None and not isinstance(body[key], kind):
            raise BadRequest(
                type_error(struct, key, kind.__name__.replace("str", "string"), body[key])
            )
    try:
        keep_alive = parse_keep_alive(body.get("keep_alive"))
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return body.get("stream") is not False, keep_alive


def _messages(body: dict[str, Any]) -> list[Message]:
    raw = body.get("messages") or []
    if not isinstance(raw, list):
        raise BadRequest(type_error("ChatRequest", "messages", "[]api.Message", raw))
    out = []
    for m in raw:
        if not isinstance(m, dict):
            raise BadRequest(type_error("ChatRequest", "messages", "api.Message", m))
        content = m.get("content") or ""
        if not isinstance(content, str):
            raise BadRequest(type_error("ChatRequest", "messages.content", "string", content))
        images = [decode_image(i, "ChatRequest.messages") for i in m.get("images") or []]
        out.append(Message(str(m.get("role") or ""), content, images))
    return out


def tool_names(tools: Any) -> list[str]:
    if not isinstance(tools, list):
        return []
    names = [((t or {}).get("function") or {}).get("name") for t in tools if isinstance(t, dict)]
    return [n for n in names if isinstance(n, str)]


async def _finish_stream(
    fake: FakeOllama, response: Response, lines: list[dict[str, Any]], done: dict[str, Any]
) -> None:
    """Stream ``lines`` then ``done``; with ``fail_after`` an error line replaces the rest."""
    await response.start_stream(200, NDJSON)
    cut = len(lines) if fake.fail_after is None else min(fake.fail_after, len(lines))
    for i, line in enumerate(lines[:cut]):
        if i:
            await fake.token_pause(response)
        await response.write_chunk(go_dumps(line, newline=True))
    if lines:
        await fake.token_pause(response)
    final = done if fake.fail_after is None else {"error": fake.fail_message}
    await response.write_chunk(go_dumps(final, newline=True))


async def chat(fake: FakeOllama, request: Request, response: Response) -> None:
    body = await native_body(response, request, "api.ChatRequest")
    if body is None:
        return
    try:
        stream, keep_alive = _common(body, "ChatRequest")
        messages = _messages(body)
        limit, stop, num_ctx = _options(body, "ChatRequest")
        fmt = _format(body.get("format"))
        tools = tool_names(body.get("tools"))
        job = await admit(
            fake,
            body,
            tools=tools,
            keep_alive=keep_alive,
            num_ctx=num_ctx,
            empty=not messages,
            conn=request.conn,
        )
    except BadRequest as exc:
        await send_json(response, exc.status, {"error": str(exc)}, bare=exc.bare)
        return
    now = go_time_ns()
    if not messages:
        reason = "unload" if job.load_ns < 0 else "load"
        await send_json(
            response,
            200,
            {
                "model": job.model,
                "created_at": now,
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": reason,
            },
        )
        return
    reply = answer(Turn(messages, tools, fmt, job.think, limit, stop), fake.rng)
    if keep_alive == 0:
        fake.unload(job.record)
    if not stream:
        if fake.fail_after is not None:
            await send_json(response, 500, {"error": fake.fail_message})
            return
        msg: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.thinking:
            msg["thinking"] = reply.thinking_text
        if reply.tool_calls:
            msg["tool_calls"] = native_calls(reply.tool_calls)
        await send_json(
            response,
            200,
            {
                "model": job.model,
                "created_at": go_time_ns(),
                "message": msg,
                "done": True,
                "done_reason": reply.done_reason,
                **metrics(job, reply),
            },
        )
        return

    def line(step: Step) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "assistant", "content": ""}
        if step.kind == "content":
            msg["content"] = step.text
        elif step.kind == "thinking":
            msg["thinking"] = step.text
        else:
            msg["tool_calls"] = native_calls(step.calls)
        return {"model": job.model, "created_at": go_time_ns(), "message": msg, "done": False}

    lines = [line(s) for s in reply.steps]
    done = {
        "model": job.model,
        "created_at": go_time_ns(),
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": reply.done_reason,
        **metrics(job, reply),
    }
    await _finish_stream(fake, response, lines, done)


async def generate(fake: FakeOllama, request: Request, response: Response) -> None:
    body = await native_body(response, request, "api.GenerateRequest")
    if body is None:
        return
    try:
        stream, keep_alive = _common(body, "GenerateRequest")
        prompt = body.get("prompt") or ""
        if not isinstance(prompt, str):
            raise BadRequest(type_error("GenerateRequest", "prompt", "string", prompt))
        images = [decode_image(i, "GenerateRequest") for i in body.get("images") or []]
        limit, stop, num_ctx = _options(body, "GenerateRequest")
        fmt = _format(body.get("format"))
        if not body.get("model"):
            raise BadRequest("model '' not found", 404)
        job = await admit(
            fake,
            body,
            tools=[],
            keep_alive=keep_alive,
            num_ctx=num_ctx,
            empty=not prompt,
            conn=request.conn,
        )
    except BadRequest as exc:
        await send_json(response, exc.status, {"error": str(exc)}, bare=exc.bare)
        return
    if not prompt:
        reason = "unload" if job.load_ns < 0 else "load"
        await send_json(
            response,
            200,
            {
                "model": job.model,
                "created_at": go_time_ns(),
                "response": "",
                "done": True,
                "done_reason": reason,
            },
        )
        return
    msgs = [Message("system", body["system"])] if isinstance(body.get("system"), str) else []
    msgs.append(Message("user", prompt, images))
    reply = answer(Turn(msgs, [], fmt, job.think, limit, stop), fake.rng)
    if keep_alive == 0:
        fake.unload(job.record)
    if not stream:
        if fake.fail_after is not None:
            await send_json(response, 500, {"error": fake.fail_message})
            return
        out: dict[str, Any] = {
            "model": job.model,
            "created_at": go_time_ns(),
            "response": reply.text,
        }
        if reply.thinking:
            out["thinking"] = reply.thinking_text
        out.update(done=True, done_reason=reply.done_reason, **metrics(job, reply))
        await send_json(response, 200, out)
        return
    lines = []
    for step in reply.steps:
        item: dict[str, Any] = {"model": job.model, "created_at": go_time_ns(), "response": ""}
        if step.kind == "thinking":
            item["thinking"] = step.text
        else:
            item["response"] = step.text
        item["done"] = False
        lines.append(item)
    done = {
        "model": job.model,
        "created_at": go_time_ns(),
        "response": "",
        "done": True,
        "done_reason": reply.done_reason,
        **metrics(job, reply),
    }
    await _finish_stream(fake, response, lines, done)


PULL_MISSING = "pull model manifest: file does not exist"


async def pull(fake: FakeOllama, request: Request, response: Response) -> None:
    body = await native_body(response, request, "api.PullRequest")
    if body is None:
        return
    name = body.get("model") or body.get("name") or ""
    if not isinstance(name, str) or not name.strip():
        await send_json(response, 400, {"error": "invalid model name"})
        return
    from .ollama_models import find_model

    record = find_model(fake.registry, name)
    if body.get("stream") is False:
        if record is None:
            await send_json(response, 500, {"error": PULL_MISSING}, bare=True)
            return
        fake.install(record)
        await send_json(response, 200, {"status": "success"})
        return
    await response.start_stream(200, NDJSON)

    async def emit(obj: dict[str, Any]) -> None:
        await response.write_chunk(go_dumps(obj, newline=True))
        await fake.token_pause(response)

    await emit({"status": "pulling manifest"})
    if record is None:
        await emit({"error": PULL_MISSING})
        return
    for digest, total in record.layers():
        status = {"status": f"pulling {digest[:12]}", "digest": f"sha256:{digest}", "total": total}
        await emit(status)
        for part in (1, 2, 3, 4):
            await emit({**status, "completed": total * part // 4})
    for label in ("verifying sha256 digest", "writing manifest"):
        await emit({"status": label})
    fake.install(record)
    await emit({"status": "success"})
