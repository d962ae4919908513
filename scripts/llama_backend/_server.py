"""Running ``llama-server`` on loopback: :class:`LlamaServer` and :func:`start`."""

from __future__ import annotations

import atexit
import http.client
import json
import os
import pathlib
import shlex
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from types import TracebackType

from ._pins import MODEL_ALIAS
from ._process import spawn, terminate
from ._provision import provision
from ._template import TOOLS_CHAT_TEMPLATE
from ._util import say, tail, with_log_tail

_HOST = "127.0.0.1"
_CTX_PER_SLOT = 2048
_CACHE_RAM_MIB = 256  # llama-server's prompt cache defaults to 8 GiB of RAM
_STOP_TIMEOUT = 10.0
_PORT_ATTEMPTS = 5
_BIND_ERROR = "couldn't bind HTTP server socket"


class LlamaServer:
    """A running ``llama-server`` (create it with :func:`start`)."""

    url: str
    """Root URL, e.g. ``http://127.0.0.1:43121`` (``/health``, ``/v1/...``)."""
    base_url: str
    """OpenAI-compatible base URL: ``url + "/v1"``."""
    log_path: pathlib.Path
    """File receiving the server's stdout and stderr."""
    process: subprocess.Popen[bytes]

    def __init__(
        self,
        *,
        process: subprocess.Popen[bytes],
        port: int,
        log_path: pathlib.Path,
        binary: pathlib.Path,
        model_path: pathlib.Path,
        argv: list[str],
    ) -> None:
        self.process = process
        self.port = port
        self.url = f"http://{_HOST}:{port}"
        self.base_url = self.url + "/v1"
        self.log_path = log_path
        self.binary = binary
        self.model_path = model_path
        self.model = MODEL_ALIAS
        self.argv = argv
        self._stop_lock = threading.Lock()
        self._stopped = False
        atexit.register(self.stop)

    def __repr__(self) -> str:
        state = "running" if self.process.poll() is None else f"exited {self.process.returncode}"
        return f"<LlamaServer {self.url} pid={self.process.pid} {state} log={self.log_path}>"

    def is_running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        """The last ``lines`` lines of the server's log."""
        return tail(self.log_path, lines)

    def stop(self) -> None:
        """SIGTERM, up to 10 s for a clean exit, then SIGKILL.  Idempotent."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        atexit.unregister(self.stop)
        terminate(self.process, _STOP_TIMEOUT)

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --------------------------------------------------------------------------- launching


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _server_argv(
    *,
    binary: pathlib.Path,
    model: pathlib.Path,
    port: int,
    parallel: int,
    ctx_size: int,
    tool_template: bool,
    extra_args: Sequence[str],
) -> list[str]:
    template = ["--chat-template", TOOLS_CHAT_TEMPLATE] if tool_template else []
    return [
        str(binary),
        "--model", str(model),
        "--alias", MODEL_ALIAS,
        "--host", _HOST,
        "--port", str(port),
        "--parallel", str(parallel),
        "--ctx-size", str(ctx_size),  # shared by the slots: ctx_size / parallel each
        "--jinja",  # the default in this version; explicit, and must precede --chat-template
        *template,
        "--cache-ram", str(_CACHE_RAM_MIB),
        "--metrics",
        "--log-colors", "off",
        *extra_args,
    ]  # fmt: skip


def _server_env() -> dict[str, str]:
    # llama-server reads LLAMA_ARG_* (and LLAMA_API_KEY) as defaults for its
    # flags; a developer's settings must not change the test server.
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LLAMA_ARG_") and k != "LLAMA_API_KEY"
    }


def _launch(argv: list[str], log_path: pathlib.Path) -> subprocess.Popen[bytes]:
    env = _server_env()
    with open(log_path, "wb") as log:
        shown = ["<TOOLS_CHAT_TEMPLATE>" if a == TOOLS_CHAT_TEMPLATE else a for a in argv]
        log.write(f"$ {shlex.join(shown)}\n".encode())
        log.flush()
        return spawn(argv, log, env)


# --------------------------------------------------------------------------- health


class _PortInUse(Exception):
    pass


def _http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes] | None:
    """GET on the loopback server, bypassing any proxy settings; None if unreachable."""
    conn = http.client.HTTPConnection(_HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _serves_alias(port: int) -> bool:
    reply = _http_get(port, "/v1/models")
    if reply is None or reply[0] != 200:
        return False
    try:
        models = json.loads(reply[1]).get("data", [])
        return any(m.get("id") == MODEL_ALIAS for m in models)
    except (ValueError, AttributeError):
        return False


def _wait_healthy(server: LlamaServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        returncode = server.process.poll()
        if returncode is not None:
            if _BIND_ERROR in server.log_tail(20):
                raise _PortInUse
            raise RuntimeError(
                with_log_tail(
                    f"llama-server exited with code {returncode} before it became healthy",
                    server.log_path,
                    60,
                )
            )
        reply = _http_get(server.port, "/health")
        last = None if reply is None else reply[0]
        # the alias check makes sure the answer comes from our process
        if last == 200 and _serves_alias(server.port) and server.process.poll() is None:
            return
        if time.monotonic() >= deadline:
            raise RuntimeError(
                with_log_tail(
                    f"llama-server at {server.url} was not healthy within {timeout:g}s "
                    f"(last GET /health status: {last})",
                    server.log_path,
                    60,
                )
            )
        time.sleep(0.1)


# --------------------------------------------------------------------------- start


def start(
    *,
    port: int | None = None,
    parallel: int = 4,
    log_path: pathlib.Path | None = None,
    quiet: bool = False,
    ctx_size: int | None = None,
    startup_timeout: float = 120.0,
    tool_template: bool = True,
    extra_args: Sequence[str] = (),
) -> LlamaServer:
    """Provision if needed, start ``llama-server`` on loopback, wait until healthy.

    ``port=None`` picks a free port (retrying on a collision).  ``ctx_size``
    defaults to ``parallel * 2048`` so that each slot gets 2048 tokens.  The
    server's output goes to ``log_path`` (default: a new temporary file, kept
    after the server stops).  ``tool_template=False`` keeps the model's own chat
    template, which ignores ``tools`` (see :data:`TOOLS_CHAT_TEMPLATE`).
    ``extra_args`` are appended to the command line.
    On Linux the server is killed if this Python process dies.
    """
    if parallel < 1:
        raise ValueError("parallel must be >= 1")
    binary, model = provision(quiet=quiet)
    ctx = ctx_size if ctx_size is not None else parallel * _CTX_PER_SLOT
    if log_path is None:
        fd, name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
        os.close(fd)
        log_path = pathlib.Path(name)
    else:
        log_path = pathlib.Path(log_path).expanduser().resolve()
        log_path.parent.mkdir(parents=True, exist_ok=True)

    attempts = 1 if port is not None else _PORT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        chosen = port if port is not None else _free_port()
        argv = _server_argv(
            binary=binary, model=model, port=chosen, parallel=parallel, ctx_size=ctx,
            tool_template=tool_template, extra_args=extra_args,
        )  # fmt: skip
        began = time.monotonic()
        server = LlamaServer(
            process=_launch(argv, log_path),
            port=chosen,
            log_path=log_path,
            binary=binary,
            model_path=model,
            argv=argv,
        )
        try:
            _wait_healthy(server, startup_timeout)
        except _PortInUse:
            server.stop()
            if attempt < attempts:
                continue
            raise RuntimeError(
                with_log_tail(f"llama-server could not bind port {chosen}", log_path)
            ) from None
        except BaseException:
            server.stop()
            raise
        say(
            f"llama-server ready at {server.url} after {time.monotonic() - began:.1f}s "
            f"(log: {log_path})",
            quiet,
        )
        return server
    raise AssertionError("unreachable")
