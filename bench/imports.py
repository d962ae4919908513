"""Import cost in fresh interpreters: each sample is a new ``python`` process.

Two numbers per module: the import itself timed inside the interpreter
(``perf_counter`` around the ``import`` statement, interpreter startup
excluded), and the whole process's wall time minus a bare interpreter's
(``python -c pass``). Modules are sampled in alternating order; bytecode caches
are warmed by one untimed run first.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench.common import Stat, rotate

# label -> (python, statement). "ollama_provider + network stack" is what the
# first request adds on top of the bare import (aiohttp and orjson load lazily).
_PROBE = "import time as _t\n_s = _t.perf_counter()\n{stmt}\nprint(_t.perf_counter() - _s)\n"


def targets(g4f_python: str | None) -> dict[str, tuple[str, str]]:
    py = sys.executable
    found = {
        "(bare interpreter)": (py, "pass"),
        "ollama_provider": (py, "import ollama_provider"),
        "ollama_provider + network stack": (
            py,
            "import ollama_provider, ollama_provider._streaming, ollama_provider._transport",
        ),
        "ollama": (py, "import ollama"),
        "openai": (py, "import openai"),
        "httpx": (py, "import httpx"),
        "aiohttp": (py, "import aiohttp"),
    }
    if g4f_python:
        found["g4f (own venv)"] = (g4f_python, "import g4f.Provider")
    return found


def _once(python: str, stmt: str, cwd: str) -> tuple[float, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    t0 = time.perf_counter()
    done = subprocess.run(
        [python, "-c", _PROBE.format(stmt=stmt)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    total = time.perf_counter() - t0
    return float(done.stdout.strip().splitlines()[-1]), total


def run(runs: int, g4f_python: str | None = None) -> dict[str, Any]:
    found = targets(g4f_python)
    inside: dict[str, list[float]] = {k: [] for k in found}
    total: dict[str, list[float]] = {k: [] for k in found}
    with tempfile.TemporaryDirectory() as cwd:  # not the repo: nothing shadows site-packages
        for python, stmt in found.values():
            _once(python, stmt, cwd)  # compile and cache bytecode
        for r in range(runs):
            for label in rotate(list(found), r):
                python, stmt = found[label]
                a, b = _once(python, stmt, cwd)
                inside[label].append(a)
                total[label].append(b)
    bare = Stat.of(total["(bare interpreter)"]).median
    out: dict[str, Any] = {"runs": runs, "modules": {}}
    for label in found:
        out["modules"][label] = {
            "import": Stat.of(inside[label]).as_dict(),
            "process": Stat.of(total[label]).as_dict(),
            "process_minus_bare": Stat.of(total[label]).median - bare,
        }
    return out
