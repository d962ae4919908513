"""Small helpers shared by the modules: progress messages, log tails, file hashes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import sys

PREFIX = "ollama-provider: "


def say(message: str, quiet: bool) -> None:
    if not quiet:
        print(PREFIX + message, file=sys.stderr, flush=True)


def sha256_file(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(path: pathlib.Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def tail(path: pathlib.Path, lines: int) -> str:
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


def with_log_tail(message: str, log_path: pathlib.Path, lines: int = 40) -> str:
    text = tail(log_path, lines)
    if not text:
        return f"{message} (log: {log_path})"
    return f"{message}\n--- last {lines} lines of {log_path} ---\n{text}\n---"
