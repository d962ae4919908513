"""A small OpenAI-compatible server mounted under a path prefix, on :class:`HTTPServer`.

Serving layers put the OpenAI routes under a prefix: KServe at ``/openai/v1``, a
reverse proxy at ``/llm/v1``. This one answers only ``GET {prefix}/models`` and
``POST {prefix}/chat/completions`` (streamed as SSE, or one JSON answer), and a
FastAPI-style 404 for every other path, so a client that strays from the base it
was given (an Ollama route, the root's ``/v1``) is seen at once. The answer is
the user's last message after ``say:``, one word per chunk.

    with HTTPServer() as server:
        api = FakeOpenAI(server, prefix="/openai/v1", models=["m"])
        OpenaiAPI.get_models(api.url)   # api.url is the base: http://127.0.0.1:N/openai/v1
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .httpmsg import Request, Response
from .httpserver import HTTPServer

__all__ = ["FakeOpenAI"]

_JSON = "application/json"


class FakeOpenAI:
    def __init__(
        self, server: HTTPServer, *, prefix: str = "/openai/v1", models: Iterable[str] = ("m",)
    ) -> None:
        self.server = server
        self.prefix = "/" + prefix.strip("/")
        self.models = list(models)
        self.calls: list[tuple[str, str, Any]] = []  # (method, path, JSON body or None)
        server.handler = self.handle

    @property
    def url(self) -> str:
        return self.server.url + self.prefix

    def count(self, route: str) -> int:
        """Requests to ``route`` under the prefix (``/chat/completions``, ``/models``)."""
        return sum(1 for _, path, _ in self.calls if path == self.prefix + route)

    async def handle(self, request: Request, response: Response) -> None:
        body = json.loads(request.body) if request.body else None
        self.calls.append((request.method, request.path, body))
        route = request.path[len(self.prefix) :] if request.path.startswith(self.prefix) else ""
        if request.method == "GET" and route == "/models":
            data = [{"id": m, "object": "model", "owned_by": "fake"} for m in self.models]
            await _send(response, 200, {"object": "list", "data": data})
        elif request.method == "POST" and route == "/chat/completions":
            await self._chat(body if isinstance(body, dict) else {}, response)
        else:
            await _send(response, 404, {"detail": "Not Found"})

    async def _chat(self, body: dict[str, Any], response: Response) -> None:
        model = str(body.get("model", ""))
        if model not in self.models:
            message = f"The model `{model}` does not exist."
            error = {"message": message, "type": "NotFoundError", "param": None, "code": 404}
            await _send(response, 404, {"error": error})
            return
        words = _answer(body.get("messages"))
        usage = {
            "prompt_tokens": 5,
            "completion_tokens": len(words),
            "total_tokens": 5 + len(words),
        }
        if not body.get("stream"):
            message = {"role": "assistant", "content": "".join(words)}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            answer = {**_head(model), "object": "chat.completion"}
            await _send(response, 200, {**answer, "choices": [choice], "usage": usage})
            return
        await response.start_stream(200, "text/event-stream")
        for word in words:
            delta = {"index": 0, "delta": {"content": word}, "finish_reason": None}
            await response.write_chunk(_event({**_head(model), "choices": [delta]}))
        end = {"index": 0, "delta": {}, "finish_reason": "stop"}
        await response.write_chunk(_event({**_head(model), "choices": [end]}))
        options = body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            await response.write_chunk(_event({**_head(model), "choices": [], "usage": usage}))
        await response.write_chunk(b"data: [DONE]\n\n")
        await response.end_stream()


def _answer(messages: Any) -> list[str]:
    last = messages[-1].get("content", "") if isinstance(messages, list) and messages else ""
    text = str(last).partition("say:")[2].strip() or "ok"
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


def _head(model: str) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model}


def _event(obj: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


async def _send(response: Response, status: int, obj: dict[str, Any]) -> None:
    await response.send(status, json.dumps(obj).encode(), _JSON)
