"""Self-tests of the test server and fake Ollama, using only the standard library."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import faults
from tests.support.fake_ollama import FakeOllama
from tests.support.httpserver import HTTPServer

Result = tuple[int, http.client.HTTPResponse, bytes]


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    before = {t.ident for t in threading.enumerate()}
    with HTTPServer() as srv:
        yield srv
    assert not srv.errors
    assert not srv.running
    leaked = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert not leaked


@pytest.fixture
def ollama(server: HTTPServer) -> FakeOllama:
    return FakeOllama(server, seed=1)


def call(
    srv: HTTPServer,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Result:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp, resp.read()
    finally:
        conn.close()


def raw_exchange(srv: HTTPServer, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as sock:
        sock.sendall(data)
        out = []
        while True:
            try:
                got = sock.recv(65536)
            except ConnectionResetError:
                break
            if not got:
                break
            out.append(got)
    return b"".join(out)


def post_raw(srv: HTTPServer, path: str, body: Any) -> bytes:
    payload = json.dumps(body).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    head += f"Content-Length: {len(payload)}\r\n\r\n"
    return raw_exchange(srv, head.encode() + payload)


def chunks_of(raw: bytes) -> list[bytes]:
    """The payloads of an HTTP/1.1 chunked body, in order (response head skipped)."""
    rest = raw.split(b"\r\n\r\n", 1)[1]
    out = []
    while rest:
        size_line, rest = rest.split(b"\r\n", 1)
        size = int(size_line, 16)
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return out


USER = [{"role": "user", "content": "say: Hel lo"}]
REF_NEW = (  # the reference's 0.32.6+ example, verbatim
    'data: {"id":"chatcmpl-42","object":"chat.completion.chunk","created":1755000000,'
    '"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,'
    '"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-42","object":"chat.completion.chunk","created":1755000000,'
    '"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,'
    '"delta":{"content":"lo"},"finish_reason":null}]}\n\n'
    'data: {"id":"chatcmpl-42","object":"chat.completion.chunk","created":1755000000,'
    '"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[{"index":0,'
    '"delta":{},"finish_reason":"stop"}]}\n\n'
    'data: {"id":"chatcmpl-42","object":"chat.completion.chunk","created":1755000000,'
    '"model":"llama3.2","system_fingerprint":"fp_ollama","choices":[],'
    '"usage":{"prompt_tokens":26,"completion_tokens":5,"total_tokens":31}}\n\n'
    "data: [DONE]\n\n"
)


def sse_events(body: bytes) -> list[str]:
    assert body.endswith(b"\n\n")
    frames = body.decode().split("\n\n")[:-1]
    assert all(f.startswith("data: ") for f in frames)
    return [f[6:] for f in frames]


def test_plain_endpoints(server: HTTPServer, ollama: FakeOllama) -> None:
    status, resp, body = call(server, "GET", "/")
    assert (status, body) == (200, b"Ollama is running")
    status, resp, body = call(server, "HEAD", "/")
    assert (status, body, resp.getheader("Content-Length")) == (200, b"", "17")
    assert call(server, "GET", "/api/version")[2] == b'{"version":"0.33.0"}'
    status, resp, body = call(server, "GET", "/nope")
    assert (status, body, resp.getheader("Content-Type")) == (
        404,
        b"404 page not found",
        "text/plain",
    )
    status, resp, _ = call(server, "GET", "/api/chat")
    assert (status, resp.getheader("Allow")) == (405, "POST")


def test_tags_shape_per_version(server: HTTPServer, ollama: FakeOllama) -> None:
    models = json.loads(call(server, "GET", "/api/tags")[2])["models"]
    assert [m["name"] for m in models] == ["qwen3:0.6b", "llama3.2:latest", "llava:7b"]
    assert models[2]["details"]["families"] is None
    assert "capabilities" in models[0] and "context_length" in models[0]["details"]
    ollama.version = "0.19.0"
    old = json.loads(call(server, "GET", "/api/tags")[2])["models"][1]
    assert list(old) == ["name", "model", "modified_at", "size", "digest", "details"]
    assert "context_length" not in old["details"]
    ollama.models = []
    assert call(server, "GET", "/api/tags")[2] == b'{"models":[]}'
    assert call(server, "GET", "/v1/models")[2] == b'{"object":"list","data":null}\n'


def test_sse_new_shape_is_byte_exact(server: HTTPServer, ollama: FakeOllama) -> None:
    body = {"model": "llama3.2", "messages": USER, "stream": True}
    raw = post_raw(
        server, "/v1/chat/completions", {**body, "stream_options": {"include_usage": True}}
    )
    assert b"\r\nContent-Type: text/event-stream\r\n" in raw.split(b"\r\n\r\n")[0]
    text = b"".join(chunks_of(raw))
    first = json.loads(sse_events(text)[0])
    expected = (
        REF_NEW.replace("chatcmpl-42", first["id"])
        .replace("1755000000", str(first["created"]))
        .replace('"content":"Hel"', '"content":"Hel "')
        .replace(
            '"prompt_tokens":26,"completion_tokens":5,"total_tokens":31',
            '"prompt_tokens":13,"completion_tokens":2,"total_tokens":15',
        )
    )
    assert text.decode() == expected
    assert chunks_of(raw)[-1].startswith(b'data: {"id"') and chunks_of(raw)[-1].count(b"data:") == 3
    no_usage = b"".join(chunks_of(post_raw(server, "/v1/chat/completions", body)))
    assert [e for e in sse_events(no_usage) if '"usage"' in e] == []


def test_sse_old_shape(server: HTTPServer, ollama: FakeOllama) -> None:
    ollama.version = "0.32.5"
    body = {
        "model": "llama3.2",
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    raw = post_raw(server, "/v1/chat/completions", body)
    events = sse_events(b"".join(chunks_of(raw)))
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert [c["choices"][0]["delta"] for c in chunks[:3]] == [
        {"role": "assistant", "content": "Hel "},
        {"role": "assistant", "content": "lo"},
        {"role": "assistant", "content": ""},  # the finish in a chunk of its own, as 0.24.0
    ]
    assert [c["choices"][0]["finish_reason"] for c in chunks[:3]] == [None, None, "stop"]
    usage = chunks[3]
    assert usage == {
        **chunks[2],
        "choices": [],
        "usage": {"prompt_tokens": 13, "completion_tokens": 2, "total_tokens": 15},
    }
    assert list(usage) == [
        "id",
        "object",
        "created",
        "model",
        "system_fingerprint",
        "choices",
        "usage",
    ]


def test_native_ndjson(server: HTTPServer, ollama: FakeOllama) -> None:
    msgs = [{"role": "user", "content": "say: <b>&</b> ünï 😀"}]
    raw = post_raw(server, "/api/chat", {"model": "llama3.2", "messages": msgs, "keep_alive": "1m"})
    head, _ = raw.split(b"\r\n\r\n", 1)
    assert b"Content-Type: application/x-ndjson" in head and b"chunked" in head
    text = b"".join(chunks_of(raw))
    assert (
        b'"<b>&</b> "' in text
        and "ünï ".encode() in text
        and "😀".encode() in text
        and b"\\u00fc" not in text
    )
    lines = [json.loads(line) for line in text.splitlines()]
    assert "".join(line["message"]["content"] for line in lines) == "<b>&</b> ünï 😀"
    assert [line["done"] for line in lines] == [False, False, False, True]
    done = lines[-1]
    assert list(done)[:6] == [
        "model",
        "created_at",
        "message",
        "done",
        "done_reason",
        "total_duration",
    ]
    assert done["eval_count"] == 3 and done["prompt_eval_count"] == 14
    assert ollama.last_body("/api/chat")["keep_alive"] == "1m"
    ps = json.loads(call(server, "GET", "/api/ps")[2])["models"]
    assert [m["name"] for m in ps] == ["llama3.2:latest"]


def test_deterministic_model(server: HTTPServer, ollama: FakeOllama) -> None:
    def v1(**kw: Any) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(call(server, "POST", "/v1/chat/completions", kw)[2])
        return out

    short = v1(model="llama3.2", messages=[{"role": "user", "content": "hi"}], max_tokens=2)
    assert short["choices"][0] == {
        "index": 0,
        "finish_reason": "length",
        "message": {"role": "assistant", "content": "Hello! How "},
    }
    cut = v1(model="llama3.2", messages=USER, stop=["lo"])["choices"][0]
    assert (cut["message"]["content"], cut["finish_reason"]) == ("Hel ", "stop")
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    ask = [{"role": "user", "content": 'call: get_weather {"city": "Tokyo"}'}]
    res = v1(model="llama3.2", messages=ask, tools=tools)["choices"][0]
    (tc,) = res["message"]["tool_calls"]
    assert (
        res["finish_reason"] == "tool_calls" and tc["function"]["arguments"] == '{"city":"Tokyo"}'
    )
    assert tc["id"].startswith("call_") and len(tc["id"]) == 13 and tc["type"] == "function"
    result = [*ask, {"role": "tool", "content": "sunny"}]
    assert v1(model="llama3.2", messages=result)["choices"][0]["message"]["content"] == (
        "The tool said: sunny"
    )
    schema = {
        "type": "object",
        "required": ["n", "kind"],
        "properties": {"n": {"type": "integer"}, "kind": {"enum": ["a", "b"]}},
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    out = v1(model="llama3.2", messages=USER, response_format=fmt)["choices"][0]["message"]
    assert json.loads(out["content"]) == {"n": 0, "kind": "a"}
    png = base64.b64encode(b"\x89PNG1234").decode()
    parts = [
        {"type": "text", "text": "what?"},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
    ]
    seen = v1(model="llava:7b", messages=[{"role": "user", "content": parts}])
    assert seen["choices"][0]["message"]["content"] == "I see 1 image(s) of 8 bytes"
    quiet = v1(model="qwen3:0.6b", messages=USER, reasoning_effort="none")["choices"][0]
    assert "reasoning" not in quiet["message"]
    native = {"model": "qwen3:0.6b", "messages": USER, "stream": False, "think": "high"}
    msg = json.loads(call(server, "POST", "/api/chat", native)[2])["message"]
    assert (msg["thinking"], msg["content"]) == ("Let me think about that.", "Hel lo")
    bad = {"model": "llava:7b", "messages": [{"role": "user", "content": "x", "images": ["!!"]}]}
    assert call(server, "POST", "/api/chat", bad)[0] == 400


def test_load_and_unload(server: HTTPServer, ollama: FakeOllama) -> None:
    loaded = json.loads(call(server, "POST", "/api/chat", {"model": "llama3.2", "messages": []})[2])
    assert (loaded["done"], loaded["done_reason"]) == (True, "load")
    assert ollama.count("/api/chat") == 1 and len(ollama.running()) == 1
    body = {"model": "llama3.2", "prompt": "", "keep_alive": 0}
    assert json.loads(call(server, "POST", "/api/generate", body)[2])["done_reason"] == "unload"
    assert json.loads(call(server, "GET", "/api/ps")[2]) == {"models": []}


def test_pull_progress_and_failure(server: HTTPServer, ollama: FakeOllama) -> None:
    status, _, text = call(server, "POST", "/api/pull", {"model": "gemma3:1b"})
    lines = [json.loads(line) for line in text.splitlines()]
    assert status == 200 and lines[0] == {"status": "pulling manifest"}
    assert [x["status"] for x in lines[-3:]] == [
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    layer = [x for x in lines if x.get("digest") == lines[1]["digest"]]
    assert "completed" not in layer[0] and len(layer) >= 4
    done = [x["completed"] for x in layer[1:]]
    assert done == sorted(set(done)) and done[-1] == layer[0]["total"]
    assert lines[1]["status"] == "pulling " + lines[1]["digest"][7:19]
    assert ollama.installed()[0].name == "gemma3:1b"
    status, _, text = call(server, "POST", "/api/pull", {"model": "nope"})
    assert status == 200
    assert text.splitlines()[-1] == b'{"error":"pull model manifest: file does not exist"}'
    status, _, text = call(server, "POST", "/api/pull", {"model": "llama3.2:1b", "stream": False})
    assert (status, text) == (200, b'{"status":"success"}')
    assert call(server, "DELETE", "/api/delete", {"model": "llama3.2:1b"})[:3:2] == (200, b"")
    assert (
        call(server, "DELETE", "/api/delete", {"model": "x"})[2]
        == b'{"error":"model \'x\' not found"}'
    )


@pytest.mark.parametrize(
    ("version", "native", "kind"),
    [
        ("0.11.4", 'model "nope" not found, try pulling it first', "api_error"),
        ("0.12.0", "model 'nope' not found", "api_error"),
        ("0.18.0", "model 'nope' not found", "not_found_error"),
    ],
)
def test_404_forms(
    server: HTTPServer, ollama: FakeOllama, version: str, native: str, kind: str
) -> None:
    ollama.version = version
    status, _, body = call(server, "POST", "/api/chat", {"model": "nope", "messages": USER})
    assert (status, json.loads(body)) == (404, {"error": native})
    status, _, body = call(
        server, "POST", "/v1/chat/completions", {"model": "nope", "messages": USER}
    )
    assert status == 404
    assert json.loads(body) == {
        "error": {"message": native, "type": kind, "param": None, "code": None}
    }


def test_v1_request_errors(server: HTTPServer, ollama: FakeOllama) -> None:
    for body in (b"{bad", b"", {"model": "llama3.2", "messages": []}):
        status, _, out = call(server, "POST", "/v1/chat/completions", body)
        assert status == 400 and json.loads(out)["error"]["type"] == "invalid_request_error"


def test_prefix_local_only_and_auth(server: HTTPServer, ollama: FakeOllama) -> None:
    ollama.path_prefix = "/ollama"
    assert call(server, "GET", "/ollama/api/version")[0] == 200
    assert call(server, "GET", "/api/version")[0] == 404
    assert ollama.url.endswith("/ollama")
    ollama.path_prefix, ollama.local_only = "", True
    status, resp, body = call(server, "GET", "/api/tags", headers={"Host": "evil.example:11434"})
    assert (status, body, resp.getheader("Content-Length")) == (403, b"", "0")
    for host in ("localhost:11434", "127.0.0.1", "[::1]:8080"):
        assert call(server, "GET", "/api/tags", headers={"Host": host})[0] == 200
    ollama.local_only, ollama.auth = False, "s3cret"
    status, _, body = call(server, "GET", "/api/tags", headers={"Authorization": "Bearer nope-tok"})
    assert status == 401 and json.loads(body)["error"] == "unauthorized" and b"nope-tok" in body
    assert call(server, "GET", "/api/tags", headers={"Authorization": "Bearer s3cret"})[0] == 200
    ollama.auth = ("u", "p")
    basic = "Basic " + base64.b64encode(b"u:p").decode()
    assert call(server, "GET", "/api/tags", headers={"Authorization": basic})[0] == 200


def test_mid_stream_failures(server: HTTPServer, ollama: FakeOllama) -> None:
    ollama.fail_after = 1
    text = call(server, "POST", "/api/chat", {"model": "llama3.2", "messages": USER})[2]
    assert text.splitlines()[-1].startswith(b'{"error":') and b'"done":true' not in text
    body = {"model": "llama3.2", "messages": USER, "stream": True}
    text = call(server, "POST", "/v1/chat/completions", body)[2]
    assert b"[DONE]" not in text and b'finish_reason":"' not in text and b"Hel " in text


def test_reset_and_close_faults(server: HTTPServer) -> None:
    server.add_fault("/x", faults.reset_before_headers())
    try:
        got = raw_exchange(server, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
    except ConnectionResetError:
        got = b""
    assert got == b""
    server.add_fault("/y", faults.close_before_headers())
    with pytest.raises(http.client.RemoteDisconnected):
        call(server, "GET", "/y")
    assert server.count("/x") == 1 and server.requests[-1].faulted


def test_raw_segments_deliver_exact_bytes(server: HTTPServer) -> None:
    body = "héllo wörld 😀".encode()
    data = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-T: 1\r\n\r\n%s" % (len(body), body)
    server.add_fault("/seg", faults.raw(data, segment=1))
    assert raw_exchange(server, b"GET /seg HTTP/1.1\r\nHost: a\r\n\r\n") == data
    server.add_fault("/sse", faults.sse([{"a": "<"}, b"data: [DONE]\n\n"], segment=3))
    status, resp, text = call(server, "GET", "/v1/sse")
    assert (status, resp.getheader("Transfer-Encoding")) == (200, "chunked")
    assert text == b'data: {"a":"<"}\n\ndata: [DONE]\n\n'


def test_stalls_end_when_client_leaves(server: HTTPServer) -> None:
    server.add_fault("/stall", faults.headers_then_stall(), times=None)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=0.3)
    conn.request("GET", "/stall")
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises(TimeoutError):
        resp.read(1)
    conn.close()
    assert server.wait_until_connections(0, 3)
    server.add_fault("/never", faults.never_respond())
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(b"GET /never HTTP/1.1\r\nHost: a\r\n\r\n")
    assert server.wait_until_requests(1, "/never")
    sock.close()  # the server must notice and free the connection
    assert server.wait_until_connections(0, 3)


def test_keep_alive_and_connection_accounting(server: HTTPServer, ollama: FakeOllama) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    for _ in range(3):
        conn.request("POST", "/api/chat", json.dumps({"model": "llama3.2", "messages": USER}))
        assert conn.getresponse().read().endswith(b"}\n")
    assert server.total_connections == 1 and server.open_connections == 1
    conn.close()
    assert server.wait_until_connections(0, 3)
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
    try:
        assert server.wait_until_connections(3, 3) and server.total_connections == 4
    finally:
        for sock in socks:
            sock.close()
    assert server.wait_until_connections(0, 3)


def test_chunked_request_body_and_close(server: HTTPServer, ollama: FakeOllama) -> None:
    payload = json.dumps({"model": "llama3.2"}).encode()
    req = (
        b"POST /api/show HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
    ) % (len(payload), payload)
    raw = raw_exchange(server, req)
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close" in raw
    show = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert show["model_info"]["llama.context_length"] == 131072
    assert "<|eot_id|>" in raw.decode()


def test_stop_with_open_stall_leaks_nothing() -> None:
    srv = HTTPServer().start()
    srv.add_fault("/", faults.never_respond())
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert srv.wait_until_requests(1)
    srv.stop()
    assert not srv.running and srv.open_connections == 0
    assert sock.recv(10) == b""
    sock.close()
