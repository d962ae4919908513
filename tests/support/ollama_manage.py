"""The fake Ollama's embed, copy, create, blob and push endpoints (the command line's verbs).

Shapes follow Ollama's wire format: ``/api/embed`` answers one vector per input;
copy answers 200 with no body; create and push stream progress lines ending in
``success``; blobs answer ``HEAD`` 200/404 and take uploads with 201. Errors are
worded and framed as the real 0.24.0 does (``tests/test_fake_vs_real.py``): any
model embeds (no capability check), and a missing blob or a push of a missing
model fails inside a 200 stream, naming a file under the models folder.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from typing import TYPE_CHECKING, Any

from .gojson import go_dumps
from .httpmsg import Request, Response
from .ollama_http import NDJSON, native_body, send_json
from .ollama_models import make_model, normalize_name

if TYPE_CHECKING:
    from .fake_ollama import FakeOllama

__all__ = ["blob", "copy_model", "create", "embed", "push"]

DIMENSIONS = 8
MODELS_DIR = "/root/.ollama/models"  # what the fake's Modelfiles name too


def _quoted(text: str) -> str:
    """Go's %q for plain text."""
    return json.dumps(text, ensure_ascii=False)


def _vector(model: str, text: str, size: int) -> list[float]:
    """A deterministic unit vector for (model, text)."""
    seed = hashlib.sha256(f"{model}\0{text}".encode()).digest()
    raw = [b - 127.5 for b in seed[:size]]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [round(v / norm, 6) for v in raw]


async def embed(fake: FakeOllama, request: Request, response: Response) -> None:
    body = await native_body(response, request, "api.EmbedRequest")
    if body is None:
        return
    name = str(body.get("model") or "")
    record = fake.find(name) if name else None
    if record is None:
        message = f"model {_quoted(name)} not found, try pulling it first"
        await send_json(response, 404, {"error": message})
        return
    raw = body.get("input", [])
    texts = [raw] if isinstance(raw, str) else list(raw)
    size = int(body.get("dimensions") or DIMENSIONS)
    await send_json(
        response,
        200,
        {
            "model": name,
            "embeddings": [_vector(name, str(t), size) for t in texts],
            "total_duration": 1_000_000,
            "load_duration": 500_000,
            "prompt_eval_count": sum(len(str(t).split()) for t in texts),
        },
    )


async def copy_model(fake: FakeOllama, request: Request, response: Response) -> None:
    body = await native_body(response, request, "api.CopyRequest")
    if body is None:
        return
    source, destination = str(body.get("source") or ""), str(body.get("destination") or "")
    record = fake.find(source) if source else None
    if record is None:
        await send_json(response, 404, {"error": f"model {_quoted(source)} not found"})
        return
    if not destination:
        message = f"destination {_quoted(destination)} is invalid"
        await send_json(response, 400, {"error": message})
        return
    twin = copy.deepcopy(record)
    twin.name = normalize_name(destination, keep_case=True)
    fake.install(twin)
    await response.send(200, b"", None)


async def _stream(fake: FakeOllama, response: Response, lines: list[dict[str, Any]]) -> None:
    await response.start_stream(200, NDJSON)
    for line in lines:
        await response.write_chunk(go_dumps(line, newline=True))
        await fake.token_pause(response)


async def create(fake: FakeOllama, request: Request, response: Response) -> None:
    body = await native_body(response, request, "api.CreateRequest")
    if body is None:
        return
    name = str(body.get("model") or "")
    base = body.get("from")
    files = body.get("files") or {}
    lines: list[dict[str, Any]] = [{"status": "parsing GGUF"}] if files else []
    if isinstance(base, str) and base:
        parent = fake.find(base)
        if parent is None:
            await _stream(fake, response, [{"error": fake.not_found_message(base)}])
            return
        record = copy.deepcopy(parent)
        record.name = normalize_name(name, keep_case=True)
        record.parent_model = parent.name
    else:
        missing = [d for d in files.values() if d not in fake.blobs]
        if not files:
            message = "neither 'from' or 'files' was specified"
            await send_json(response, 400, {"error": message}, bare=True)
            return
        if missing:
            path = f"{MODELS_DIR}/blobs/{str(missing[0]).replace(':', '-')}"
            error = f"open {path}: no such file or directory"
            await _stream(fake, response, [*lines, {"error": error}])
            return
        record = make_model(name, family="llama", parameter_size="134.52M")
    if isinstance(body.get("system"), str):
        record.template = str(body["system"]) + record.template
    for digest in [*files.values(), record.digest]:
        lines.append({"status": f"using existing layer sha256:{digest.removeprefix('sha256:')}"})
    lines += [{"status": "writing manifest"}, {"status": "success"}]
    fake.install(record)
    await _stream(fake, response, lines)


async def blob(fake: FakeOllama, request: Request, response: Response, digest: str) -> None:
    if request.method == "HEAD":
        if digest in fake.blobs:
            await response.send(200, b"", None)
        else:  # the body of a GET, which HEAD leaves out
            await send_json(response, 404, {"error": f"blob {digest} not found"})
        return
    got = "sha256:" + hashlib.sha256(request.body).hexdigest()
    if got != digest:
        message = f"digest mismatch, expected {_quoted(digest)}, got {_quoted(got)}"
        await send_json(response, 400, {"error": message})
        return
    fake.blobs.add(digest)
    await response.send(201, b"", None)


async def push(fake: FakeOllama, request: Request, response: Response) -> None:
    body = await native_body(response, request, "api.PushRequest")
    if body is None:
        return
    name = str(body.get("model") or body.get("name") or "")
    record = fake.find(name) if name else None
    if record is None:
        full = normalize_name(name)
        if full.count("/") < 2:
            full = "registry.ollama.ai/" + ("" if "/" in full else "library/") + full
        path = f"{MODELS_DIR}/manifests/{full.replace(':', '/')}"
        lines = [{"status": "retrieving manifest"}, {"status": "couldn't retrieve manifest"}]
        await _stream(
            fake, response, [*lines, {"error": f"open {path}: no such file or directory"}]
        )
        return
    lines: list[dict[str, Any]] = [{"status": "retrieving manifest"}]
    for digest, total in record.layers():
        status = {"status": f"pushing {digest[:12]}", "digest": f"sha256:{digest}", "total": total}
        lines += [{**status, "completed": total * part // 2} for part in (0, 1, 2)]
    lines += [{"status": "pushing manifest"}, {"status": "success"}]
    await _stream(fake, response, lines)
