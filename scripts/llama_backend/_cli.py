"""The command line: ``python -m scripts.llama_backend provision|serve|status``."""

from __future__ import annotations

import argparse
import pathlib
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from ._cache import (
    cache_dir,
    finished_model,
    lock_is_held,
    read_server_build,
    server_binary,
    stale_temp_entries,
)
from ._pins import MODEL_FILENAME, VERSION
from ._provision import provision
from ._server import start
from ._util import PREFIX, say, with_log_tail


def _status() -> int:
    cache = cache_dir()
    print(f"cache: {cache}")
    info, reason = read_server_build(cache)
    if info is not None:
        print(
            f"llama-server {VERSION}: ready  {server_binary(cache)}  "
            f"(sha256 {str(info.get('sha256'))[:16]}..., built {info.get('built_at')} "
            f"in {info.get('build_seconds')}s)"
        )
    else:
        print(f"llama-server {VERSION}: missing ({reason})")
    model = finished_model(cache)
    print(f"model {MODEL_FILENAME}: " + (f"ready  {model}" if model else "missing"))
    leftovers = stale_temp_entries(cache)
    if leftovers and lock_is_held(cache):
        print("another process is provisioning right now (the cache is locked)")
    else:
        for entry in leftovers:
            print(f"leftover of an aborted run (removed by the next provision): {entry}")
    return 0 if info is not None and model is not None else 1


def _serve(args: argparse.Namespace) -> int:
    server = start(
        port=args.port,
        parallel=args.parallel,
        ctx_size=args.ctx_size,
        log_path=args.log_path,
        quiet=args.quiet,
        tool_template=not args.model_template,
    )
    with server:
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        print(server.url, flush=True)
        while not stop.wait(0.5):
            if server.process.poll() is not None:
                print(
                    PREFIX
                    + with_log_tail(
                        f"llama-server exited with code {server.process.returncode}",
                        server.log_path,
                    ),
                    file=sys.stderr,
                )
                return 1
        say("stopping llama-server ...", args.quiet)
    return 0


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds, so an interrupted build is cleaned up


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.llama_backend",
        description=f"Provision and run llama-server {VERSION} with {MODEL_FILENAME}.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("provision", help="build/download into the cache if missing")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    s = commands.add_parser("serve", help="start the server, print its URL, run until stopped")
    s.add_argument("--port", type=int, default=None, help="default: a free port")
    s.add_argument("--parallel", type=int, default=4, help="number of slots (default 4)")
    s.add_argument("--ctx-size", type=int, default=None, help="default: parallel * 2048")
    s.add_argument("--log-path", type=pathlib.Path, default=None, help="default: a temp file")
    s.add_argument(
        "--model-template",
        action="store_true",
        help="use the model's own chat template (ignores tools) instead of TOOLS_CHAT_TEMPLATE",
    )
    s.add_argument("--quiet", action="store_true", help="no progress messages")
    commands.add_parser("status", help="does the cache hold a finished build and model?")
    args = parser.parse_args(argv)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)
    try:
        if args.command == "provision":
            binary, model = provision(quiet=args.quiet)
            print(binary)
            print(model)
            return 0
        if args.command == "status":
            return _status()
        return _serve(args)
    except RuntimeError as exc:
        print(f"{PREFIX}error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
