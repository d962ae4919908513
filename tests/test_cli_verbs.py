"""The command's ``ollama`` habits and verbs, run as subprocesses against the fake server:
MODEL first, piped text with a prompt, synonyms, the management verbs, embed, generate,
thinking, API keys, timing stats, and the one-line errors (details with ``--debug``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_ollama import FakeOllama
from tests.support.faults import status
from tests.support.ollama_models import make_model
from tests.test_cli import cli_env, ok, one_error, run_cli

CHAT = "/v1/chat/completions"
FIRST = "using qwen3:0.6b, the server's first model (choose one with -m NAME)\n"


def content(fake: FakeOllama, route: str = CHAT) -> Any:
    return fake.last_body(route)["messages"][-1]["content"]


# -- the model first, piped text, synonyms -------------------------------------------------


@pytest.mark.parametrize("verb", ["chat", "run"])
def test_the_first_word_names_the_model_when_one_is_installed(
    fake_ollama: FakeOllama, verb: str
) -> None:
    assert ok(run_cli(verb, "llama3.2", "say: hi there", host=fake_ollama.url)) == "hi there\n"
    body = fake_ollama.last_body(CHAT)
    assert body["model"] == "llama3.2:latest" and content(fake_ollama) == "say: hi there"


def test_a_first_word_that_is_no_model_goes_to_the_default_model_which_is_named(
    fake_ollama: FakeOllama,
) -> None:
    proc = run_cli("chat", "hello", "there", host=fake_ollama.url)
    assert (proc.returncode, proc.stderr) == (0, FIRST)
    assert fake_ollama.last_body(CHAT)["model"] == "qwen3:0.6b"
    assert content(fake_ollama) == "hello there"


@pytest.mark.parametrize("word", ["nosuch:1b", "someone/nosuch:latest"])
def test_a_first_word_that_can_only_be_a_model_is_not_sent_to_another_model(
    fake_ollama: FakeOllama, word: str
) -> None:
    line = one_error(run_cli("run", word, "Hello", host=fake_ollama.url))
    assert line.startswith(f"error: model {word!r} is not on the server at ")
    assert f"ollama-provider pull {word}" in line
    assert fake_ollama.count(CHAT) == 0 or fake_ollama.last_body(CHAT)["model"] == word


@pytest.mark.parametrize("prompt", [["Summarise:", "this"], ["note:", "x"], ["Hi:there"]])
def test_words_with_a_colon_stay_words_of_the_prompt(
    fake_ollama: FakeOllama, prompt: list[str]
) -> None:
    proc = run_cli("chat", *prompt, host=fake_ollama.url)
    assert (proc.returncode, proc.stderr) == (0, FIRST)
    assert content(fake_ollama) == " ".join(prompt)


def test_piped_text_and_the_prompt_are_sent_together(fake_ollama: FakeOllama) -> None:
    diff = "--- a/x\n+++ b/x\n+new line\n"
    ok(run_cli("run", "llama3.2", "Write a commit message", host=fake_ollama.url, stdin=diff))
    assert content(fake_ollama) == diff.rstrip() + "\n\nWrite a commit message"


def test_empty_piped_text_leaves_the_prompt_alone(fake_ollama: FakeOllama) -> None:
    ok(run_cli("chat", "-m", "llama3.2", "say: alone", host=fake_ollama.url, stdin=""))
    assert content(fake_ollama) == "say: alone"


def test_list_and_ls_are_models(fake_ollama: FakeOllama) -> None:
    table = ok(run_cli("models", host=fake_ollama.url))
    assert ok(run_cli("list", host=fake_ollama.url)) == table
    assert ok(run_cli("ls", host=fake_ollama.url)) == table


@pytest.mark.parametrize(
    ("typed", "meant"), [("modles", "models"), ("pul", "pull"), ("lst", "list"), ("rnu", "run")]
)
def test_an_unknown_verb_suggests_the_nearest(typed: str, meant: str, closed_port: int) -> None:
    proc = run_cli(typed, host=f"127.0.0.1:{closed_port}")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.endswith(f"Error: No such command '{typed}'. Did you mean `{meant}`?\n")


def test_global_options_work_after_the_verb(fake_ollama: FakeOllama, closed_port: int) -> None:
    env = cli_env(f"127.0.0.1:{closed_port}")
    out = ok(run_cli("ls", "--host", fake_ollama.url, "--timeout", "30", env=env))
    assert out.startswith("NAME ")
    args = ["chat", "-m", "llama3.2", "say: late", "--host", fake_ollama.url, "--timeout", "9"]
    assert ok(run_cli(*args, env=env)) == "late\n"
    proc = run_cli("ls", "--debug", "--host", f"127.0.0.1:{closed_port}")
    assert "Traceback" in proc.stderr and proc.returncode == 1


# -- management verbs ----------------------------------------------------------------------


def test_rm_and_a_missing_model_is_not_told_to_pull(fake_ollama: FakeOllama) -> None:
    proc = run_cli("rm", "llama3.2", host=fake_ollama.url)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "deleted llama3.2\n")
    assert "llama3.2:latest" not in [m.name for m in fake_ollama.installed()]
    line = one_error(run_cli("rm", "nosuch", host=fake_ollama.url))
    assert "nothing to delete" in line and "pull" not in line
    assert line.endswith("Installed: qwen3:0.6b, llava:7b.")


def test_cp_then_stop(fake_ollama: FakeOllama) -> None:
    proc = run_cli("cp", "qwen3:0.6b", "mine", host=fake_ollama.url)
    assert (proc.returncode, proc.stderr) == (0, "copied qwen3:0.6b to mine\n")
    assert fake_ollama.find("mine:latest") is not None
    ok(run_cli("chat", "-m", "mine", "hi", host=fake_ollama.url))
    assert [m.record.name for m in fake_ollama.running()] == ["mine:latest"]
    proc = run_cli("stop", "mine", host=fake_ollama.url)
    assert (proc.returncode, proc.stderr) == (0, "stopped mine\n")
    assert fake_ollama.running() == []
    line = one_error(run_cli("stop", "nosuch", host=fake_ollama.url))
    assert "nothing to unload" in line and "pull" not in line


def test_create_from_a_model_a_modelfile_and_a_gguf_file(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    proc = run_cli(
        "create", "terse", "--from", "llama3.2", "--system", "Be brief.", host=fake_ollama.url
    )
    assert (proc.returncode, proc.stdout) == (0, "success\n")
    assert proc.stderr.splitlines()[-1] == "writing manifest"
    assert fake_ollama.last_body("/api/create")["system"] == "Be brief."
    modelfile = tmp_path / "Modelfile"
    modelfile.write_text("FROM qwen3:0.6b\nPARAMETER temperature 0.1\n")
    assert ok_progress(run_cli("create", "cool", "-f", str(modelfile), host=fake_ollama.url))
    assert fake_ollama.last_body("/api/create")["parameters"] == {"temperature": 0.1}
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + bytes(64))
    assert ok_progress(run_cli("create", "tiny", "--from", str(gguf), host=fake_ollama.url))
    digest = "sha256:" + hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert fake_ollama.blobs == {digest}
    assert fake_ollama.last_body("/api/create")["files"] == {"tiny.gguf": digest}
    names = [m.name for m in fake_ollama.installed()]
    assert {"terse:latest", "cool:latest", "tiny:latest"} <= set(names)


def ok_progress(proc: Any) -> bool:
    assert (proc.returncode, proc.stdout) == (0, "success\n"), proc.stderr
    return True


def test_create_without_a_source_is_bad_usage(fake_ollama: FakeOllama) -> None:
    proc = run_cli("create", "x", host=fake_ollama.url)
    assert proc.returncode == 2 and "create needs a Modelfile" in proc.stderr
    assert fake_ollama.count("/api/create") == 0


def test_push_draws_the_same_progress_as_pull(fake_ollama: FakeOllama) -> None:
    proc = run_cli("push", "qwen3:0.6b", host=fake_ollama.url)
    assert (proc.returncode, proc.stdout) == (0, "success\n")
    lines = proc.stderr.splitlines()
    assert lines[0] == "retrieving manifest" and lines[-1] == "pushing manifest"
    assert lines[1].startswith("pushing ") and lines[1].endswith(": 522.6 MB")


# -- embed, generate -------------------------------------------------------------------


def test_embed_arguments_and_stdin_lines(fake_ollama: FakeOllama) -> None:
    fake_ollama.install(make_model("all-minilm", capabilities=["embedding"]))
    out = ok(run_cli("embed", "all-minilm", "first text", "second", host=fake_ollama.url))
    vectors = [json.loads(line) for line in out.splitlines()]
    assert len(vectors) == 2 and all(len(v) == 8 for v in vectors) and vectors[0] != vectors[1]
    assert fake_ollama.last_body("/api/embed")["input"] == ["first text", "second"]
    piped = ok(run_cli("embed", "-m", "all-minilm", host=fake_ollama.url, stdin="a\n\nb\n"))
    assert len(piped.splitlines()) == 2
    assert fake_ollama.last_body("/api/embed")["input"] == ["a", "b"]
    # the model first, the lines on stdin (as `echo hi | ollama embed all-minilm` reads)
    model_first = ok(run_cli("embed", "all-minilm", host=fake_ollama.url, stdin="c\nd\n"))
    assert len(model_first.splitlines()) == 2
    assert fake_ollama.last_body("/api/embed")["input"] == ["c", "d"]


def test_embed_with_a_chat_model_says_which_models_can(fake_ollama: FakeOllama) -> None:
    # Ollama 0.24 embeds with any model; a server that checks capabilities says this:
    refusal = b'{"error":"\\"llama3.2\\" does not support embeddings"}'
    fake_ollama.server.add_fault("/api/embed", status(400, refusal))
    line = one_error(run_cli("embed", "-m", "llama3.2", "text", host=fake_ollama.url))
    assert "does not support embeddings" in line and "nomic-embed-text" in line


def test_generate(fake_ollama: FakeOllama) -> None:
    out = ok(run_cli("generate", "llama3.2", "say: completed text", host=fake_ollama.url))
    assert out == "completed text\n"
    body = fake_ollama.last_body("/api/generate")
    assert body["model"] == "llama3.2:latest" and body["prompt"] == "say: completed text"


# -- thinking ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "sent"), [("--think", True), ("--no-think", False), ("--think=high", "high")]
)
def test_think_goes_to_the_native_api(fake_ollama: FakeOllama, flag: str, sent: Any) -> None:
    out = ok(run_cli("chat", "-m", "qwen3:0.6b", flag, "say: yes", host=fake_ollama.url))
    assert out == "yes\n" and fake_ollama.last_body("/api/chat")["think"] == sent


def test_a_wrong_think_level_is_bad_usage(fake_ollama: FakeOllama) -> None:
    proc = run_cli("chat", "-m", "qwen3:0.6b", "--think=extreme", "hi", host=fake_ollama.url)
    assert proc.returncode == 2 and "Invalid value for '--think'" in proc.stderr
    assert fake_ollama.server.count() == 0


def test_think_in_a_session(capsys: pytest.CaptureFixture[str]) -> None:
    from ollama_provider.cli._common import Settings
    from ollama_provider.cli._session import Session

    session = Session(Settings(), "qwen3:0.6b", None, {}, show_reasoning=False, verbose=False)
    for line, sent in [("/set think", True), ("/set nothink", False), ("/set think low", "low")]:
        assert session.command(line) and session.params["think"] == sent
    session.command("/set think extreme")
    assert session.params["think"] == "low"
    assert capsys.readouterr().out.splitlines() == [
        "think: on",
        "think: off",
        "think: low",
        "usage: /set think [low|medium|high], or /set nothink",
    ]


def test_load_in_a_session_takes_a_path_quoted_or_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ollama_provider.cli._common import Settings
    from ollama_provider.cli._session import Session

    image = tmp_path / "a cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    session = Session(Settings(), "llava:7b", None, {}, show_reasoning=False, verbose=False)
    for line in (f"/load {image}", f"/load '{image}'", f'/load "{image}"'):
        session.command(line)
    session.command(f"/load {tmp_path / 'nope.png'}")
    assert session.images == [image] * 3
    assert capsys.readouterr().out.splitlines() == [
        *["attached a cat.png: it goes with your next message"] * 3,
        f"no such file: {tmp_path / 'nope.png'}",
    ]


# -- API keys ------------------------------------------------------------------------------


def test_api_key_option_and_file_are_sent_and_never_shown(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.auth = "s3cret-key"
    line = one_error(run_cli("ls", "--api-key", "wrong-key", host=fake_ollama.url))
    assert "401" in line and "--api-key" in line and "wrong-key" not in line
    assert ok(run_cli("ls", "--api-key", "s3cret-key", host=fake_ollama.url)).startswith("NAME")
    key_file = tmp_path / "key"
    key_file.write_text("s3cret-key\n")
    proc = run_cli("--debug", "ls", "--api-key-file", str(key_file), host=fake_ollama.url)
    assert proc.returncode == 0 and "s3cret" not in proc.stderr
    missing = run_cli("ls", "--api-key-file", str(tmp_path / "nope"), host=fake_ollama.url)
    assert missing.returncode == 2 and "--api-key-file" in missing.stderr


def test_doctor_sends_the_api_key(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    fake_ollama.auth = "s3cret-key"
    refused = run_cli("doctor", host=fake_ollama.url)
    assert refused.returncode == 1 and "401" in refused.stdout
    out = ok(run_cli("doctor", "--api-key", "s3cret-key", host=fake_ollama.url))
    assert "reachable  yes\n" in out and out.endswith("\nno problems found\n")
    key_file = tmp_path / "key"
    key_file.write_text("s3cret-key\n")
    ok(run_cli("doctor", "--api-key-file", str(key_file), host=fake_ollama.url))
    assert fake_ollama.calls[-1].headers["authorization"] == "Bearer s3cret-key"


def test_the_api_key_file_is_read_once(tmp_path: Path) -> None:
    from ollama_provider.cli._common import Settings

    key_file = tmp_path / "key"
    key_file.write_text("first-key\n")
    state = Settings(api_key_file=key_file)
    assert state.call["api_key"] == "first-key"
    key_file.unlink()
    assert state.key == "first-key" and state.call["api_key"] == "first-key"


def test_ollama_api_key_is_not_sent_to_a_local_server(fake_ollama: FakeOllama) -> None:
    env = cli_env(fake_ollama.url, OLLAMA_API_KEY="cloud-key")
    ok(run_cli("ls", env=env))
    assert "authorization" not in fake_ollama.calls[-1].headers


# -- timing, errors ----------------------------------------------------------------------


def test_verbose_prints_timing_after_the_answer(fake_ollama: FakeOllama) -> None:
    args = ["chat", "-m", "llama3.2", "--verbose", "--num-ctx", "4096", "say: timed"]
    proc = run_cli(*args, host=fake_ollama.url)
    assert (proc.returncode, proc.stdout) == (0, "timed\n")
    labels = [line.split(":")[0] for line in proc.stderr.splitlines()]
    for label in ("total duration", "load duration", "prompt eval count", "eval count"):
        assert label in labels
    assert "eval rate" in labels and "tokens/s" in proc.stderr
    assert fake_ollama.last_body("/api/chat")["options"] == {"num_ctx": 4096}


def test_a_long_server_message_is_cut_and_debug_shows_it_whole(fake_ollama: FakeOllama) -> None:
    words = "error starting the runner: " + " ".join(f"/p/{i}" for i in range(60))
    body = json.dumps({"error": words})
    fake_ollama.server.add_fault(CHAT, status(500, body), times=None)
    line = one_error(run_cli("chat", "-m", "llama3.2", "hi", host=fake_ollama.url))
    assert len(line) < 320 and line.endswith("…") and "/p/59" not in line
    proc = run_cli("--debug", "chat", "-m", "llama3.2", "hi", host=fake_ollama.url)
    assert proc.returncode == 1 and f"  server message: {words}\n" in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("error: POST ")


def test_a_dns_failure_names_the_setting_to_check() -> None:
    line = one_error(run_cli("ls", host="no-such-host.invalid"))
    assert line.endswith("Check the host name in OLLAMA_HOST (or --host).")
