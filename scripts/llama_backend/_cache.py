"""The cache layout, its completion checks, the provisioning lock and temp cleanup."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pathlib
import shutil
from collections.abc import Iterator
from typing import Any

from ._pins import MODEL_FILENAME, MODEL_SIZE, SERVER_NAME, VERSION, build_config
from ._util import say, sha256_file

MARKER_NAME = "BUILD-COMPLETE.json"
TMP_PREFIX = ".tmp-"


def cache_dir() -> pathlib.Path:
    """Where builds, models and logs are cached (not created by this call).

    ``$OLLAMA_PROVIDER_CACHE`` if set, else ``~/.cache/ollama-provider``.
    """
    override = os.environ.get("OLLAMA_PROVIDER_CACHE", "").strip()
    if override:
        return pathlib.Path(override).expanduser().resolve()
    return (pathlib.Path.home() / ".cache" / "ollama-provider").resolve()


def server_dir(cache: pathlib.Path) -> pathlib.Path:
    return cache / f"llama-server-{VERSION}"


def server_binary(cache: pathlib.Path) -> pathlib.Path:
    return server_dir(cache) / SERVER_NAME


def model_path(cache: pathlib.Path) -> pathlib.Path:
    return cache / "models" / MODEL_FILENAME


def logs_dir(cache: pathlib.Path) -> pathlib.Path:
    return cache / "logs"


# --------------------------------------------------------------------------- finished?


def read_server_build(cache: pathlib.Path) -> tuple[dict[str, Any] | None, str]:
    """The completion marker of a finished, intact build, or (None, why not)."""
    folder = server_dir(cache)
    if not folder.is_dir():
        return None, "not built yet"
    try:
        info = json.loads((folder / MARKER_NAME).read_text("utf-8"))
    except (OSError, ValueError):
        return None, "no completion marker"
    if not isinstance(info, dict) or info.get("version") != VERSION:
        return None, "marker is for another version"
    if info.get("config") != build_config():
        return None, "built with a different configuration"
    binary = folder / SERVER_NAME
    try:
        same_size = binary.stat().st_size == info.get("size")
        intact = same_size and sha256_file(binary) == info.get("sha256")
    except OSError:
        return None, "binary missing"
    if not intact:
        return None, "binary does not match its recorded sha256"
    return info, ""


def finished_model(cache: pathlib.Path) -> pathlib.Path | None:
    path = model_path(cache)
    try:
        return path if path.stat().st_size == MODEL_SIZE else None
    except OSError:
        return None


# --------------------------------------------------------------------------- lock and cleanup


def _open_lock(cache: pathlib.Path) -> int:
    cache.mkdir(parents=True, exist_ok=True)
    return os.open(cache / ".lock", os.O_RDWR | os.O_CREAT, 0o644)


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock on ``fd`` if nobody holds it; never waits."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def locked(cache: pathlib.Path, quiet: bool) -> Iterator[None]:
    """Hold the exclusive provisioning lock (waits for other processes)."""
    fd = _open_lock(cache)
    try:
        if not _try_lock(fd):
            say(f"waiting for another process that is provisioning {cache} ...", quiet)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def lock_is_held(cache: pathlib.Path) -> bool:
    try:
        fd = os.open(cache / ".lock", os.O_RDWR)
    except OSError:
        return False
    try:
        return not _try_lock(fd)
    finally:
        os.close(fd)


def stale_temp_entries(cache: pathlib.Path) -> list[pathlib.Path]:
    found: list[pathlib.Path] = []
    for folder in (cache, cache / "models"):
        with contextlib.suppress(OSError):
            found.extend(p for p in folder.iterdir() if p.name.startswith(TMP_PREFIX))
    return found


def _remove(path: pathlib.Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def remove_stale_temp(cache: pathlib.Path) -> None:
    """Delete leftovers of failed or aborted runs.  Call only under the lock."""
    for entry in stale_temp_entries(cache):
        _remove(entry)


def remove_stale_temp_if_idle(cache: pathlib.Path) -> None:
    """Opportunistic cleanup when nobody else is provisioning right now."""
    if not stale_temp_entries(cache):
        return
    fd = _open_lock(cache)
    try:
        if _try_lock(fd):
            remove_stale_temp(cache)
    finally:
        os.close(fd)
