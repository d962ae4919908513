"""The README's "Use" examples run as written, against the fake Ollama at OLLAMA_HOST."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fake_ollama import FakeOllama

README = Path(__file__).resolve().parent.parent / "README.md"


def use_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def test_the_use_section_has_the_seed_examples() -> None:
    examples = use_examples()
    assert len(examples) == 2
    assert "Ollama.create_async_generator(" in examples[0]
    assert "Ollama.get_models()" in examples[1]


@pytest.mark.parametrize("index", [0, 1])
def test_use_examples_run_as_written(fake_ollama: FakeOllama, index: int) -> None:
    code = use_examples()[index]
    env = {"OLLAMA_HOST": fake_ollama.url, "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "Hello! How can I help you today?" in proc.stdout
    if index == 1:
        names = [m.name for m in fake_ollama.installed()]
        assert proc.stdout.startswith(f"{names} {names[0]}\n")
