"""A faithful fake of Ollama's HTTP API (releases 0.11 to 0.33) on :class:`HTTPServer`.

    with HTTPServer() as server:
        ollama = FakeOllama(server, version="0.32.5")
        ...  # point the client at ollama.url

Everything is read at request time, so tests may change ``version``, ``models``,
``auth``... between requests. ``calls`` records each request's route and JSON body.
Run standalone: ``python -m tests.support.fake_ollama --port 11434 --version 0.12.3``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import ipaddress
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from . import ollama_manage, ollama_native, ollama_openai
from .gojson import go_dumps, go_time_ns
from .httpmsg import Headers, Request, Response
from .httpserver import HTTPServer
from .ollama_http import JSON_GIN, native_body, send_json
from .ollama_models import (
    DEFAULT_MODELS,
    DEFAULT_REGISTRY,
    ModelRecord,
    as_records,
    find_model,
    normalize_name,
)

__all__ = ["Call", "FakeOllama", "Loaded", "host_allowed", "main"]

Route: TypeAlias = "Callable[[Request, Response], Awaitable[None]]"
_PRIVATE = [
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
]


@dataclass
class Call:
    """One request as the fake saw it; ``route`` has ``path_prefix`` removed."""

    method: str
    route: str
    json: Any
    headers: Headers
    body: bytes = field(repr=False)


@dataclass
class Loaded:
    record: ModelRecord
    expires_ns: int
    context_length: int


def parse_version(text: str) -> tuple[int, int, int]:
    nums = [int(n) for n in re.findall(r"\d+", text.lstrip("v").split("-")[0])[:3]]
    padded = [*nums, 0, 0, 0]
    return padded[0], padded[1], padded[2]


def host_allowed(host_header: str) -> bool:
    """Ollama's allowedHostsMiddleware for a server bound to loopback."""
    host = host_header.strip()
    if host.startswith("["):
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    host = host.lower()
    if host in ("", "localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host.endswith((".localhost", ".local", ".internal"))
    return ip.is_loopback or ip.is_unspecified or any(ip in net for net in _PRIVATE)


class FakeOllama:
    """Ollama's behaviour; a deterministic model (see :mod:`tests.support.ollama_brain`)."""

    SSE_NEW_SHAPE_SINCE = (0, 32, 6)  # role once, finish in its own {} delta chunk
    QUOTED_404_SINCE = (0, 12, 0)  # model 'x' not found (before: "x" ..., try pulling it first)
    NOT_FOUND_TYPE_SINCE = (0, 18, 0)  # /v1 error type not_found_error (before: api_error)
    # details.context_length/embedding_length + capabilities in /api/tags, /api/ps, /api/show:
    # not in the real 0.24.0; in 0.30.0's source (0.25-0.29 are not on the module proxy)
    TAGS_EXTENDED_SINCE = (0, 30, 0)
    THINK_MAX_SINCE = (0, 24, 0)  # think/reasoning level "max": not in 0.20.0, in 0.24.0

    def __init__(
        self,
        server: HTTPServer | None = None,
        *,
        version: str = "0.33.0",
        models: Iterable[ModelRecord | str] | None = None,
        registry: Iterable[ModelRecord | str] | None = None,
        path_prefix: str = "",
        local_only: bool = False,
        auth: tuple[str, str] | str | None = None,
        token_delay: float = 0.0,
        first_byte_delay: float = 0.0,
        fail_after: int | None = None,
        fail_message: str = "an error was encountered while running the model: unexpected EOF",
        seed: int | None = None,
    ) -> None:
        self.server = server if server is not None else HTTPServer()
        self.server.handler = self.handle
        self.version = version
        self.models: list[ModelRecord] = as_records(
            copy.deepcopy(DEFAULT_MODELS) if models is None else models
        )
        self.registry: list[ModelRecord | str] = list(
            copy.deepcopy(DEFAULT_REGISTRY) if registry is None else registry
        )
        self.path_prefix = path_prefix
        self.local_only = local_only
        self.auth = auth
        self.token_delay = token_delay
        self.first_byte_delay = first_byte_delay
        #: after this many streamed pieces the generation fails mid-stream
        self.fail_after = fail_after
        self.fail_message = fail_message
        self.rng = random.Random(seed)
        self.loaded: dict[str, Loaded] = {}
        self.calls: list[Call] = []
        self.blobs: set[str] = set()  # digests uploaded to /api/blobs
        self._routes: dict[str, dict[str, Route]] = {
            "/": {"GET": self._root, "HEAD": self._root},
            "/api/version": {"GET": self._version, "HEAD": self._version},
            "/api/tags": {"GET": self._tags, "HEAD": self._tags},
            "/api/ps": {"GET": self._ps},
            "/api/show": {"POST": self._show},
            "/api/pull": {"POST": lambda q, r: ollama_native.pull(self, q, r)},
            "/api/delete": {"DELETE": self._delete},
            "/api/generate": {"POST": lambda q, r: ollama_native.generate(self, q, r)},
            "/api/chat": {"POST": lambda q, r: ollama_native.chat(self, q, r)},
            "/api/embed": {"POST": lambda q, r: ollama_manage.embed(self, q, r)},
            "/api/copy": {"POST": lambda q, r: ollama_manage.copy_model(self, q, r)},
            "/api/create": {"POST": lambda q, r: ollama_manage.create(self, q, r)},
            "/api/push": {"POST": lambda q, r: ollama_manage.push(self, q, r)},
            "/v1/models": {"GET": lambda q, r: ollama_openai.list_models(self, q, r)},
            "/v1/chat/completions": {"POST": lambda q, r: ollama_openai.chat(self, q, r)},
        }

    # ------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        return self.server.url + self.prefix

    @property
    def prefix(self) -> str:
        p = self.path_prefix.strip().rstrip("/")
        return p if not p or p.startswith("/") else "/" + p

    def start(self) -> FakeOllama:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> FakeOllama:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ inspection
    def bodies(self, route: str) -> list[Any]:
        """JSON bodies received on ``route`` (e.g. ``/api/chat``), oldest first."""
        return [c.json for c in list(self.calls) if c.route == route]

    def last_body(self, route: str) -> Any:
        found = self.bodies(route)
        return found[-1] if found else None

    def count(self, route: str) -> int:
        return sum(1 for c in list(self.calls) if c.route == route)

    def installed(self) -> list[ModelRecord]:
        """Installed models, most recently modified first."""
        return sorted(as_records(self.models), key=lambda m: m.modified_ts, reverse=True)

    def find(self, name: str) -> ModelRecord | None:
        return find_model(self.models, name)

    def running(self) -> list[Loaded]:
        now = time.time_ns()
        return sorted(
            (m for m in self.loaded.values() if m.expires_ns > now),
            key=lambda m: m.expires_ns,
            reverse=True,
        )

    # ------------------------------------------------------- version helpers
    def at_least(self, version: tuple[int, int, int]) -> bool:
        return parse_version(self.version) >= version

    def not_found_message(self, name: str) -> str:
        if self.at_least(self.QUOTED_404_SINCE):
            return f"model '{name}' not found"
        return f'model "{name}" not found, try pulling it first'

    def load(self, record: ModelRecord, keep_alive_ns: int | None, num_ctx: int | None) -> None:
        ttl = 300 * 10**9 if keep_alive_ns is None else keep_alive_ns
        forever = 292 * 365 * 86400 * 10**9  # Go's MaxInt64 duration, roughly
        self.loaded[normalize_name(record.name)] = Loaded(
            record, time.time_ns() + min(ttl, forever), num_ctx or 4096
        )

    def unload(self, record: ModelRecord) -> None:
        self.loaded.pop(normalize_name(record.name), None)

    async def token_pause(self, response: Response) -> None:
        if self.token_delay > 0:
            await response.conn.sleep(self.token_delay)

    # --------------------------------------------------------------- serving
    def _route_of(self, path: str) -> str | None:
        prefix = self.prefix
        if not prefix:
            return path
        if path in (prefix, prefix + "/"):
            return "/"
        return path[len(prefix) :] if path.startswith(prefix + "/") else None

    def _authorized(self, request: Request) -> bool:
        got = request.headers.get("authorization", "")
        if isinstance(self.auth, tuple):
            creds = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            scheme, want = "basic", creds
        else:
            scheme, want = "bearer", str(self.auth)
        got_scheme, _, got_value = got.strip().partition(" ")
        return got_scheme.lower() == scheme and got_value.strip() == want

    async def handle(self, request: Request, response: Response) -> None:
        route = self._route_of(request.path)
        try:
            parsed: Any = request.json() if request.body else None
        except ValueError:
            parsed = None
        self.calls.append(
            Call(request.method, route or request.path, parsed, request.headers, request.body)
        )
        if self.auth is not None and not self._authorized(request):
            body: dict[str, str] = {"error": "unauthorized"}
            if "authorization" in request.headers:
                body["received_authorization"] = request.headers["authorization"]
            scheme = 'Basic realm="ollama"' if isinstance(self.auth, tuple) else "Bearer"
            await response.send(401, go_dumps(body), JSON_GIN, {"WWW-Authenticate": scheme})
            return
        if route is None:
            await response.send(404, b"404 page not found", "text/plain")
            return
        if self.local_only and not host_allowed(request.headers.get("host", "")):
            await response.send(403, b"", None)
            return
        methods = self._routes.get(route)
        if methods is None and route.startswith("/v1/models/") and len(route) > len("/v1/models/"):
            methods = {"GET": lambda q, r: ollama_openai.retrieve_model(self, q, r, route[11:])}
        if methods is None and route.startswith("/api/blobs/"):
            blob = lambda q, r: ollama_manage.blob(self, q, r, route[11:])  # noqa: E731
            methods = {"HEAD": blob, "POST": blob}
        if methods is None:
            await response.send(404, b"404 page not found", "text/plain")
        elif request.method not in methods:
            allow = ", ".join(m for m in ("HEAD", "GET", "POST", "DELETE") if m in methods)
            await response.send(405, b"405 method not allowed", "text/plain", {"Allow": allow})
        else:
            await methods[request.method](request, response)

    # ------------------------------------------------------ plain endpoints
    async def _root(self, request: Request, response: Response) -> None:
        await response.send(200, b"Ollama is running", "text/plain; charset=utf-8")

    async def _version(self, request: Request, response: Response) -> None:
        await send_json(response, 200, {"version": self.version})

    async def _tags(self, request: Request, response: Response) -> None:
        extended = self.at_least(self.TAGS_EXTENDED_SINCE)
        await send_json(
            response, 200, {"models": [m.tags_entry(extended) for m in self.installed()]}
        )

    async def _ps(self, request: Request, response: Response) -> None:
        extended = self.at_least(self.TAGS_EXTENDED_SINCE)
        entries = []
        for item in self.running():
            m = item.record
            size = m.size + 314572800
            entries.append(
                {
                    "name": m.name,
                    "model": m.name,
                    "size": size,
                    "digest": m.digest,
                    "details": m.details(extended),
                    "expires_at": go_time_ns(item.expires_ns, utc=False),
                    "size_vram": size,
                    "context_length": item.context_length,
                }
            )
        await send_json(response, 200, {"models": entries})

    async def _requested_model(
        self, request: Request, response: Response, kind: str
    ) -> ModelRecord | None:
        """The installed model a show/delete body names, or None after answering 404."""
        body = await native_body(response, request, kind)
        if body is None:
            return None
        name = body.get("model") or body.get("name") or ""
        record = self.find(name) if isinstance(name, str) and name else None
        if record is None:
            await send_json(response, 404, {"error": f"model '{name}' not found"})
        return record

    async def _show(self, request: Request, response: Response) -> None:
        record = await self._requested_model(request, response, "api.ShowRequest")
        if record is None:
            return
        out: dict[str, Any] = {
            "modelfile": record.modelfile(),
            "parameters": record.parameters,
            "template": record.template,
            "details": record.details(self.at_least(self.TAGS_EXTENDED_SINCE)),
            "model_info": record.model_info(),
            "capabilities": list(record.capabilities),
            "modified_at": record.modified_at,
        }
        if not out["parameters"]:
            del out["parameters"]
        await send_json(response, 200, out)

    async def _delete(self, request: Request, response: Response) -> None:
        record = await self._requested_model(request, response, "api.DeleteRequest")
        if record is None:
            return
        self.models = [m for m in as_records(self.models) if m is not record]
        self.unload(record)
        await response.send(200, b"", None)

    def install(self, record: ModelRecord) -> ModelRecord:
        """Add (or refresh) an installed model, modified now."""
        fresh = copy.deepcopy(record)
        fresh.modified_at = go_time_ns(utc=False)
        want = normalize_name(record.name)
        self.models = [m for m in as_records(self.models) if normalize_name(m.name) != want]
        self.models.insert(0, fresh)
        return fresh


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake Ollama server in the foreground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--version", default="0.33.0")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--local-only", action="store_true")
    parser.add_argument("--token-delay", type=float, default=0.0)
    parser.add_argument("--first-byte-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    server = HTTPServer(host=args.host, port=args.port)
    fake = FakeOllama(
        server,
        version=args.version,
        path_prefix=args.prefix,
        local_only=args.local_only,
        token_delay=args.token_delay,
        first_byte_delay=args.first_byte_delay,
    )
    with fake:
        print(fake.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
