"""The ``ollama-provider`` command, run as a user runs it: a subprocess against the fake server.

stdout, stderr and exit codes are asserted exactly where the output is deterministic.
Through a pipe the output is plain text (no ANSI escapes); see test_cli_interactive.py
for what a terminal gets.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ollama_provider import ShowResult, __version__
from ollama_provider.cli._render import relative_time
from tests.support.fake_ollama import FakeOllama
from tests.support.faults import status
from tests.support.gojson import go_time_ns
from tests.support.ollama_models import make_model

PYTHON_M = [sys.executable, "-m", "ollama_provider"]
SCRIPT = Path(sys.executable).with_name("ollama-provider")
ANSI = re.compile(r"\x1b[\[\]]")
HOUR = 3600 * 10**9
DAY = 24 * HOUR
_SCRUB = (
    "OLLAMA_HOST",
    "OLLAMA_PORT",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "COLUMNS",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
)


def cli_env(host: str | None = None, **extra: str) -> dict[str, str]:
    """The user's environment minus anything that would change the output; warnings fail."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env["PYTHONWARNINGS"] = "error"
    if host is not None:
        env["OLLAMA_HOST"] = host
    env.update(extra)
    return env


def run_cli(
    *args: str,
    host: str | None = None,
    stdin: str = "",
    script: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    command = [str(SCRIPT)] if script else PYTHON_M
    return subprocess.run(
        [*command, *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        env=env if env is not None else cli_env(host),
        timeout=120,
    )


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert (proc.returncode, proc.stderr) == (0, ""), proc.stderr
    assert not ANSI.search(proc.stdout), "escape codes in piped output"
    return proc.stdout


def one_error(proc: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The run failed with ``code`` and exactly one ``error:`` line, no traceback."""
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def fixed_models(fake: FakeOllama) -> None:
    now = time.time_ns()
    fake.models = [
        make_model(
            "llama3.2:1b",
            size=1321098329,
            parameter_size="1.2B",
            quantization_level="Q8_0",
            modified_at=go_time_ns(now - 3 * DAY - HOUR, utc=False),
        ),
        make_model(
            "qwen3:0.6b",
            size=522653767,
            family="qwen3",
            families=["qwen3"],
            parameter_size="751.63M",
            capabilities=["completion", "tools", "thinking"],
            modified_at=go_time_ns(now - 5 * HOUR - 60 * 10**9),
        ),
    ]


# -- the command itself ----------------------------------------------------------------


def test_help_lists_the_verbs_and_loads_nothing_heavy() -> None:
    out = ok(run_cli("--help"))
    assert out.startswith("Usage: python -m ollama_provider [OPTIONS] COMMAND [ARGS]...\n")
    for verb in ("chat", "doctor", "models", "ps", "pull", "show", "version"):
        assert re.search(rf"^  {verb} ", out, re.MULTILINE), verb
    for option in ("--host URL", "--timeout SECONDS", "--debug", "--version"):
        assert option in out
    probe = (
        "import sys\nfrom ollama_provider.cli import main\ncode = main(['--help'])\n"
        "heavy = ('rich', 'prompt_toolkit', 'aiohttp', 'asyncio')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(code, heavy, file=sys.stderr)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=cli_env(), check=True
    )
    assert proc.stderr == "0 []\n"


def test_installed_script_version_and_usage_errors() -> None:
    assert ok(run_cli("--version", script=True)) == f"ollama-provider {__version__}\n"
    proc = run_cli("frobnicate", script=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("Usage: ollama-provider [OPTIONS] COMMAND [ARGS]...\n")
    assert proc.stderr.endswith("Error: No such command 'frobnicate'.\n")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--timeout", "0", "models"], "Invalid value for '--timeout'"),
        (["chat", "--temperature", "warm", "hi"], "Invalid value for '--temperature'"),
        (["chat", "--max-tokens", "0", "hi"], "Invalid value for '--max-tokens'"),
        (["show"], "Missing argument 'MODEL'"),
        (["models", "--nope"], "No such option"),
    ],
)
def test_bad_usage_exits_2(args: list[str], says: str, closed_port: int) -> None:
    proc = run_cli(*args, host=f"127.0.0.1:{closed_port}")
    assert proc.returncode == 2 and proc.stdout == ""
    assert says in proc.stderr and "Traceback" not in proc.stderr


def test_unreachable_server_is_one_line_and_exit_1(closed_port: int) -> None:
    line = one_error(run_cli("models", host=f"127.0.0.1:{closed_port}"))
    assert line.startswith(f"error: cannot reach http://127.0.0.1:{closed_port}/api/tags ")
    assert "(from OLLAMA_HOST)" in line and "ollama serve" in line and "(or --host)" in line


def test_host_option_wins_over_the_environment(fake_ollama: FakeOllama, closed_port: int) -> None:
    env = cli_env(f"127.0.0.1:{closed_port}")
    out = ok(run_cli("--host", fake_ollama.url, "version", env=env))
    assert out == f"Ollama 0.33.0 at {fake_ollama.url}\nollama-provider {__version__}\n"
    line = one_error(run_cli("--host", f"127.0.0.1:{closed_port}", "version"))
    assert f"http://127.0.0.1:{closed_port}/api/version (--host)" in line


def test_debug_shows_the_traceback_and_the_log(closed_port: int) -> None:
    proc = run_cli("--debug", "models", host=f"127.0.0.1:{closed_port}")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "Traceback (most recent call last)" in proc.stderr
    assert f"debug: ollama_provider: GET http://127.0.0.1:{closed_port}/api/tags" in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(
        f"error: cannot reach http://127.0.0.1:{closed_port}"
    )


@pytest.mark.parametrize(
    ("args", "env_host", "says"),
    [
        (["models"], "localhost:abc", "error: OLLAMA_HOST='localhost:abc' is not a usable"),
        (["--host", "ftp://x", "models"], None, "error: --host='ftp://x' is not a usable"),
    ],
)
def test_invalid_host_is_bad_usage(args: list[str], env_host: str | None, says: str) -> None:
    line = one_error(run_cli(*args, host=env_host), code=2)
    assert line.startswith(says)


# -- models ------------------------------------------------------------------------------


def test_models_table(fake_ollama: FakeOllama) -> None:
    fixed_models(fake_ollama)
    assert ok(run_cli("models", host=fake_ollama.url, script=True)) == (
        "NAME         SIZE      FAMILY  PARAMETERS  QUANTIZATION  MODIFIED\n"
        "qwen3:0.6b   522.7 MB  qwen3   751.63M     Q4_K_M        5 hours ago\n"
        "llama3.2:1b  1.3 GB    llama   1.2B        Q8_0          3 days ago\n"
    )


def test_models_json(fake_ollama: FakeOllama) -> None:
    data = json.loads(ok(run_cli("models", "--json", host=fake_ollama.url)))
    assert [m["name"] for m in data] == [m.name for m in fake_ollama.installed()]
    first = data[0]
    assert set(first) == {
        "name",
        "model",
        "size",
        "digest",
        "modified_at",
        "details",
        "capabilities",
        "context_length",
        "server",
    }
    assert first["server"] == fake_ollama.url
    assert first["size"] == fake_ollama.installed()[0].size
    assert datetime.fromisoformat(first["modified_at"]).utcoffset() is not None
    assert first["details"]["family"] == "qwen3" and "thinking" in first["capabilities"]


def test_models_none_installed(fake_ollama: FakeOllama) -> None:
    fake_ollama.models = []
    proc = run_cli("models", host=fake_ollama.url)
    assert (proc.returncode, proc.stdout) == (0, "")
    assert proc.stderr == "no models installed: pull one with `ollama-provider pull llama3.2`\n"
    assert ok(run_cli("models", "--json", host=fake_ollama.url)) == "[]\n"


# -- chat --------------------------------------------------------------------------------


def test_chat_streams_the_answer(fake_ollama: FakeOllama) -> None:
    out = ok(run_cli("chat", "-m", "llama3.2", "say:", "two words", host=fake_ollama.url))
    assert out == "two words\n"
    body = fake_ollama.last_body("/v1/chat/completions")
    assert body["model"] == "llama3.2" and body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "say: two words"}]


def test_chat_from_stdin_with_options(fake_ollama: FakeOllama) -> None:
    args = ["chat", "-m", "llama3.2", "--system", "Be brief.", "--temperature", "0.2"]
    args += ["--seed", "7", "--max-tokens", "50"]
    out = ok(run_cli(*args, host=fake_ollama.url, stdin="say: from stdin\n"))
    assert out == "from stdin\n"
    body = fake_ollama.last_body("/v1/chat/completions")
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "say: from stdin\n"},
    ]
    assert (body["temperature"], body["seed"], body["max_tokens"]) == (0.2, 7, 50)


def test_chat_empty_stdin_is_bad_usage(fake_ollama: FakeOllama) -> None:
    proc = run_cli("chat", "-m", "llama3.2", host=fake_ollama.url, stdin="  \n")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.endswith("Error: no prompt: stdin was empty (give PROMPT as an argument)\n")
    assert fake_ollama.count("/v1/chat/completions") == 0


def test_chat_with_stdin_closed_is_bad_usage(fake_ollama: FakeOllama) -> None:
    proc = subprocess.run(
        [*PYTHON_M, "chat", "-m", "llama3.2"],
        check=False,
        capture_output=True,
        text=True,
        env=cli_env(fake_ollama.url),
        preexec_fn=lambda: os.close(0),
        timeout=60,
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.endswith(
        "Error: no prompt, and stdin is closed: give PROMPT as an argument\n"
    )
    assert "Traceback" not in proc.stderr


def test_chat_stdin_that_is_not_utf8_is_bad_usage(fake_ollama: FakeOllama) -> None:
    proc = subprocess.run(
        [*PYTHON_M, "chat", "-m", "llama3.2"],
        check=False,
        capture_output=True,
        input=b"caf\xe9",
        env=cli_env(fake_ollama.url),
        timeout=60,
    )
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
    assert b"stdin is not UTF-8 text (byte 0xe9 at position 3)" in proc.stderr
    assert fake_ollama.server.count() == 0


def test_an_answer_the_terminal_encoding_cannot_hold_is_not_cut(fake_ollama: FakeOllama) -> None:
    proc = subprocess.run(
        [*PYTHON_M, "chat", "-m", "llama3.2", "say: café 日本 end"],
        check=False,
        capture_output=True,
        env=cli_env(fake_ollama.url, PYTHONIOENCODING="latin-1"),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("latin-1") == "café ?? end\n"


def test_chat_no_stream(fake_ollama: FakeOllama) -> None:
    out = ok(run_cli("chat", "-m", "llama3.2", "--no-stream", "hi", host=fake_ollama.url))
    assert out == "Hello! How can I help you today?\n"
    assert fake_ollama.last_body("/v1/chat/completions")["stream"] is False


def test_chat_token_limit_says_so_on_stderr(fake_ollama: FakeOllama) -> None:
    proc = run_cli("chat", "-m", "llama3.2", "--max-tokens", "2", "hi", host=fake_ollama.url)
    assert (proc.returncode, proc.stdout) == (0, "Hello! How \n")
    assert proc.stderr == "note: the answer stopped at the token limit (--max-tokens)\n"


def test_chat_format_json(fake_ollama: FakeOllama) -> None:
    out = ok(run_cli("chat", "-m", "llama3.2", "--format", "json", "hi", host=fake_ollama.url))
    assert json.loads(out) == {"answer": "Hello! How can I help you today?"}
    body = fake_ollama.last_body("/v1/chat/completions")
    assert body["response_format"] == {"type": "json_object"}


def test_chat_format_schema_file(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "people": {"type": "integer"}},
        "required": ["city", "people"],
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    out = ok(run_cli("chat", "-m", "llama3.2", "--format", str(path), "hi", host=fake_ollama.url))
    answer = json.loads(out)
    assert isinstance(answer["city"], str) and isinstance(answer["people"], int)
    body = fake_ollama.last_body("/v1/chat/completions")
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "schema", "schema": schema},
    }


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "is neither 'json' nor a readable JSON schema file"),
        ("{not json", "is not JSON"),
        ("[1, 2]", "does not hold a JSON schema object"),
    ],
)
def test_chat_format_file_problems_are_bad_usage(
    fake_ollama: FakeOllama, tmp_path: Path, content: str | None, says: str
) -> None:
    path = tmp_path / "schema.json"
    if content is not None:
        path.write_text(content)
    proc = run_cli("chat", "-m", "llama3.2", "--format", str(path), "hi", host=fake_ollama.url)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "Invalid value for '--format'" in proc.stderr and says in proc.stderr
    assert fake_ollama.count("/v1/chat/completions") == 0


def test_chat_json_events(fake_ollama: FakeOllama) -> None:
    out = ok(run_cli("chat", "-m", "qwen3:0.6b", "--json", "say: a b", host=fake_ollama.url))
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["type"] for e in events] == [
        "reasoning",
        "reasoning",
        "reasoning",
        "reasoning",
        "reasoning",
        "text",
        "text",
        "finish",
        "usage",
    ]
    assert "".join(e["text"] for e in events if e["type"] == "reasoning") == (
        "Let me think about that."
    )
    assert "".join(e["text"] for e in events if e["type"] == "text") == "a b"
    assert events[-2] == {"type": "finish", "reason": "stop"}
    usage = events[-1]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_reasoning_only_on_stderr_when_asked(fake_ollama: FakeOllama) -> None:
    quiet = run_cli("chat", "-m", "qwen3:0.6b", "say: the answer", host=fake_ollama.url)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "the answer\n", "")
    shown = run_cli(
        "chat", "-m", "qwen3:0.6b", "--show-reasoning", "say: the answer", host=fake_ollama.url
    )
    assert (shown.returncode, shown.stdout) == (0, "the answer\n")
    assert shown.stderr == "Let me think about that.\n"


def test_chat_without_model_uses_the_first_installed_and_says_so(fake_ollama: FakeOllama) -> None:
    proc = run_cli("chat", "say: ok", host=fake_ollama.url)
    assert (proc.returncode, proc.stdout) == (0, "ok\n")
    assert proc.stderr == "using qwen3:0.6b, the server's first model (choose one with -m NAME)\n"
    assert fake_ollama.last_body("/v1/chat/completions")["model"] == "qwen3:0.6b"


def test_chat_without_model_and_none_installed(fake_ollama: FakeOllama) -> None:
    fake_ollama.models = []
    line = one_error(run_cli("chat", "hi", host=fake_ollama.url))
    assert line == (
        f"error: no model given and the server at {fake_ollama.url} has none installed. "
        "Pull one first (ollama-provider pull llama3.2), or pass -m NAME."
    )


def test_chat_unknown_model(fake_ollama: FakeOllama) -> None:
    line = one_error(run_cli("chat", "-m", "nosuch:1b", "hi", host=fake_ollama.url))
    assert "'nosuch:1b'" in line and "Pull it first: ollama-provider pull nosuch:1b." in line
    assert "qwen3:0.6b" in line  # the installed models are listed


def test_chat_failure_mid_stream_keeps_the_partial_answer(fake_ollama: FakeOllama) -> None:
    fake_ollama.fail_after = 3
    proc = run_cli("chat", "-m", "llama3.2", "say: a b c d e f", host=fake_ollama.url)
    assert proc.returncode == 1 and proc.stdout == "a b c \n"
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")
    assert len(proc.stderr.splitlines()) == 1


def test_ctrl_c_closes_the_stream_and_exits_130(fake_ollama: FakeOllama) -> None:
    fake_ollama.token_delay = 0.3
    words = " ".join(f"w{i}" for i in range(40))
    with subprocess.Popen(
        [*PYTHON_M, "chat", "-m", "llama3.2", f"say: {words}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(fake_ollama.url),
    ) as proc:
        assert proc.stdout is not None
        first = proc.stdout.read(2)
        assert first == b"w0"
        assert fake_ollama.server.open_connections == 1
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    out = (first + rest).decode()
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert words.startswith(out[:-1].rstrip()) and len(out) < len(words)
    assert err == b""
    assert fake_ollama.server.wait_until_connections(0, timeout=5)


# -- pull, show, ps, version -------------------------------------------------------------


def test_pull_plain_progress_then_success(fake_ollama: FakeOllama) -> None:
    proc = run_cli("pull", "gemma3:1b", host=fake_ollama.url)
    assert (proc.returncode, proc.stdout) == (0, "success\n")
    lines = proc.stderr.splitlines()
    assert lines[0] == "pulling manifest"
    assert lines[1].startswith("pulling ") and lines[1].endswith(": 815.3 MB")
    assert len(lines) == 8 and lines[-2:] == ["verifying sha256 digest", "writing manifest"]
    assert "gemma3:1b" in [m.name for m in fake_ollama.installed()]


def test_pull_failure_line_is_an_error(fake_ollama: FakeOllama) -> None:
    proc = run_cli("pull", "nosuch:1b", host=fake_ollama.url)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (
        "pulling manifest\n"
        "error: the registry has no model 'nosuch:1b' (it said: pull model manifest: file does "
        "not exist). Check the name: the models are listed at https://ollama.com/library.\n"
    )


def test_show(fake_ollama: FakeOllama) -> None:
    out = ok(run_cli("show", "qwen3:0.6b", host=fake_ollama.url))
    json_out = ok(run_cli("show", "qwen3:0.6b", "--json", host=fake_ollama.url))
    data = json.loads(json_out)
    modified = relative_time(datetime.fromisoformat(data["modified_at"]))
    assert out == (
        "  Model\n"
        "    architecture        qwen3\n"
        "    parameters          751.63M\n"
        "    context length      40960\n"
        "    embedding length    1024\n"
        "    quantization        Q4_K_M\n"
        "    format              gguf\n"
        f"    modified            {modified}\n"
        "\n"
        "  Capabilities\n"
        "    completion\n"
        "    tools\n"
        "    thinking\n"
        "\n"
        "  Parameters\n"
        '    stop           "<|im_start|>"\n'
        '    stop           "<|im_end|>"\n'
        "    temperature    0.6\n"
        "    top_k          20\n"
        "    top_p          0.95\n"
    )
    assert set(data) == {f for f in ShowResult.__dataclass_fields__}
    assert data["capabilities"] == ["completion", "tools", "thinking"]
    assert data["context_length"] == 40960 and data["parameters"]["top_k"] == "20"


def test_show_unknown_model(fake_ollama: FakeOllama) -> None:
    line = one_error(run_cli("show", "nosuch", host=fake_ollama.url))
    assert "'nosuch'" in line and "ollama-provider pull nosuch" in line
    assert "Installed: qwen3:0.6b, llama3.2:latest" in line  # as chat says


def test_ps_empty_then_loaded(fake_ollama: FakeOllama) -> None:
    proc = run_cli("ps", host=fake_ollama.url)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "no model is loaded\n")
    ok(run_cli("chat", "-m", "qwen3:0.6b", "hi", host=fake_ollama.url))
    digest = fake_ollama.find("qwen3:0.6b").digest[:12]  # type: ignore[union-attr]
    assert ok(run_cli("ps", host=fake_ollama.url)) == (
        "NAME        ID            SIZE      PROCESSOR  CONTEXT  UNTIL\n"
        f"qwen3:0.6b  {digest}  837.2 MB  100% GPU   4096     in 4 minutes\n"
    )
    [entry] = json.loads(ok(run_cli("ps", "--json", host=fake_ollama.url)))
    assert entry["name"] == "qwen3:0.6b" and entry["size"] == entry["size_vram"] == 837226567
    assert datetime.fromisoformat(entry["expires_at"]) > datetime.now().astimezone()


def test_version(fake_ollama: FakeOllama) -> None:
    fake_ollama.version = "0.12.3"
    out = ok(run_cli("version", host=fake_ollama.url))
    assert out == f"Ollama 0.12.3 at {fake_ollama.url}\nollama-provider {__version__}\n"
    data = json.loads(ok(run_cli("version", "--json", host=fake_ollama.url)))
    assert data == {"server": "0.12.3", "library": __version__, "url": fake_ollama.url}


def test_version_without_a_server_still_names_the_library(closed_port: int) -> None:
    proc = run_cli("version", host=f"127.0.0.1:{closed_port}")
    assert proc.stdout == f"ollama-provider {__version__}\n"
    assert one_error(proc).startswith(f"error: cannot reach http://127.0.0.1:{closed_port}/")


def test_a_model_name_the_library_refuses_is_bad_usage(fake_ollama: FakeOllama) -> None:
    line = one_error(run_cli("show", "a b", host=fake_ollama.url), code=2)
    assert line == "error: model name 'a b' contains blanks or control characters"
    assert fake_ollama.count("/api/show") == 0


# -- doctor ------------------------------------------------------------------------------


def test_doctor_all_well(fake_ollama: FakeOllama) -> None:
    out = ok(run_cli("doctor", host=fake_ollama.url))
    assert out == (
        f"server     {fake_ollama.url}\n"
        f"from       OLLAMA_HOST='{fake_ollama.url}'\n"
        "reachable  yes\n"
        "version    Ollama 0.33.0\n"
        "models     3 installed; the default is qwen3:0.6b\n"
        "\n"
        "no problems found\n"
    )


def test_doctor_explains_the_bind_all_address(fake_ollama: FakeOllama) -> None:
    port = fake_ollama.url.rsplit(":", 1)[1]
    out = ok(run_cli("doctor", host=f"0.0.0.0:{port}"))
    assert out.startswith(
        f"server     http://127.0.0.1:{port}\n"
        f"from       OLLAMA_HOST='0.0.0.0:{port}'\n"
        "           0.0.0.0 is a bind-all address, not one to connect to: using 127.0.0.1\n"
        "reachable  yes\n"
    )
    assert out.endswith("\nno problems found\n")


def test_doctor_not_running(closed_port: int) -> None:
    proc = run_cli("doctor", env=cli_env(OLLAMA_PORT=str(closed_port)))
    assert (proc.returncode, proc.stderr) == (1, "")
    lines = proc.stdout.splitlines()
    assert lines[:4] == [
        f"server     http://127.0.0.1:{closed_port}",
        f"from       OLLAMA_PORT='{closed_port}'",
        "           OLLAMA_HOST is not set: using 127.0.0.1",
        "reachable  no",
    ]
    assert lines[5].startswith(f"problem: cannot reach http://127.0.0.1:{closed_port}/api/version")
    assert lines[6] == (
        "  fix: Is Ollama running? Start it with `ollama serve`, or point OLLAMA_HOST "
        "(or --host) at the server."
    )
    assert lines[-1] == "1 problem found"


def test_doctor_no_models(fake_ollama: FakeOllama) -> None:
    fake_ollama.models = []
    proc = run_cli("doctor", host=fake_ollama.url)
    assert proc.returncode == 1
    assert "models     none installed\n" in proc.stdout
    expected = f"problem: no models installed at {fake_ollama.url}\n"
    assert expected + "  fix: pull one: ollama-provider pull llama3.2\n" in proc.stdout
    assert proc.stdout.endswith("\n1 problem found\n")


def test_doctor_invalid_host_is_bad_usage() -> None:
    proc = run_cli("doctor", host="http://[::1")
    assert proc.returncode == 2 and proc.stderr == ""
    assert proc.stdout.startswith(
        "server     invalid address\n\nproblem: OLLAMA_HOST='http://[::1' is not a usable"
    )
    assert (
        "  fix: Use a value like 'localhost', 'example.com:11434' or "
        "'https://example.com/ollama', or unset OLLAMA_HOST to use 127.0.0.1:11434.\n"
    ) in proc.stdout


def test_doctor_403_gives_the_host_header_advice(fake_ollama: FakeOllama) -> None:
    fake_ollama.server.add_fault("/api/version", status(403, b""), times=None)
    proc = run_cli("doctor", host=fake_ollama.url)
    assert proc.returncode == 1
    assert "reachable  yes, but /api/version answered 403\n" in proc.stdout
    assert "  fix: Access was denied. Ollama bound to loopback answers 403" in proc.stdout
    assert "start the server with OLLAMA_HOST=0.0.0.0" in proc.stdout


def test_doctor_says_a_server_without_api_version_is_not_ollama(fake_ollama: FakeOllama) -> None:
    fake_ollama.server.add_fault("/api/version", status(404, b"404 page not found"), times=None)
    proc = run_cli("doctor", host=fake_ollama.url)
    assert proc.returncode == 1
    assert "reachable  yes, but /api/version answered 404\n" in proc.stdout
    assert "models     3 installed; the default is qwen3:0.6b\n" in proc.stdout
    assert (
        "  fix: the server has no /api/version, so it is not Ollama (an OpenAI-compatible "
        "server such as llama.cpp or vLLM?): `chat` and `models` work with it; the other "
        "verbs need Ollama\n"
    ) in proc.stdout
    assert proc.stdout.endswith("\n1 problem found\n")


def test_doctor_mentions_a_proxy_for_a_remote_host(closed_port: int) -> None:
    proxy = f"http://someone:s3cret@127.0.0.1:{closed_port}"
    env = cli_env("ollama.example:11434", HTTPS_PROXY="", HTTP_PROXY=proxy)
    proc = run_cli("doctor", env=env)
    assert proc.returncode == 1 and "s3cret" not in proc.stdout + proc.stderr
    assert f"proxy      http://***@127.0.0.1:{closed_port} (from HTTP_PROXY)\n" in proc.stdout
    assert (
        "warning: HTTP_PROXY is set, so requests to ollama.example go through the proxy "
        f"http://***@127.0.0.1:{closed_port}\n"
        "  fix: if the server should be reached directly, add it to NO_PROXY "
        "(NO_PROXY=ollama.example)\n"
    ) in proc.stdout


# -- the real llama.cpp server (OpenAI-compatible, no /api/tags) -------------------------


def test_models_and_chat_against_llama_cpp(llama: Any) -> None:
    out = ok(run_cli("--host", llama.url, "models", script=True))
    assert out == ("NAME          SIZE  FAMILY  PARAMETERS  QUANTIZATION  MODIFIED\nsmollm2:135m\n")
    [entry] = json.loads(ok(run_cli("--host", llama.base_url, "models", "--json")))
    assert entry["name"] == "smollm2:135m" and entry["size"] == 0
    proc = run_cli(
        "chat",
        "--max-tokens",
        "8",
        "--temperature",
        "0",
        "Write one sentence about the sea.",
        host=llama.url,
    )
    assert proc.returncode == 0 and proc.stdout.strip() and proc.stdout.endswith("\n")
    assert proc.stderr == (
        "using smollm2:135m, the server's first model (choose one with -m NAME)\n"
        "note: the answer stopped at the token limit (--max-tokens)\n"
    )
    args = ["chat", "-m", "smollm2:135m", "--json", "--max-tokens", "4", "Hi"]
    events = [json.loads(line) for line in ok(run_cli(*args, host=llama.url)).splitlines()]
    assert {"type": "finish", "reason": "length"} in events
    assert [e["type"] for e in events if e["type"] != "text"] == ["finish", "usage"]
