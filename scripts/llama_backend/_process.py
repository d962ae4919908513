"""Starting a child process that dies with this one, and stopping it."""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO

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


def spawn(argv: list[str], log: IO[bytes], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``argv`` with its stdout and stderr going to ``log``.

    On Linux the child is killed if this Python process dies.
    """
    preexec = _parent_death_preexec()
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


def terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, up to ``timeout`` seconds for a clean exit, then SIGKILL."""
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()
