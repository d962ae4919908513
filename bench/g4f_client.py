"""gpt4free as a bench client: a worker process in a separate venv (see :mod:`bench.g4f_worker`).

g4f pulls in many dependencies, so it is never installed into the project's
venv: :func:`ensure_venv` makes ``$BENCH_G4F_VENV`` (default ``/tmp/g4f-venv``)
with ``pip install g4f`` when asked to. If that fails, the client reports
itself unavailable with the reason, and the report says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.clients import Client
from bench.common import REPO

VENV = Path(os.environ.get("BENCH_G4F_VENV") or Path(tempfile.gettempdir()) / "g4f-venv")


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv(install: bool) -> str:
    """'' when g4f imports in the venv, else why not (installing first when ``install``)."""
    python = venv_python()
    if not python.exists():
        if not install:
            return f"no g4f venv at {VENV} (the full run creates it; smoke runs do not)"
        make = [sys.executable, "-m", "venv", str(VENV)]
        made = subprocess.run(make, capture_output=True, text=True, check=False)
        if made.returncode:
            return f"could not create {VENV}: {made.stderr.strip()[-300:]}"
    check = [str(python), "-c", "import g4f.Provider"]
    if subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return ""
    if not install:
        return f"g4f is not importable in {VENV}"
    install_cmd = [str(python), "-m", "pip", "install", "-q", "g4f"]
    pip = subprocess.run(install_cmd, capture_output=True, text=True, check=False)
    if pip.returncode:
        return f"`pip install g4f` failed: {pip.stderr.strip()[-300:]}"
    imported = subprocess.run(check, capture_output=True, text=True, check=False)
    if imported.returncode:
        return f"g4f installed but `import g4f.Provider` fails: {imported.stderr.strip()[-300:]}"
    return ""


class G4FClient(Client):
    key, label, route = "g4f", "gpt4free Custom (OpenaiTemplate) provider", "sse"
    strips_leading_space = True  # read_response() strips the first content piece

    def __init__(self, base: str) -> None:
        super().__init__(base)
        self.proc: subprocess.Popen[str] | None = None
        self.version = ""

    def _ask(self, op: str, n: int = 16) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"op": op, "n": n, "pace": self.pace_us}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the g4f worker exited")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"g4f worker: {answer['error']}")
        return answer

    async def open(self) -> None:
        self.proc = subprocess.Popen(
            [str(venv_python()), "-m", "bench.g4f_worker", self.base],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.version = str(self._ask("version")["version"])

    async def close(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    async def measure(self, n: int) -> tuple[float, float, str]:
        answer = self._ask("stream", n)
        return float(answer["wall"]), float(answer["cpu"]), str(answer["text"])

    async def stream(self, n: int) -> str:
        return (await self.measure(n))[2]

    async def first(self, n: int) -> float:
        return float(self._ask("first", n)["first"])

    async def cold_first(self, n: int) -> float:
        return float(self._ask("cold", n)["first"])
