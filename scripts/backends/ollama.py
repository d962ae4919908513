"""The real Ollama server, built from source with Go, with SmolLM2-135M imported.

Pinned to **v0.24.0**: it is the newest release whose plain Go build still runs
models on the CPU by itself (the cgo runners ``runner/llamarunner`` and
``runner/ollamarunner``). From 0.30 on, Ollama starts an external
``llama-server`` that needs a separate cmake build (``llm/llama_server.go``),
and 0.25-0.29 are not served by the Go module proxy.

Building (``python -m scripts.backends provision``, once, into
``<cache>/ollama-v0.24.0/``) needs Go >= 1.26 and a C/C++ compiler (cgo), and
takes about 3 minutes on a 2-core machine: measured 3 min 5 s from empty Go
module and build caches, downloads included. ``go install`` alone fails: Go module
zips drop ``vendor/`` folders, so llama.cpp's vendored headers (nlohmann/json,
miniaudio, stb_image) are missing. They come from the ``llama-cpp-python``
sdist on PyPI (checksum-verified) and are passed in with ``CGO_CPPFLAGS``.

Running (:func:`start`): ``ollama serve`` on a free loopback port, with its
own ``HOME`` and model folder in a temporary directory (nothing touches
``~/.ollama``), in its own process group so its runner processes stop with it.
The model is imported through the blob API, so ``/api/tags`` lists a real model.

    python -m scripts.backends.ollama      # prints the URL, runs until ^C
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field

from ._base import (
    MODEL_ALIAS,
    MODEL_FILENAME,
    MODEL_SHA256,
    RunningServer,
    build_once,
    cache_dir,
    fetch_model,
    free_port,
    http_ok,
    run_logged,
    say,
    spawn,
    stop,
    wait_until,
)

VERSION = "0.24.0"
_MODULE = "github.com/ollama/ollama"
_HEADERS_SDIST = "llama-cpp-python==0.3.16"
_HEADERS_SHA256 = "34ed0f9bd9431af045bb63d9324ae620ad0536653740e9bb163a2e1fcb973be6"
_HEADER_DIRS = ("nlohmann", "miniaudio", "stb")
_GO_NEEDED = (1, 26)  # ollama v0.24.0's go.mod; GOTOOLCHAIN=local: no toolchain download
_HOME_PREFIX = "ollama-provider-ollama-"
_ENABLE = "install Go >= 1.26 and a C compiler, then: python -m scripts.backends provision (~3 min)"


class OllamaUnavailable(RuntimeError):
    """Ollama is not built here and cannot be (no Go); the message says how to enable it."""


def binary_path() -> pathlib.Path:
    return cache_dir() / f"ollama-v{VERSION}" / "ollama"


def find_go() -> str | None:
    """``go`` from PATH, else the usual install location (often not on PATH)."""
    found = shutil.which("go")
    if found:
        return found
    default = pathlib.Path("/usr/local/go/bin/go")
    return str(default) if os.access(default, os.X_OK) else None


def ensure_built() -> pathlib.Path:
    """The cached ``ollama`` binary, built first if missing; :class:`OllamaUnavailable` if no Go."""
    final = binary_path()
    if os.access(final, os.X_OK):
        return final
    go = find_go()
    if go is None:
        raise OllamaUnavailable(f"Ollama v{VERSION} is not built and Go is missing: {_ENABLE}")
    found = _go_version(go)
    if found < _GO_NEEDED:
        have = ".".join(map(str, found)) or "unknown"
        raise OllamaUnavailable(f"Ollama v{VERSION} is not built and {go} is Go {have}: {_ENABLE}")

    def build(work: pathlib.Path) -> pathlib.Path:
        headers = _vendor_headers()
        took = _go_install(go, headers, work, cache_dir() / f"ollama-v{VERSION}-build.log")
        say(f"built Ollama v{VERSION} in {took:.0f} s: {final}")
        return work

    # done() again under the lock: another process may have built it meanwhile
    build_once(f"ollama-v{VERSION}", final.parent, lambda: os.access(final, os.X_OK), build)
    return final


def _go_version(go: str) -> tuple[int, ...]:
    """(1, 26, 8) for go1.26.8; () when it cannot be told."""
    try:
        out = subprocess.run(
            [go, "env", "GOVERSION"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    digits = out.strip().removeprefix("go").split("-")[0].split(".")
    return tuple(int(d) for d in digits if d.isdigit())


def _go_install(go: str, headers: pathlib.Path, bindir: pathlib.Path, log: pathlib.Path) -> float:
    say(f"building Ollama v{VERSION} with {go} (once; about 3 min on 2 cores; log: {log})")
    env = dict(os.environ)
    env.update(GOTOOLCHAIN="local", CGO_ENABLED="1", GOBIN=str(bindir), GOFLAGS="-modcacherw")
    env["CGO_CPPFLAGS"] = f"-I{headers} {env.get('CGO_CPPFLAGS', '')}".strip()
    ldflags = f"-X={_MODULE}/version.Version={VERSION}"  # else /api/version says 0.0.0
    log.write_bytes(b"")
    began = time.monotonic()
    cmd = [go, "install", "-ldflags", ldflags, f"{_MODULE}@v{VERSION}"]
    run_logged(cmd, log, f"go install ollama@v{VERSION}", env)
    took = time.monotonic() - began
    built = bindir / "ollama"
    probe = subprocess.run(
        [str(built), "--version"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**env, "OLLAMA_HOST": "127.0.0.1:9"},  # no server there: only the client's version
        check=False,
    )
    if VERSION not in probe.stdout + probe.stderr:
        raise RuntimeError(f"{built} --version did not report {VERSION}: {probe.stderr.strip()}")
    (bindir / "BUILD.txt").write_text(f"ollama v{VERSION}, built in {took:.0f} s by {go}\n")
    return took


def _vendor_headers() -> pathlib.Path:
    """llama.cpp's vendored headers that Go module zips leave out, from a verified sdist."""
    final = cache_dir() / "llama-cpp-vendor-headers-0.3.16"

    def build(work: pathlib.Path) -> pathlib.Path:
        say(f"fetching llama.cpp's vendored headers from the {_HEADERS_SDIST} sdist (50 MB, once)")
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        pip += ["--disable-pip-version-check", "--progress-bar", "off", "-d", str(work)]
        log = work / "pip.log"
        step = f"pip download {_HEADERS_SDIST}"
        run_logged([*pip, _HEADERS_SDIST], log, step, dict(os.environ))
        sdist = next(work.glob("*.tar.gz"))
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != _HEADERS_SHA256:
            raise RuntimeError(f"{sdist.name} has sha256 {digest}, expected {_HEADERS_SHA256}")
        out = work / "headers"
        with tarfile.open(sdist) as archive:
            for member in archive.getmembers():
                parts = pathlib.PurePosixPath(member.name).parts
                wanted = parts[1:4] == ("vendor", "llama.cpp", "vendor") and len(parts) > 5
                src = archive.extractfile(member) if member.isfile() else None
                if src is None or not wanted or parts[4] not in _HEADER_DIRS:
                    continue
                target = out.joinpath(*parts[4:])
                target.parent.mkdir(parents=True, exist_ok=True)
                with src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        return out

    build_once("llama-headers", final, final.is_dir, build)
    return final


@dataclass
class OllamaServer(RunningServer):
    """A running ``ollama serve``; ``url`` is its root, ``base_url`` its ``/v1`` layer."""

    url: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: pathlib.Path
    home: pathlib.Path
    model: str = MODEL_ALIAS
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Stop the server and its runners (the whole process group); remove its HOME."""
        if not self._stopped:
            self._stopped = True
            stop(self.process)
            shutil.rmtree(self.home, ignore_errors=True)


def start(
    *,
    parallel: int = 4,
    keep_alive: str = "10m",
    log_path: pathlib.Path | None = None,
    timeout: float = 60.0,
) -> OllamaServer:
    """``ollama serve`` on a free loopback port, in a temporary HOME, with SmolLM2 imported.

    ``parallel`` slots let that many streams run at once; ``keep_alive`` keeps
    the model loaded between tests (a reload costs about a second).
    """
    binary = ensure_built()
    model = fetch_model()
    home = pathlib.Path(tempfile.mkdtemp(prefix=_HOME_PREFIX))
    (home / "owner.pid").write_text(str(os.getpid()))
    _remove_stale_homes(home.parent)
    log_path = log_path or home / "ollama.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OLLAMA_")}
    env.update(
        HOME=str(home),  # the server writes ~/.ollama/id_ed25519
        OLLAMA_HOST=f"127.0.0.1:{port}",
        OLLAMA_MODELS=str(home / "models"),
        OLLAMA_NUM_PARALLEL=str(parallel),
        OLLAMA_KEEP_ALIVE=keep_alive,
        OLLAMA_NO_CLOUD="1",  # offline: no remote models or web search
    )
    began = time.monotonic()
    proc = spawn([str(binary), "serve"], log_path, env, stdout=None)
    server = OllamaServer(f"http://127.0.0.1:{port}", proc, log_path, home)
    atexit.register(server.stop)
    try:
        wait_until(lambda: http_ok(server.url + "/"), proc, "ollama serve", log_path, timeout)
        _import_model(server.url, model, timeout)
    except BaseException:
        server.stop()
        raise
    took = time.monotonic() - began
    say(f"Ollama v{VERSION} at {server.url} with {MODEL_ALIAS}, ready in {took:.1f} s")
    return server


def _remove_stale_homes(parent: pathlib.Path) -> None:
    """Temporary HOMEs of runs that were killed (so no atexit ran): their owner is gone."""
    for home in parent.glob(_HOME_PREFIX + "*"):
        try:
            os.kill(int((home / "owner.pid").read_text()), 0)
        except ProcessLookupError:
            shutil.rmtree(home, ignore_errors=True)
        except (OSError, ValueError):
            continue  # no readable owner (yet): leave it


def _import_model(url: str, model: pathlib.Path, timeout: float) -> None:
    """Upload the GGUF as a blob, then create ``smollm2:135m`` from it (no CLI needed)."""
    digest = f"sha256:{MODEL_SHA256}"
    with open(model, "rb") as body:
        upload = urllib.request.Request(  # noqa: S310 - loopback only
            f"{url}/api/blobs/{digest}",
            data=body,
            method="POST",
            headers={"Content-Length": str(model.stat().st_size)},
        )
        with urllib.request.urlopen(upload, timeout=timeout):  # noqa: S310
            pass
    create = {"model": MODEL_ALIAS, "files": {MODEL_FILENAME: digest}, "stream": False}
    request = urllib.request.Request(  # noqa: S310 - loopback only
        f"{url}/api/create",
        data=json.dumps(create).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
        status = json.loads(reply.read() or b"{}").get("status")
    if status != "success":
        raise RuntimeError(f"creating {MODEL_ALIAS} answered {status!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.backends.ollama", description=__doc__)
    parser.add_argument("--parallel", type=int, default=4, help="parallel slots (default 4)")
    args = parser.parse_args(argv)
    with start(parallel=args.parallel) as server:
        print(server.url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.process.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
