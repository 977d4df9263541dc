"""The fake upstream itself speaks the wire format of OpenAI's API, checked without the gateway.

Each raw payload is validated strictly against the official SDK's types (see wire.strict), and
the SDK is pointed straight at the fake to prove it parses every answer. When these pass, a
failure in the gateway tests is the gateway's, not the fake's.
"""

import base64
import http.client
import json
import struct

import openai
import pytest
from openai import OpenAI
from openai.types import CreateEmbeddingResponse, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import fake_upstream
from wire import request, strict

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]
HELLO = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]


@pytest.fixture
def base(upstream):
    upstream.reset()
    return f"http://127.0.0.1:{upstream.port}"


@pytest.fixture
def direct(base):
    return OpenAI(base_url=base + "/v1", api_key=fake_upstream.API_KEY, max_retries=0, timeout=10)


def post(base, path, body, key=fake_upstream.API_KEY):
    return request("POST", base + path, body, key=key)


def chunks_of(reply):
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    data = reply.sse_data()
    assert data[-1] == "[DONE]", "the stream must end with data: [DONE]"
    assert "[DONE]" not in data[:-1]
    return [json.loads(item) for item in data[:-1]]


def test_completion_shape(base):
    reply = post(base, "/v1/chat/completions", {"model": "m", "messages": HELLO})
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    raw = reply.json()
    completion = strict(ChatCompletion, raw)
    assert raw["object"] == "chat.completion"
    assert raw["model"] == "m"
    assert isinstance(raw["created"], int) and raw["id"] and raw["system_fingerprint"]
    choice = raw["choices"][0]
    assert choice == {
        "index": 0, "logprobs": None, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "echo: hello there", "refusal": None, "annotations": []},
    }
    usage = completion.usage
    assert usage.prompt_tokens + usage.completion_tokens == usage.total_tokens == 14


def test_sdk_parses_completion_and_n(direct):
    completion = direct.chat.completions.create(model="m", messages=HELLO, n=3)
    assert [choice.index for choice in completion.choices] == [0, 1, 2]
    assert {choice.message.content for choice in completion.choices} == {"echo: hello there"}
    assert completion.usage.total_tokens == 14


def test_content_parts_are_echoed(direct):
    completion = direct.chat.completions.create(
        model="m", messages=[{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}]
    )
    assert completion.choices[0].message.content == "echo: ab"


def test_stream_without_usage(base, direct):
    chunks = chunks_of(post(base, "/v1/chat/completions", {"model": "m", "messages": HELLO, "stream": True}))
    for chunk in chunks:
        strict(ChatCompletionChunk, chunk)
        assert chunk["object"] == "chat.completion.chunk"
        assert "usage" not in chunk
        assert len(chunk["choices"]) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks) == "echo: hello there"
    assert len(chunks) > 3, "content comes in several deltas"

    parsed = list(direct.chat.completions.create(model="m", messages=HELLO, stream=True))
    assert "".join(chunk.choices[0].delta.content or "" for chunk in parsed) == "echo: hello there"
    assert all(chunk.usage is None for chunk in parsed)


def test_stream_with_usage(base, direct):
    body = {"model": "m", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}
    chunks = chunks_of(post(base, "/v1/chat/completions", body))
    for chunk in chunks:
        strict(ChatCompletionChunk, chunk)
    assert all(chunk["usage"] is None and chunk["choices"] for chunk in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 14

    parsed = list(direct.chat.completions.create(
        model="m", messages=HELLO, stream=True, stream_options={"include_usage": True}
    ))
    assert parsed[-1].choices == [] and parsed[-1].usage.completion_tokens == 5


def test_stream_with_n(direct):
    parsed = list(direct.chat.completions.create(model="m", messages=HELLO, stream=True, n=2))
    texts = {0: "", 1: ""}
    for chunk in parsed:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
    assert texts == {0: "echo: hello there", 1: "echo: hello there"}


@pytest.mark.parametrize("tool_choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
def test_tool_call(base, direct, tool_choice):
    raw = post(base, "/v1/chat/completions", {"model": "m", "messages": HELLO, "tools": TOOLS, "tool_choice": tool_choice}).json()
    strict(ChatCompletion, raw)
    message = raw["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [{"id": "call_0", "type": "function", "function": {"name": "get_weather", "arguments": fake_upstream.TOOL_ARGUMENTS}}]
    assert raw["choices"][0]["finish_reason"] == "tool_calls"

    call = direct.chat.completions.create(model="m", messages=HELLO, tools=TOOLS, tool_choice=tool_choice).choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}


def test_no_tool_call_unless_required(direct):
    completion = direct.chat.completions.create(model="m", messages=HELLO, tools=TOOLS)
    assert completion.choices[0].message.tool_calls is None
    assert completion.choices[0].message.content == "echo: hello there"


def test_tool_call_stream(base, direct):
    body = {"model": "m", "messages": HELLO, "tools": TOOLS, "tool_choice": "required", "stream": True}
    chunks = chunks_of(post(base, "/v1/chat/completions", body))
    fragments = []
    for chunk in chunks:
        strict(ChatCompletionChunk, chunk)
        for call in chunk["choices"][0]["delta"].get("tool_calls") or []:
            fragments.append(call["function"]["arguments"])
    assert len([fragment for fragment in fragments if fragment]) > 2, "arguments are split across several deltas"
    assert "".join(fragments) == fake_upstream.TOOL_ARGUMENTS
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"

    # The SDK's stream helper reassembles the call.
    with direct.chat.completions.stream(model="m", messages=HELLO, tools=TOOLS, tool_choice="required") as stream:
        final = stream.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.id == "call_0" and call.function.name == "get_weather"
    assert call.function.arguments == fake_upstream.TOOL_ARGUMENTS


def test_embeddings_float_and_base64(base, direct):
    raw = post(base, "/v1/embeddings", {"model": "e", "input": ["a", "bb"], "encoding_format": "float"}).json()
    strict(CreateEmbeddingResponse, raw)
    assert [item["object"] for item in raw["data"]] == ["embedding", "embedding"]
    assert raw["data"][1] == {"object": "embedding", "index": 1, "embedding": [0.2, -0.5, 2.0]}

    encoded = post(base, "/v1/embeddings", {"model": "e", "input": "abc", "encoding_format": "base64"}).json()
    vector = struct.unpack("<3f", base64.b64decode(encoded["data"][0]["embedding"]))
    assert [round(value, 3) for value in vector] == [0.1, -0.5, 3.0]

    # The SDK asks for base64 by default and decodes it.
    decoded = direct.embeddings.create(model="e", input=["a", "abc"])
    assert [[round(value, 3) for value in item.embedding] for item in decoded.data] == [[0.1, -0.5, 1.0], [0.2, -0.5, 3.0]]
    assert decoded.usage.total_tokens == 4
    floats = direct.embeddings.create(model="e", input="abc", encoding_format="float")
    assert floats.data[0].embedding == [0.1, -0.5, 3.0]


def test_models(base, direct):
    listing = request("GET", base + "/v1/models", key=fake_upstream.API_KEY).json()
    assert listing["object"] == "list"
    for item in listing["data"]:
        strict(Model, item)
    assert [model.id for model in direct.models.list()] == ["fake-model"]
    assert strict(Model, request("GET", base + "/v1/models/fake-model", key=fake_upstream.API_KEY).json()).id == "fake-model"
    assert direct.models.retrieve("fake-model").owned_by == "fake"
    with pytest.raises(openai.NotFoundError):
        direct.models.retrieve("other")


def test_wrong_or_missing_key(base):
    wrong = OpenAI(base_url=base + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        wrong.chat.completions.create(model="m", messages=HELLO)
    assert raised.value.code == "invalid_api_key"
    for path, body in (("/v1/chat/completions", {"model": "m", "messages": HELLO}), ("/v1/embeddings", {"model": "e", "input": "x"})):
        reply = request("POST", base + path, body)
        assert reply.status == 401
        assert set(reply.json()["error"]) == {"message", "type", "param", "code"}
    assert request("GET", base + "/v1/models").status == 401


def test_records_requests(base, upstream, direct):
    direct.chat.completions.create(
        model="m", messages=HELLO, seed=7, stop=["END"], response_format={"type": "json_object"},
        extra_body={"x_custom_field": 1}, extra_headers={"x-trace": "t1"},
    )
    direct.models.list()
    recorded = upstream.requests()
    assert [(item["method"], item["path"]) for item in recorded] == [("POST", "/v1/chat/completions"), ("GET", "/v1/models")]
    sent = upstream.last()
    assert sent["authorization"] == "Bearer upstream-secret"
    assert sent["headers"]["x-trace"] == "t1"
    assert sent["body"] == {
        "model": "m", "messages": HELLO, "seed": 7, "stop": ["END"], "response_format": {"type": "json_object"}, "x_custom_field": 1,
    }
    upstream.reset()
    assert upstream.requests() == []


def test_chunked_request_body_and_bad_json(base, upstream):
    connection = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=10)
    body = json.dumps({"model": "m", "messages": HELLO}).encode()
    connection.request(
        "POST", "/v1/chat/completions", body=iter([body[:10], body[10:]]), encode_chunked=True,
        headers={"authorization": "Bearer upstream-secret", "content-type": "application/json"},
    )
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["choices"][0]["message"]["content"] == "echo: hello there"
    connection.close()

    reply = post(base, "/v1/chat/completions", b"{not json")
    assert reply.status == 400
    assert reply.json()["error"]["type"] == "invalid_request_error"
