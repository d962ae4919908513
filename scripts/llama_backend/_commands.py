"""Running the provisioning commands (pip, cmake) with their output in a log."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO

_PROGRESS_EVERY = 30.0


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, None)):
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_logged(
    cmd: Sequence[str],
    log: IO[bytes],
    step: str,
    progress: Callable[[], None] | None = None,
) -> None:
    """Run ``cmd`` with its output appended to ``log``; raise on failure.

    The command runs in its own process group, which is killed if we are
    interrupted (so an aborted build does not keep compiling in the background).
    ``progress`` is called every 30 s while the command runs.
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


def pip_download(
    requirement: str, dest: pathlib.Path, log: IO[bytes], extra: Sequence[str]
) -> pathlib.Path:
    """Download the single file of ``requirement`` (no dependencies) into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-input",
        "--disable-pip-version-check", "--progress-bar", "off",
        *extra, "-d", str(dest), requirement,
    ]  # fmt: skip
    run_logged(cmd, log, f"pip download {requirement}")
    files = [p for p in dest.iterdir() if p.is_file()]
    if len(files) != 1:
        raise RuntimeError(f"pip download {requirement} produced {[p.name for p in files]}")
    return files[0]
