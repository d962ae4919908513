"""Ollama-native options go to /api/chat and give the same events; images on both paths."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ollama_provider import (
    FinishReason,
    Ollama,
    Reasoning,
    StreamInterruptedError,
    ToolCalls,
    Usage,
)
from tests.support.fake_ollama import FakeOllama
from tests.support.ollama_native import EVAL_NS_PER_TOKEN, PROMPT_EVAL_NS_PER_TOKEN

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


def items(ollama: FakeOllama, messages: Any, model: str = "llama3.2", **kw: Any) -> list[Any]:
    return list(Ollama.create_completion(model, messages, api_base=ollama.url, **kw))


@pytest.mark.parametrize(
    "native",
    [{"keep_alive": 0}, {"options": {"num_ctx": 2048}}, {"think": False}, {"format": "json"}],
    ids=["keep_alive", "options", "think", "format"],
)
def test_each_native_option_routes_to_api_chat(fake_ollama: FakeOllama, native: Any) -> None:
    items(fake_ollama, [{"role": "user", "content": "Hi"}], model="qwen3:0.6b", **native)
    assert fake_ollama.count("/api/chat") == 1 and fake_ollama.count("/v1/chat/completions") == 0
    body = fake_ollama.last_body("/api/chat")
    for key, value in native.items():
        assert body[key] == value


def test_same_events_on_both_routes(fake_ollama: FakeOllama) -> None:
    messages = [{"role": "user", "content": "say: Same words here"}]
    v1 = items(fake_ollama, messages, model="qwen3:0.6b")
    native = items(fake_ollama, messages, model="qwen3:0.6b", keep_alive="1m")
    assert v1 == native
    assert [i.text for i in native if isinstance(i, Reasoning)]
    assert native[-2:] == [FinishReason("stop"), Usage(14, 8, 22)]
    usage = native[-1]
    # the fake's fixed durations per token, converted to seconds: no clock is read
    assert isinstance(usage, Usage) and usage.eval_duration == 8 * EVAL_NS_PER_TOKEN / 1e9
    assert usage.prompt_eval_duration == 14 * PROMPT_EVAL_NS_PER_TOKEN / 1e9
    assert usage.total_duration is not None and usage.total_duration > usage.eval_duration
    assert v1[-1] == usage and v1[-1].eval_duration is None  # /v1 reports no durations


def test_openai_parameters_map_to_native_options(fake_ollama: FakeOllama) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    items(
        fake_ollama,
        [{"role": "user", "content": "Hi"}],
        model="qwen3:0.6b",
        keep_alive="5m",
        temperature=0.3,
        top_p=0.5,
        max_tokens=40,
        seed=3,
        stop="END",
        reasoning_effort="high",
        response_format={"type": "json_schema", "json_schema": {"schema": schema}},
        options={"num_ctx": 4096, "temperature": 0.9},
    )
    body = fake_ollama.last_body("/api/chat")
    assert body["options"] == {
        "temperature": 0.9,
        "top_p": 0.5,
        "num_predict": 40,
        "seed": 3,
        "stop": ["END"],
        "num_ctx": 4096,
    }
    assert body["think"] == "high" and body["format"] == schema
    assert body["stream"] is True and "stream_options" not in body


def test_native_tool_calls_become_json_strings(fake_ollama: FakeOllama) -> None:
    messages = [{"role": "user", "content": 'call: get_weather {"city": "Lima"}'}]
    result = items(fake_ollama, messages, tools=TOOLS, keep_alive="5m")
    call = next(i for i in result if isinstance(i, ToolCalls)).calls[0]
    assert isinstance(call["function"]["arguments"], str)
    assert json.loads(call["function"]["arguments"]) == {"city": "Lima"}
    assert FinishReason("tool_calls") in result


def test_tool_results_go_back_natively_with_object_arguments(fake_ollama: FakeOllama) -> None:
    messages = [
        {"role": "user", "content": 'call: get_weather {"city": "Lima"}'},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Lima"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    result = items(fake_ollama, messages, tools=TOOLS, keep_alive="5m")
    assert "".join(map(str, result)) == "The tool said: sunny"
    sent = fake_ollama.last_body("/api/chat")["messages"]
    assert sent[1]["tool_calls"][0]["function"]["arguments"] == {"city": "Lima"}
    assert sent[2]["tool_name"] == "get_weather"


def test_missing_done_line_is_an_interruption(fake_ollama: FakeOllama) -> None:
    fake_ollama.server.add_fault("/api/chat", _native_without_done())
    with pytest.raises(StreamInterruptedError) as info:
        items(fake_ollama, [{"role": "user", "content": "Hi"}], keep_alive="5m")
    assert info.value.partial == "Hel"


def _native_without_done() -> Any:
    from tests.support import faults

    return faults.ndjson(
        [{"model": "m", "message": {"role": "assistant", "content": "Hel"}, "done": False}]
    )


@pytest.mark.parametrize("native", [False, True], ids=["v1", "native"])
@pytest.mark.parametrize("form", ["path", "str path", "bytes", "base64", "data url", "part"])
def test_images_in_every_form(
    fake_ollama: FakeOllama, tmp_path: Path, native: bool, form: str
) -> None:
    path = tmp_path / "pixel.png"
    path.write_bytes(PNG)
    encoded = base64.b64encode(PNG).decode()
    image: Any = {
        "path": path,
        "str path": str(path),
        "bytes": PNG,
        "base64": encoded,
        "data url": f"data:image/png;base64,{encoded}",
    }.get(form)
    if form == "part":
        message = {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{encoded}"}},
            ],
        }
    else:
        message = {"role": "user", "content": "What is this?", "images": [image]}
    result = items(
        fake_ollama, [message], model="llava:7b", **({"keep_alive": "5m"} if native else {})
    )
    assert "".join(map(str, result)) == f"I see 1 image(s) of {len(PNG)} bytes"
    if native:
        sent = fake_ollama.last_body("/api/chat")["messages"][0]
        assert sent["images"] == [encoded] and sent["content"] == "What is this?"
    else:
        parts = fake_ollama.last_body("/v1/chat/completions")["messages"][0]["content"]
        assert parts[-1] == {
            "type": "image_url",
            "image_url": {"url": f"data:image/png;base64,{encoded}"},
        }


def test_bad_image_is_a_clear_error() -> None:
    message = {"role": "user", "content": "x", "images": ["not an image!"]}
    with pytest.raises(ValueError, match=r"messages\[0\].images.*neither an existing file"):
        Ollama.create_async_generator("llava:7b", [message])
