"""Chat-event assembly from the wire shapes of every Ollama release and of other servers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_provider import FinishReason, Reasoning, ToolCalls, Usage
from ollama_provider._assemble import ChatAssembler, ServerStreamError
from ollama_provider._decode import DecodeError

HEAD = '"id":"chatcmpl-42","object":"chat.completion.chunk","model":"llama3.2"'


def chunk(
    delta: dict[str, Any] | None,
    finish: str | None = None,
    created: int = 1755000000,
    usage: dict[str, int] | None = None,
) -> bytes:
    obj: dict[str, Any] = json.loads("{" + HEAD + "}")
    obj["created"] = created
    obj["system_fingerprint"] = "fp_ollama"
    obj["choices"] = (
        [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    )
    if usage is not None:
        obj["usage"] = usage
    return b"data: " + json.dumps(obj, ensure_ascii=False).encode() + b"\n\n"


USAGE = {"prompt_tokens": 26, "completion_tokens": 5, "total_tokens": 31}
# Releases 0.32.6 and later.
NEW_SHAPE = (
    chunk({"role": "assistant", "content": "Hel"})
    + chunk({"content": "lo"})
    + chunk({}, "stop")
    + chunk(None, usage=USAGE)
    + b"data: [DONE]\n\n"
)
# Releases 0.11 to 0.32.5: role on every chunk, "" contents, finish on the last content chunk,
# and the usage frame a copy of that chunk with no choices.
OLD_SHAPE = (
    chunk({"role": "assistant", "content": "Hel"}, created=1)
    + chunk({"role": "assistant", "content": ""}, created=2)
    + chunk({"role": "assistant", "content": "lo"}, "stop", created=3)
    + chunk(None, created=3, usage=USAGE)
    + b"data: [DONE]\n\n"
)
EXPECTED = ["Hel", "lo", FinishReason("stop"), Usage(26, 5, 31)]


def run(
    body: bytes, *, native: bool = False, step: int | None = None
) -> tuple[list[Any], ChatAssembler]:
    stream = ChatAssembler(native=native)
    items: list[Any] = []
    pieces = [body] if step is None else [body[i : i + step] for i in range(0, len(body), step)]
    for piece in pieces:
        items += stream.feed(piece)
    items += stream.close()
    return items, stream


@pytest.mark.parametrize("body", [NEW_SHAPE, OLD_SHAPE], ids=["0.32.6+", "0.11-0.32.5"])
@pytest.mark.parametrize("step", [None, 1, 7])
def test_both_ollama_shapes_give_the_same_events(body: bytes, step: int | None) -> None:
    items, stream = run(body, step=step)
    assert items == EXPECTED
    assert stream.complete and stream.exhausted
    assert "".join(map(str, items)) == "Hello"


def test_reasoning_from_either_field_in_order() -> None:
    body = (
        chunk({"content": "", "reasoning": "Let me"})
        + chunk({"reasoning_content": " think"})
        + chunk({"content": "Yes"}, "stop")
        + b"data: [DONE]\n\n"
    )
    items, _ = run(body)
    assert items == [Reasoning("Let me"), Reasoning(" think"), "Yes", FinishReason("stop")]
    assert "".join(map(str, items)) == "Yes"


def test_ollama_whole_tool_call_is_yielded_before_the_finish() -> None:
    call = {
        "index": 0,
        "id": "call_i9r62nxq",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city":"Tokyo"}'},
    }
    body = (
        chunk({"content": "", "tool_calls": [call]}) + chunk({}, "tool_calls") + b"data: [DONE]\n\n"
    )
    items, _ = run(body)
    assert items == [
        ToolCalls(
            [
                {
                    "id": "call_i9r62nxq",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Tokyo"}'},
                }
            ]
        ),
        FinishReason("tool_calls"),
    ]


def fragments(calls: list[dict[str, str]]) -> list[list[dict[str, Any]]]:
    """llama.cpp / vLLM style: id and name first, then the arguments in pieces of 3 characters."""
    deltas: list[list[dict[str, Any]]] = []
    for index, call in enumerate(calls):
        deltas.append(
            [
                {
                    "index": index,
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["name"], "arguments": ""},
                }
            ]
        )
        args = call["arguments"]
        for i in range(0, len(args), 3):
            deltas.append([{"index": index, "function": {"arguments": args[i : i + 3]}}])
    return deltas


def test_llama_cpp_fragments_are_merged_by_index() -> None:
    calls = [
        {"id": "a1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
        {"id": "b2", "name": "get_time", "arguments": '{"tz": "CET"}'},
    ]
    body = b"".join(chunk({"tool_calls": d}) for d in fragments(calls))
    body += chunk({}, "tool_calls") + chunk(None, usage=USAGE) + b"data: [DONE]\n\n"
    items, _ = run(body, step=5)
    assert items[0] == ToolCalls(
        [
            {
                "id": "a1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "b2",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"tz": "CET"}'},
            },
        ]
    )
    assert items[1:] == [FinishReason("tool_calls"), Usage(26, 5, 31)]


@settings(max_examples=200, deadline=None)
@given(
    calls=st.lists(
        st.fixed_dictionaries(
            {
                "id": st.from_regex(r"call_[a-z0-9]{8}", fullmatch=True),
                "name": st.from_regex(r"[a-z_]{1,12}", fullmatch=True),
                "arguments": st.dictionaries(st.text(max_size=6), st.integers(), max_size=3).map(
                    lambda d: json.dumps(d, ensure_ascii=False)
                ),
            }
        ),
        min_size=1,
        max_size=4,
    ),
    cut=st.integers(min_value=1, max_value=60),
)
def test_tool_fragments_in_any_chunking_give_the_same_calls(
    calls: list[dict[str, str]], cut: int
) -> None:
    body = b"".join(chunk({"tool_calls": d}) for d in fragments(calls)) + chunk({}, "tool_calls")
    items, _ = run(body, step=cut)
    expected = [
        {
            "id": c["id"],
            "type": "function",
            "function": {"name": c["name"], "arguments": c["arguments"]},
        }
        for c in calls
    ]
    assert items == [ToolCalls(expected), FinishReason("tool_calls")]


NATIVE = [
    {
        "model": "qwen3",
        "message": {"role": "assistant", "content": "", "thinking": "Okay"},
        "done": False,
    },
    {"model": "llama3.2", "message": {"role": "assistant", "content": "The"}, "done": False},
    {
        "model": "llama3.2",
        "message": {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_i9r62nxq",
                    "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Tokyo"}},
                }
            ],
        },
        "done": False,
    },
    {
        "model": "llama3.2",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "total_duration": 182242375,
        "prompt_eval_count": 169,
        "eval_count": 15,
    },
]


@pytest.mark.parametrize("step", [None, 1, 11])
def test_native_lines_give_the_same_events(step: int | None) -> None:
    body = b"".join(json.dumps(o).encode() + b"\n" for o in NATIVE)
    items, stream = run(body, native=True, step=step)
    assert items == [
        Reasoning("Okay"),
        "The",
        ToolCalls(
            [
                {
                    "id": "call_i9r62nxq",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Tokyo"}'},
                }
            ]
        ),
        FinishReason("tool_calls"),
        Usage(169, 15, 184),
    ]
    assert stream.exhausted


def test_an_error_object_mid_stream_keeps_what_came_before() -> None:
    stream = ChatAssembler()
    with pytest.raises(ServerStreamError) as info:
        stream.feed(chunk({"content": "Hi"}) + b'data: {"error":{"message":"boom"}}\n\n')
    assert info.value.items == ["Hi"]
    assert info.value.server_message == "boom"
    native = ChatAssembler(native=True)
    with pytest.raises(ServerStreamError) as info2:
        native.feed(b'{"message":{"content":"Hi"},"done":false}\n{"error":"out of memory"}\n')
    assert info2.value.items == ["Hi"] and info2.value.server_message == "out of memory"


def test_a_line_that_is_not_json_is_named() -> None:
    stream = ChatAssembler()
    with pytest.raises(DecodeError) as info:
        stream.feed(chunk({"content": "A"}) + b"data: <html>oops</html>\n\n")
    assert "not JSON" in str(info.value) and "<html>oops</html>" in str(info.value)
    assert info.value.items == ["A"]


def test_unexpected_shapes_are_decode_errors_not_crashes() -> None:
    for payload in (
        b'data: {"choices":"x"}\n\n',
        b'data: {"choices":[{"delta":3}]}\n\n',
        b"data: [1,2]\n\n",
    ):
        with pytest.raises(DecodeError):
            ChatAssembler().feed(payload)


def test_unfinished_stream_is_not_finished() -> None:
    items, stream = run(chunk({"content": "Hel"}))
    assert items == ["Hel"] and not stream.complete


def test_non_streaming_answers() -> None:
    openai = {
        "id": "chatcmpl-42",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello!",
                    "reasoning": "hm",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": USAGE,
    }
    assert ChatAssembler().whole(openai) == [
        Reasoning("hm"),
        "Hello!",
        ToolCalls([{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]),
        FinishReason("tool_calls"),
        Usage(26, 5, 31),
    ]
    native = {
        "model": "m",
        "message": {"role": "assistant", "content": "Hi"},
        "done": True,
        "done_reason": "length",
        "prompt_eval_count": 3,
        "eval_count": 2,
    }
    assert ChatAssembler().whole(native) == ["Hi", FinishReason("length"), Usage(3, 2, 5)]
    with pytest.raises(DecodeError):
        ChatAssembler().whole({"choices": [None]})
