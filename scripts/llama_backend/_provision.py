"""Making sure a built ``llama-server`` and the model are in the cache."""

from __future__ import annotations

import pathlib

from ._build import build_server
from ._cache import (
    cache_dir,
    finished_model,
    locked,
    read_server_build,
    remove_stale_temp,
    remove_stale_temp_if_idle,
    server_binary,
)
from ._model import fetch_model


def provision(*, quiet: bool = False) -> tuple[pathlib.Path, pathlib.Path]:
    """Make sure a built ``llama-server`` and the model are cached.

    Returns ``(server_binary, model_path)``.  Builds (several minutes, once) and
    downloads only what is missing; progress goes to stderr unless ``quiet``.
    Raises :class:`RuntimeError` with the tail of the relevant log on failure.
    """
    cache = cache_dir()
    info, _ = read_server_build(cache)
    model = finished_model(cache)
    if info is not None and model is not None:
        remove_stale_temp_if_idle(cache)
        return server_binary(cache), model

    with locked(cache, quiet):
        remove_stale_temp(cache)
        info, reason = read_server_build(cache)  # another process may have finished it
        if info is None:
            build_server(cache, reason, quiet)
        model = finished_model(cache)
        if model is None:
            model = fetch_model(cache, quiet)
    return server_binary(cache), model
