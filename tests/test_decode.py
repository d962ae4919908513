"""The framing decoders: every input whole, byte by byte, split anywhere, and with trailing data."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_provider._decode import LineTooLongError, NDJSONDecoder, SSEDecoder


def feed_all(decoder: SSEDecoder | NDJSONDecoder, pieces: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for piece in pieces:
        out += decoder.feed(piece)
    return out + decoder.close()


def whole(body: bytes) -> list[bytes]:
    return [body]


def bytewise(body: bytes) -> list[bytes]:
    return [body[i : i + 1] for i in range(len(body))]


def halves(body: bytes) -> list[bytes]:
    return [body[: len(body) // 2], body[len(body) // 2 :]]


SPLITS = [whole, bytewise, halves]

SSE_CASES = [
    # (body, expected data payloads)
    (b'data: {"a":1}\n\n', [b'{"a":1}']),
    (b'data:{"a":1}\n\n', [b'{"a":1}']),  # no space after the colon
    (b'data:  {"a":1}\n\n', [b' {"a":1}']),  # only one space is dropped
    (b'data: {"a":1}\r\n\r\ndata: [DONE]\r\n\r\n', [b'{"a":1}', b"[DONE]"]),
    (b"data: a\r\rdata: b\r\r", [b"a", b"b"]),  # lone CR line ends
    (b": keep-alive\n\ndata: x\n\n", [b"x"]),
    (b"event: message\nid: 7\nretry: 100\ndata: x\n\n", [b"x"]),
    (b"data: l1\ndata: l2\n\n", [b"l1\nl2"]),  # several data lines, one event
    (b"\xef\xbb\xbfdata: x\n\n", [b"x"]),  # BOM at the start
    (b"data: x\n\n\n\n\ndata: y\n\n", [b"x", b"y"]),
    (b"data: x", [b"x"]),  # ended without the final blank line: still delivered
    (b"data: x\n", [b"x"]),
    (b"data\n\n", [b""]),
    (b"id: 1\n\n", []),  # an event without data dispatches nothing
    (
        'data: {"t":"caf\u00e9 \u2028 \u0085 \U0001f600"}\n\n'.encode(),
        ['{"t":"caf\u00e9 \u2028 \u0085 \U0001f600"}'.encode()],
    ),
]


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize(("body", "expected"), SSE_CASES)
def test_sse(body: bytes, expected: list[bytes], split: object) -> None:
    assert feed_all(SSEDecoder(), split(body)) == expected  # type: ignore[operator]


def test_sse_returns_nothing_until_an_event_is_whole() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: {") == []
    assert decoder.feed(b'"a":1}\n') == []
    assert decoder.feed(b"\n") == [b'{"a":1}']
    assert decoder.feed(b"data: trailing") == []
    assert decoder.close() == [b"trailing"]


def test_sse_crlf_split_between_reads_makes_no_extra_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r") == []  # "\r\n" across reads is one line end
    assert decoder.feed(b"\n\r") == [b"a\nb"]
    assert decoder.feed(b"\n") == []


def test_bom_only_at_the_start() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"\xef") == []
    assert decoder.feed(b"\xbb") == []
    assert decoder.feed(b"\xbfdata: x\n\ndata: \xef\xbb\xbfy\n\n") == [b"x", b"\xef\xbb\xbfy"]


NDJSON_BODY = b'{"a":1}\n\n{"b":"\xe2\x80\xa8 \xc2\x85"}\r\n   \n{"c":3}'


@pytest.mark.parametrize("split", SPLITS)
def test_ndjson(split: object) -> None:
    lines = feed_all(NDJSONDecoder(), split(NDJSON_BODY))  # type: ignore[operator]
    assert [json.loads(line) for line in lines] == [{"a": 1}, {"b": "\u2028 \u0085"}, {"c": 3}]


def test_ndjson_bom_and_trailing_newline() -> None:
    assert feed_all(NDJSONDecoder(), [b"\xef\xbb\xbf{}\n"]) == [b"{}"]


def test_limit_applies_to_an_unfinished_line_before_it_ends() -> None:
    decoder = SSEDecoder(max_line=1000)
    assert decoder.feed(b"data: ok\n\n" + b"data: " + b"x" * 500) == [b"ok"]
    with pytest.raises(LineTooLongError) as info:
        decoder.feed(b"x" * 600)
    assert "1,000 byte limit" in str(info.value)


def test_limit_keeps_the_complete_lines_before_the_long_one() -> None:
    decoder = NDJSONDecoder(max_line=1000)
    with pytest.raises(LineTooLongError) as info:
        decoder.feed(b'{"a":1}\n' + b"x" * 2000 + b"\n")
    assert info.value.items == [b'{"a":1}']
    sse = SSEDecoder(max_line=1000)
    with pytest.raises(LineTooLongError) as info2:
        sse.feed(b"data: a\n\n" + b"y" * 1500)
    assert info2.value.items == [b"a"]


def test_a_line_at_the_limit_is_delivered_whole() -> None:
    payload = b"z" * 2000
    decoder = NDJSONDecoder(max_line=2000)
    pieces = [payload[i : i + 300] for i in range(0, len(payload), 300)] + [b"\n"]
    assert feed_all(decoder, pieces) == [payload]


def _text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=max_size)


def _sse_encode(payloads: list[bytes], crlf: bool, space: bool, comments: bool) -> bytes:
    end = b"\r\n" if crlf else b"\n"
    out = b"\xef\xbb\xbf" if comments else b""
    for payload in payloads:
        if comments:
            out += b": ping" + end + b"event: message" + end
        for line in payload.split(b"\n"):
            out += b"data:" + (b" " if space else b"") + line + end
        out += end
    return out


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(
        st.text(
            alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
            max_size=30,
        ),
        max_size=8,
    ),
    crlf=st.booleans(),
    space=st.booleans(),
    comments=st.booleans(),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_sse_any_split_gives_the_events_of_the_whole(
    texts: list[str], crlf: bool, space: bool, comments: bool, cuts: list[int]
) -> None:
    payloads = [json.dumps({"t": t}, ensure_ascii=False).encode() for t in texts]
    body = _sse_encode(payloads, crlf, space, comments)
    points = sorted({c % (len(body) + 1) for c in cuts})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    assert feed_all(SSEDecoder(), pieces) == payloads
    assert feed_all(SSEDecoder(), [body]) == payloads


@settings(max_examples=300, deadline=None)
@given(
    objs=st.lists(st.dictionaries(_text(max_size=5), _text(max_size=20), max_size=3), max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_ndjson_any_split_gives_the_lines_of_the_whole(
    objs: list[dict[str, str]], cuts: list[int]
) -> None:
    body = b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objs)
    points = sorted({c % (len(body) + 1) for c in cuts})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    assert [json.loads(line) for line in feed_all(NDJSONDecoder(), pieces)] == objs
