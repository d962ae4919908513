"""llama.cpp's HTTP server with SmolLM2-135M, from the prebuilt ``xllamacpp`` wheel.

``xllamacpp.Server`` runs llama.cpp's own server code in-process; this module
runs it in a **separate** process (a crash in native code cannot take the test
process down) that prints its URL once ready and stops on SIGTERM/SIGINT or
when its parent dies. Tests, the demo and the benchmarks talk to it over
loopback HTTP exactly as they would to ``llama-server``.

    python -m scripts.backends.llama [--port N] [--parallel 4]   # prints the URL, runs until ^C

``OLLAMA_PROVIDER_LLAMA_SERVER=/path/to/llama-server`` runs that binary instead,
with the same settings.

Catches of the wheel, measured: ``model_alias`` takes a set (a string is split
into characters); ``port = 0`` lets the OS choose (read ``listening_address``);
``verbosity`` 1 logs errors only; a bad model path or a taken port raises a
vague ``RuntimeError`` whose cause is in the log; ``LLAMA_ARG_*`` variables are
ignored. Like the binary, it closes the connection after each streamed answer.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from ._base import (
    MODEL_ALIAS,
    RunningServer,
    failure,
    fetch_model,
    free_port,
    http_ok,
    say,
    spawn,
    stop,
    wait_until,
)
from ._template import TOOLS_CHAT_TEMPLATE

XLLAMACPP_VERSION = "2026.10.11549"  # pinned: its JSON-schema grammars change between releases
CTX_PER_SLOT = 2048
CACHE_RAM_MIB = 256  # the server's prompt cache would take 8 GiB by default


@dataclass
class LlamaServer(RunningServer):
    """A running server: ``base_url`` is the OpenAI-compatible base (``url + "/v1"``)."""

    url: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: pathlib.Path
    model: str = MODEL_ALIAS


def start(
    *,
    parallel: int = 4,
    port: int = 0,
    log_path: pathlib.Path | None = None,
    timeout: float = 120.0,
) -> LlamaServer:
    """Start the server on loopback (``port`` 0: a free one) and wait until it answers."""
    model = fetch_model()
    if log_path is None:
        log_path = pathlib.Path(tempfile.mkstemp(prefix="llama-server-", suffix=".log")[1])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    binary = os.environ.get("OLLAMA_PROVIDER_LLAMA_SERVER", "").strip()
    if binary:
        return _start_binary(binary, model, parallel, port, log_path, timeout)
    argv = [sys.executable, "-m", "scripts.backends.llama", "--parent", str(os.getpid())]
    argv += ["--parallel", str(parallel), "--model-path", str(model), "--port", str(port)]
    began = time.monotonic()
    proc = spawn(argv, log_path, _child_env(), stdout=subprocess.PIPE)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().decode().strip() if ready else ""
    proc.stdout.close()
    if not line.startswith("http://"):
        stop(proc)
        raise failure("the embedded llama.cpp server did not start", log_path)
    say(f"llama.cpp server (xllamacpp) at {line}, ready in {time.monotonic() - began:.1f} s")
    return LlamaServer(line, proc, log_path)


def _child_env() -> dict[str, str]:
    root = str(pathlib.Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


def _start_binary(
    binary: str, model: pathlib.Path, parallel: int, port: int, log: pathlib.Path, timeout: float
) -> LlamaServer:
    port = port or free_port()
    argv = [binary, "--model", str(model), "--alias", MODEL_ALIAS, "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--parallel", str(parallel)]
    argv += ["--ctx-size", str(parallel * CTX_PER_SLOT), "--cache-ram", str(CACHE_RAM_MIB)]
    argv += ["--jinja", "--chat-template", TOOLS_CHAT_TEMPLATE]
    proc = spawn(argv, log, dict(os.environ), stdout=None)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: http_ok(url + "/health"), proc, binary, log, timeout)
    return LlamaServer(url, proc, log)


# -- the child process ---------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model_path or str(fetch_model())
    params.model_alias = {MODEL_ALIAS}  # a set: a plain string would become its characters
    params.port = args.port
    params.n_parallel = args.parallel
    params.n_ctx = args.parallel * CTX_PER_SLOT  # shared by the slots
    params.cache_ram_mib = CACHE_RAM_MIB
    params.use_jinja = True
    params.chat_template = TOOLS_CHAT_TEMPLATE
    params.verbosity = 1  # errors only; 0 would hide them too
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        server = xllamacpp.Server(params)
    except RuntimeError as exc:
        print(f"xllamacpp could not start the server: {exc} (the cause is above)", file=sys.stderr)
        return 1
    print(server.listening_address, flush=True)
    os.dup2(2, 1)  # nothing more on the pipe the parent has stopped reading
    while not stopping.wait(0.5):
        if args.parent and os.getppid() != args.parent:
            break  # the parent died (where PR_SET_PDEATHSIG is not available)
    sys.stderr.flush()
    os._exit(0)  # the server's native threads are not joinable; the OS frees everything


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.backends.llama", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--parallel", type=int, default=4, help="slots (default 4)")
    parser.add_argument("--model-path", default="", help="default: SmolLM2-135M from the cache")
    parser.add_argument("--parent", type=int, default=0, help=argparse.SUPPRESS)
    return _serve(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
