"""Shared helpers: the server subprocess, statistics, machine facts."""

from __future__ import annotations

import http.client
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MESSAGES = [{"role": "user", "content": "Tell me a story."}]


@dataclass
class Stat:
    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stat:
        if not values:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        return cls(statistics.median(values), min(values), max(values), len(values))

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "n": self.n}


def rate(stat: dict[str, float]) -> str:
    """A tokens/s ``Stat.as_dict()`` as "median (min–max)"."""
    if math.isnan(stat["median"]):
        return "n/a"
    return f"{stat['median']:.1f} ({stat['min']:.1f}–{stat['max']:.1f})"


class ServerProcess:
    """``python -m bench.server`` in its own process; ``stats()`` reads its counters."""

    def __init__(self, python: str = sys.executable, args: tuple[str, ...] = ()) -> None:
        self._stats_conn: http.client.HTTPConnection | None = None
        self._own_connections = 0
        self.proc = subprocess.Popen(
            [python, "-m", "bench.server", *args],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"bench.server did not start (said {line!r})")
        self.port = int(line)
        self.base = f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, Any]:
        """The server's counters; ``connections`` leaves out the ones made for these calls."""
        for attempt in (1, 2):
            if self._stats_conn is None:
                self._stats_conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self._own_connections += 1
            try:
                self._stats_conn.request("GET", "/_bench/stats")
                data: dict[str, Any] = json.loads(self._stats_conn.getresponse().read())
                break
            except (OSError, http.client.HTTPException):
                self._stats_conn.close()
                self._stats_conn = None
                if attempt == 2:
                    raise
        data["connections"] -= self._own_connections
        return data

    def stop(self) -> None:
        if self._stats_conn is not None:
            self._stats_conn.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def version_of(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    packages = ("ollama-provider", "aiohttp", "orjson", "httpx", "ollama", "openai", "uvloop")
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "os": platform.platform(),
        "python": sys.version.split()[0] + f" ({platform.python_implementation()})",
        **{name: version_of(name) for name in packages},
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def rotate(items: list[Any], by: int) -> list[Any]:
    """``items`` started at position ``by``: each round starts with another client."""
    if not items:
        return items
    by %= len(items)
    return items[by:] + items[:by]
