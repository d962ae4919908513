"""The command on a terminal: the interactive chat session, colours and progress bars.

Driven through a pseudo-terminal with pexpect, as a person would type.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pexpect

from tests.support.fake_ollama import FakeOllama
from tests.test_cli import PYTHON_M, SCRIPT, cli_env

PROMPT = ">>> "
COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-9]|9[0-7])(?:;[0-9;]*)?m")
ENDED = "(stopped; this exchange is not kept)"


@contextmanager
def terminal(*args: str, env: dict[str, str], script: bool = False) -> Iterator[pexpect.spawn[str]]:
    command = [str(SCRIPT)] if script else PYTHON_M
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads (the test server's).
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        child = pexpect.spawn(
            command[0],
            [*command[1:], *args],
            env=env,
            encoding="utf-8",
            timeout=30,
            dimensions=(40, 160),
        )
    try:
        yield child
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close()


def session_env(fake: FakeOllama, state: Path, term: str = "dumb") -> dict[str, str]:
    return cli_env(fake.url, TERM=term, XDG_STATE_HOME=str(state))


def enter(child: pexpect.spawn[str], line: str) -> None:
    """At the prompt, type a line and consume its echo: later matches see only the output."""
    child.expect_exact(PROMPT)
    child.sendline(line)
    child.expect(re.escape(line) + r"\r*\n")


def user_turns(messages: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in messages]


def last_messages(fake: FakeOllama) -> list[tuple[str, str]]:
    return user_turns(fake.last_body("/v1/chat/completions")["messages"])


def test_session_keeps_the_conversation(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    with terminal("chat", "-m", "llama3.2", env=session_env(fake_ollama, tmp_path)) as child:
        child.expect_exact(
            f"chatting with llama3.2 at {fake_ollama.url}; /help for commands, "
            "/exit or Ctrl-D to leave\r\n"
        )
        enter(child, "say: first answer")
        child.expect_exact("first answer\r\n")
        enter(child, "say: second answer")
        child.expect_exact("second answer\r\n")
        assert fake_ollama.last_body("/v1/chat/completions")["model"] == "llama3.2"
        assert last_messages(fake_ollama) == [
            ("user", "say: first answer"),
            ("assistant", "first answer"),
            ("user", "say: second answer"),
        ]

        enter(child, "/model qwen3:0.6b")
        child.expect_exact("model: qwen3:0.6b\r\n")
        enter(child, "say: third")
        child.expect_exact("third\r\n")
        body = fake_ollama.last_body("/v1/chat/completions")
        assert body["model"] == "qwen3:0.6b" and len(body["messages"]) == 5

        enter(child, "/clear")
        child.expect_exact("conversation cleared\r\n")
        enter(child, "say: fresh start")
        child.expect_exact("fresh start\r\n")
        assert last_messages(fake_ollama) == [("user", "say: fresh start")]

        enter(child, "/help")
        child.expect_exact("/model NAME   switch to another model (the conversation is kept)\r\n")
        enter(child, "/nope")
        child.expect_exact("unknown command /nope: /help lists the commands\r\n")
        enter(child, "/exit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    history = tmp_path / "ollama-provider" / "history"
    assert history.stat().st_mode & 0o777 == 0o600
    text = history.read_text()
    assert "+say: first answer\n" in text and "+/clear\n" in text


def test_default_model_system_prompt_and_ctrl_d(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    env = session_env(fake_ollama, tmp_path)
    with terminal("chat", "--system", "Be brief.", env=env, script=True) as child:
        child.expect_exact("chatting with qwen3:0.6b at ")
        enter(child, "hello")
        child.expect_exact("Hello! How can I help you today?\r\n")
        assert last_messages(fake_ollama) == [("system", "Be brief."), ("user", "hello")]
        enter(child, "/model")
        child.expect_exact("model: qwen3:0.6b\r\n")
        child.expect_exact("installed: qwen3:0.6b, llama3.2:latest, llava:7b\r\n")
        child.expect_exact(PROMPT)
        # Wait until the prompt has put the terminal in raw mode (echo off), where ^D is a key.
        assert child.waitnoecho(timeout=30)
        child.sendeof()
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0


def test_the_model_list_in_a_session_sends_the_api_key(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.auth = "s3cret-key"
    env = session_env(fake_ollama, tmp_path)
    with terminal("chat", "-m", "llama3.2", "--api-key", "s3cret-key", env=env) as child:
        enter(child, "/model")
        child.expect_exact("model: llama3.2\r\n")
        child.expect_exact("installed: qwen3:0.6b, llama3.2:latest, llava:7b\r\n")
        enter(child, "/exit")
        child.expect(pexpect.EOF)


def test_ctrl_c_stops_an_answer_and_the_session_goes_on(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.token_delay = 0.3
    words = " ".join(f"w{i}" for i in range(40))
    with terminal("chat", "-m", "llama3.2", env=session_env(fake_ollama, tmp_path)) as child:
        enter(child, f"say: {words}")
        child.expect_exact("w0 w1 ")
        assert fake_ollama.server.open_connections == 1
        child.sendintr()
        child.expect_exact(ENDED + "\r\n")
        # The process lives on, so this close is the cancelled stream's, not the exit's.
        assert child.isalive()
        assert fake_ollama.server.wait_until_connections(0, timeout=5)
        fake_ollama.token_delay = 0
        enter(child, "say: after")
        child.expect_exact("after\r\n")
        assert last_messages(fake_ollama) == [("user", "say: after")]
        enter(child, "/bye")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0


def test_an_error_ends_the_turn_not_the_session(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    state = tmp_path / "not-a-directory"
    state.write_text("")  # the history file cannot be made: history stays in memory
    with terminal("chat", "-m", "nosuch:1b", env=session_env(fake_ollama, state)) as child:
        enter(child, "hi")
        # the server's own "model 'nosuch:1b' not found" is not repeated; the server, not
        # the endpoint, is named
        child.expect(
            r"error: model 'nosuch:1b' is not on the server at http://127\.0\.0\.1:\d+\. Pull it"
        )
        child.expect_exact("ollama-provider pull nosuch:1b")
        enter(child, "/model llama3.2")
        enter(child, "say: recovered")
        child.expect_exact("recovered\r\n")
        assert last_messages(fake_ollama) == [("user", "say: recovered")]
        enter(child, "/quit")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0


def test_colour_on_a_terminal_and_no_color(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    env = session_env(fake_ollama, tmp_path, term="xterm-256color")
    with terminal("models", env=env) as child:
        child.expect(pexpect.EOF)
        coloured = child.before
    assert "qwen3:0.6b" in coloured and COLOUR.search(coloured)
    with terminal("models", env={**env, "NO_COLOR": "1"}) as child:
        child.expect(pexpect.EOF)
        plain = child.before
    assert "qwen3:0.6b" in plain and not COLOUR.search(plain)


def test_pull_draws_progress_bars_on_a_terminal(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    env = session_env(fake_ollama, tmp_path, term="xterm-256color")
    with terminal("pull", "llama3.2:1b", env=env) as child:
        child.expect(pexpect.EOF)
        shown = child.before
        child.close()
        assert child.exitstatus == 0
    assert "pulling manifest" in shown and "writing manifest" in shown
    assert "━" in shown and "1.3/1.3 GB" in shown
    assert shown.rstrip().endswith("success")


def test_no_model_on_a_terminal_is_an_error(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    fake_ollama.models = []
    with terminal("chat", env=session_env(fake_ollama, tmp_path)) as child:
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 1
    assert "error: no model given and the server" in (child.before or "")
    assert "pass -m NAME" in (child.before or "")


def test_session_checks_the_model_and_takes_settings(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    with terminal("run", "llama3.2", env=session_env(fake_ollama, tmp_path)) as child:
        child.expect_exact("chatting with llama3.2:latest at ")
        enter(child, "/model nosuch")
        child.expect(r"error: model 'nosuch' is not on the server at \S+")
        child.expect_exact("Installed: qwen3:0.6b, llama3.2:latest, llava:7b.")
        enter(child, "/set temperature 0.3")
        child.expect_exact("temperature: 0.3\r\n")
        enter(child, "/set num_ctx 2048")
        child.expect_exact("num_ctx: 2048\r\n")
        enter(child, "/set system Be brief.")
        child.expect_exact("system: Be brief.\r\n")
        enter(child, '"""say: one')
        child.expect_exact("... ")
        child.sendline('two"""')
        child.expect_exact("one\r\ntwo\r\n")
        body = fake_ollama.last_body("/api/chat")  # num_ctx is Ollama's: the native API
        assert body["model"] == "llama3.2:latest" and body["options"]["num_ctx"] == 2048
        assert body["options"]["temperature"] == 0.3
        assert user_turns(body["messages"]) == [("system", "Be brief."), ("user", "say: one\ntwo")]
        enter(child, "/model llava:7b")
        child.expect_exact("model: llava:7b\r\n")
        enter(child, f"/load {image}")
        child.expect_exact("attached cat.png")
        enter(child, "what is this?")
        child.expect_exact("I see 1 image(s)")
        assert len(fake_ollama.last_body("/api/chat")["messages"][-1]["images"]) == 1
        enter(child, "/show")
        child.expect_exact("Capabilities")
        child.expect_exact("vision")
        child.expect_exact("num_ctx: 2048")
        enter(child, "/bye")
        child.expect(pexpect.EOF)


def test_a_spinner_and_thinking_on_a_terminal(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    fake_ollama.token_delay = 0.2
    env = session_env(fake_ollama, tmp_path, term="xterm-256color")
    with terminal("chat", "-m", "qwen3:0.6b", "say: the answer", env=env) as child:
        child.expect_exact("Thinking…")
        child.expect_exact("the answer")
        child.expect(pexpect.EOF)
        shown = child.before
        child.close()
        assert child.exitstatus == 0
    assert "Thinking…" not in shown  # erased before the answer was written


def test_verbose_stats_in_a_session(fake_ollama: FakeOllama, tmp_path: Path) -> None:
    env = session_env(fake_ollama, tmp_path)
    with terminal("chat", "-m", "llama3.2", "--verbose", env=env) as child:
        enter(child, "say: counted")
        child.expect_exact("counted\r\n")
        child.expect(r"total duration: +\S+ m?s\r\n")
        child.expect(r"eval rate: +[0-9.]+ tokens/s\r\n")
        enter(child, "/set quiet")
        child.expect_exact("verbose: off\r\n")
        enter(child, "/exit")
        child.expect(pexpect.EOF)
