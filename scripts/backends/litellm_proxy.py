"""The LiteLLM proxy, a real serving layer, in front of test backends; from its own venv.

LiteLLM's dependency tree is large (about 120 packages), so it never enters the
project's venv: :func:`ensure_venv` builds one under the cache folder, keyed by
LiteLLM's version and Python's, once (a temporary folder beside it, renamed into
place when the install is complete and imports, under a file lock). The proxy
runs in a child process on a free loopback port, started with
``python -m litellm.proxy.proxy_cli`` (the venv's console scripts name the
temporary folder they were built in); tests talk to it over HTTP.

Offline: the proxy would fetch its model cost map and a few other catalogues
from the network at start and on first use; the ``LITELLM_LOCAL_*`` switches
(and ``LITELLM_OFFLINE_MODE``, which later releases read) make it use the copies
bundled in the package. Checked with ``strace -f -e trace=connect``: the only
connections the proxy opens are to its loopback backends. It also runs in an
empty working folder (it reads a ``.env`` from there) with no proxy variables.

    python -m scripts.backends.litellm_proxy URL [URL ...]   # the proxy in front of them

Version: ``litellm[proxy]==1.110.2`` does not install from the registry this
project uses (its ``proxy`` extra needs ``litellm-proxy==1.110.2`` and
``litellm-proxy-extras==0.4.114.post1``, neither served); 1.108.7 is the newest
release checked whose ``proxy`` extra installs as declared.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from ._base import (
    MODEL_ALIAS,
    RunningServer,
    build_once,
    cache_dir,
    free_port,
    http_ok,
    run_logged,
    say,
    spawn,
    wait_until,
)

LITELLM_VERSION = "1.108.7"
_DONE = ".complete"  # written last, inside the temporary folder, before the rename

#: What keeps the proxy off the network: bundled catalogues instead of downloads.
OFFLINE_ENV = {
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "HF_HUB_OFFLINE": "1",
    "DISABLE_ADMIN_UI": "True",
    "NO_DOCS": "True",
}
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


def venv_dir() -> pathlib.Path:
    major, minor = sys.version_info[:2]
    return cache_dir() / f"litellm-{LITELLM_VERSION}-py{major}.{minor}"


def venv_python() -> pathlib.Path:
    return venv_dir() / "bin" / "python"


def ensure_venv() -> pathlib.Path:
    """The venv's Python, with ``litellm[proxy]`` installed (built once, then reused)."""
    final = venv_dir()
    log = final.parent / f"litellm-{LITELLM_VERSION}-install.log"

    def build(work: pathlib.Path) -> pathlib.Path:
        began = time.monotonic()
        say(f"installing litellm[proxy]=={LITELLM_VERSION} into {final} (once; about 120 packages)")
        log.write_text("", "utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        run_logged([sys.executable, "-m", "venv", str(work)], log, "python -m venv", env)
        python = str(work / "bin" / "python")
        pip = [python, "-m", "pip", "install", "--disable-pip-version-check"]
        pip += ["--progress-bar", "off", f"litellm[proxy]=={LITELLM_VERSION}"]
        run_logged(pip, log, f"pip install litellm[proxy]=={LITELLM_VERSION}", env)
        check = [python, "-c", "import litellm.proxy.proxy_cli"]
        run_logged(check, log, "import litellm.proxy.proxy_cli", {**env, **OFFLINE_ENV})
        (work / _DONE).write_text(LITELLM_VERSION + "\n", "utf-8")
        say(f"litellm {LITELLM_VERSION} installed in {time.monotonic() - began:.0f} s (log: {log})")
        return work

    def done() -> bool:  # an unfinished folder (no _DONE) is replaced
        return (final / _DONE).is_file() and venv_python().exists()

    build_once("litellm", final, done, build)
    return venv_python()


@dataclass
class LiteLLMProxy(RunningServer):
    """A running proxy: ``base_url`` is its OpenAI-compatible base; calls need ``master_key``."""

    url: str
    master_key: str = field(repr=False)
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: pathlib.Path
    model: str = MODEL_ALIAS


def config_text(backends: Sequence[str], model: str = MODEL_ALIAS) -> str:
    """The proxy's config: one model name served by every backend (OpenAI-compatible bases).

    LiteLLM spreads calls over the backends and, when one fails, retries the call on
    another and cools the failed one down. Strings are written as JSON, which YAML reads.
    """
    q = json.dumps
    lines = ["model_list:"]
    for base in backends:
        lines += [
            f"  - model_name: {q(model)}",
            "    litellm_params:",
            f"      model: {q('openai/' + model)}",  # openai/: any OpenAI-compatible server
            f"      api_base: {q(base)}",
            '      api_key: "none"',  # the backends ask for none; the client would send one
            "      timeout: 120",
            "      stream_timeout: 120",
        ]
    lines += [
        "router_settings:",
        '  routing_strategy: "simple-shuffle"',
        # Retries are immediate and pick a backend at random again; the failed one is
        # set aside (cooled down) by a callback that may land after the next pick, so a
        # few retries make sure a call is not sent to a dead backend every time.
        "  num_retries: 5",
        "  allowed_fails: 0",  # set a backend aside at its first failure
        "  cooldown_time: 60",
        "litellm_settings:",
        "  request_timeout: 120",
        "",
    ]
    return "\n".join(lines)


def start(
    backends: Sequence[str],
    *,
    model: str = MODEL_ALIAS,
    port: int = 0,
    log_path: pathlib.Path | None = None,
    timeout: float = 180.0,
) -> LiteLLMProxy:
    """Start the proxy on loopback in front of ``backends`` and wait until it answers."""
    python = ensure_venv()
    folder = pathlib.Path(tempfile.mkdtemp(prefix="litellm-proxy-"))
    if log_path is None:
        log_path = folder / "proxy.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yaml"
    config.write_text(config_text(backends, model), "utf-8")
    port = port or free_port()
    key = "sk-" + secrets.token_hex(24)
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARIABLES}
    env.update(OFFLINE_ENV, LITELLM_MASTER_KEY=key, NO_PROXY="*", no_proxy="*")
    argv = [str(python), "-m", "litellm.proxy.proxy_cli", "--config", str(config)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--num_workers", "1"]
    began = time.monotonic()
    proc = spawn(argv, log_path, env, stdout=None, cwd=folder)  # it reads a .env there
    url = f"http://127.0.0.1:{port}"
    live = url + "/health/liveliness"
    wait_until(lambda: http_ok(live), proc, "the LiteLLM proxy", log_path, timeout)
    say(f"LiteLLM proxy {LITELLM_VERSION} at {url}, ready in {time.monotonic() - began:.1f} s")
    return LiteLLMProxy(url, key, proc, log_path, model)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.backends.litellm_proxy", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("backends", nargs="+", help="OpenAI-compatible bases, e.g. http://h:1/v1")
    parser.add_argument("--model", default=MODEL_ALIAS, help=f"default: {MODEL_ALIAS}")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args(argv)
    proxy = start(args.backends, model=args.model, port=args.port)
    print(f"{proxy.base_url} api_key={proxy.master_key}", flush=True)
    try:
        proxy.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
