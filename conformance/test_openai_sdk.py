"""The official openai SDK against the gateway, which fronts a fake OpenAI-compatible upstream."""

import json
import time

import openai
import pytest
from openai import OpenAI
from openai.types import CreateEmbeddingResponse, Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from conftest import MASTER_KEY
from wire import request, strict

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}]


def test_chat_non_stream(client, upstream):
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-test", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hello"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens == 14
    assert raw.headers["x-switchboard-provider"] == "fake"
    assert raw.headers["x-switchboard-model"] == "fake-model"
    assert raw.headers["x-request-id"]
    sent = upstream.last()
    assert sent["body"]["model"] == "fake-model"
    assert sent["authorization"] == "Bearer upstream-secret"


def test_chat_stream_without_usage(client, upstream):
    chunks = list(client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "one two three"}], stream=True
    ))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "echo: one two three"
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.choices for chunk in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    # The gateway asked the upstream for usage anyway.
    assert upstream.last()["body"]["stream_options"] == {"include_usage": True}


def test_chat_stream_with_usage(client):
    chunks = list(client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True},
    ))
    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == 14


def test_tool_calls(client, upstream):
    completion = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "weather in Paris?"}], tools=TOOLS, tool_choice="required"
    )
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
    assert completion.choices[0].finish_reason == "tool_calls"
    assert upstream.last()["body"]["tools"] == TOOLS

    follow_up = client.chat.completions.create(
        model="gpt-test",
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            completion.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "22C"},
            {"role": "user", "content": "thanks"},
        ],
    )
    assert follow_up.choices[0].message.content == "echo: thanks"
    messages = upstream.last()["body"]["messages"]
    assert messages[1]["tool_calls"][0]["function"]["arguments"] == call.function.arguments
    assert messages[2] == {"role": "tool", "tool_call_id": call.id, "content": "22C"}


def test_tool_calls_stream(client):
    stream = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "weather?"}], tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_weather"}}, stream=True,
    )
    arguments, names, finish = "", [], None
    for chunk in stream:
        for delta in chunk.choices[0].delta.tool_calls or []:
            if delta.function.name:
                names.append(delta.function.name)
            arguments += delta.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert names == ["get_weather"]
    assert json.loads(arguments) == {"city": "Paris", "unit": "celsius"}
    assert finish == "tool_calls"


def test_pass_through_of_parameters(client, upstream):
    client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "x"}], seed=42, stop=["END"], n=2,
        temperature=0.5, response_format={"type": "json_object"}, logprobs=True, top_logprobs=2,
        extra_body={"x_custom_field": {"keep": [1, 2]}},
    )
    body = upstream.last()["body"]
    assert body["seed"] == 42
    assert body["stop"] == ["END"]
    assert body["n"] == 2
    assert body["temperature"] == 0.5
    assert body["response_format"] == {"type": "json_object"}
    assert body["logprobs"] is True
    assert body["top_logprobs"] == 2
    assert body["x_custom_field"] == {"keep": [1, 2]}


def test_pass_through_of_a_scalar_extra_field_and_stream_flags(client, upstream):
    list(client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "x"}], stream=True, seed=7, stop="END",
        extra_body={"x_custom_field": 1},
    ))
    body = upstream.last()["body"]
    assert body["model"] == "fake-model"
    assert body["stream"] is True
    assert body["seed"] == 7
    assert body["stop"] == "END"
    assert body["x_custom_field"] == 1
    assert body["messages"] == [{"role": "user", "content": "x"}]


def test_n_choices(client):
    completion = client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "x"}], n=2)
    assert [choice.index for choice in completion.choices] == [0, 1]


def test_embeddings_float_and_base64(client, upstream):
    floats = client.embeddings.create(model="gpt-test", input=["a", "bb"], encoding_format="float")
    assert [item.index for item in floats.data] == [0, 1]
    assert floats.data[1].embedding == [0.2, -0.5, 2.0]
    # The SDK's default asks for base64 and decodes it.
    decoded = client.embeddings.create(model="gpt-test", input="abc")
    assert upstream.last()["body"]["encoding_format"] == "base64"
    assert [round(value, 3) for value in decoded.data[0].embedding] == [0.1, -0.5, 3.0]
    assert decoded.usage.prompt_tokens == 4


def test_models(client):
    ids = [model.id for model in client.models.list()]
    assert "gpt-test" in ids
    assert "fake/fake-model" in ids
    model = client.models.retrieve("gpt-test")
    assert model.id == "gpt-test"
    assert model.object == "model"


def test_retrieve_provider_model(client, gateway_url):
    # The SDK percent-encodes the slash of a provider/model id: GET /v1/models/fake%2Ffake-model.
    assert client.models.retrieve("fake/fake-model").id == "fake/fake-model"
    # A client that sends the slash as it is gets the same model.
    reply = request("GET", gateway_url + "/v1/models/fake/fake-model", key=MASTER_KEY)
    assert reply.status == 200
    assert strict(Model, reply.json()).id == "fake/fake-model"


@pytest.mark.parametrize("prefix", ["/api/v1", "/openai/v1"])
def test_aliases(gateway_url, prefix):
    aliased = OpenAI(base_url=gateway_url + prefix, api_key=MASTER_KEY, max_retries=0)
    completion = aliased.chat.completions.create(model="fake/fake-model", messages=[{"role": "user", "content": "hi"}])
    assert completion.choices[0].message.content == "echo: hi"
    streamed = aliased.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "a b"}], stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices) == "echo: a b"
    assert aliased.embeddings.create(model="gpt-test", input="abc", encoding_format="float").data[0].embedding == [0.1, -0.5, 3.0]
    assert "gpt-test" in [model.id for model in aliased.models.list()]
    assert aliased.models.retrieve("gpt-test").id == "gpt-test"
    with pytest.raises(openai.AuthenticationError):
        OpenAI(base_url=gateway_url + prefix, api_key="sk-wrong", max_retries=0).models.list()


def test_unknown_model(client):
    with pytest.raises(openai.NotFoundError) as raised:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert raised.value.status_code == 404
    assert raised.value.code == "MODEL_NOT_FOUND"
    assert "gpt-test" in raised.value.message


def test_unknown_model_error_body(gateway_url):
    for path, body in (
        ("/v1/chat/completions", {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}),
        ("/v1/chat/completions", {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}], "stream": True}),
        ("/v1/embeddings", {"model": "no-such-model", "input": "x"}),
    ):
        reply = request("POST", gateway_url + path, body, key=MASTER_KEY)
        assert reply.status == 404, path
        assert reply.headers["content-type"].startswith("application/json")
        error = reply.json()["error"]
        assert set(error) >= {"message", "type", "code", "param", "request_id"}
        assert error["code"] == "MODEL_NOT_FOUND"
        assert error["request_id"] == reply.headers["x-request-id"]
    reply = request("GET", gateway_url + "/v1/models/no-such-model", key=MASTER_KEY)
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "MODEL_NOT_FOUND"


def test_wrong_key(gateway_url):
    wrong = OpenAI(base_url=gateway_url + "/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        wrong.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "x"}])
    assert raised.value.code == "AUTHENTICATION_ERROR"
    with pytest.raises(openai.AuthenticationError):
        wrong.embeddings.create(model="gpt-test", input="x")
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()


@pytest.mark.parametrize("path, body", [
    ("/v1/chat/completions", {"model": "gpt-test", "messages": [{"role": "user", "content": "x"}]}),
    ("/v1/embeddings", {"model": "gpt-test", "input": "x"}),
    ("/v1/models", None),
])
def test_missing_key(gateway_url, upstream, path, body):
    upstream.reset()
    reply = request("GET" if body is None else "POST", gateway_url + path, body)
    assert reply.status == 401
    error = reply.json()["error"]
    assert error["code"] == "AUTHENTICATION_ERROR"
    assert set(error) >= {"message", "type", "code", "param", "request_id"}
    assert reply.headers["x-request-id"]
    if body is not None:
        assert upstream.requests() == [], "a request without a key never reaches the upstream"


def test_wire_format_non_stream(gateway_url):
    reply = request("POST", gateway_url + "/v1/chat/completions", {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}, key=MASTER_KEY)
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("application/json")
    completion = strict(ChatCompletion, reply.json())
    assert completion.choices[0].message.content == "echo: hi"
    assert reply.headers["x-switchboard-provider"] == "fake"
    assert reply.headers["x-switchboard-model"] == "fake-model"
    assert reply.headers["x-request-id"]

    embeddings = request("POST", gateway_url + "/v1/embeddings", {"model": "gpt-test", "input": ["a"], "encoding_format": "float"}, key=MASTER_KEY)
    assert embeddings.status == 200
    assert strict(CreateEmbeddingResponse, embeddings.json()).data[0].embedding == [0.1, -0.5, 1.0]
    assert embeddings.headers["x-switchboard-provider"] == "fake"
    assert embeddings.headers["x-switchboard-model"] == "fake-model"

    listing = request("GET", gateway_url + "/v1/models", key=MASTER_KEY).json()
    assert listing["object"] == "list"
    for item in listing["data"]:
        strict(Model, item)


@pytest.mark.parametrize("include_usage", [False, True])
def test_wire_format_stream(gateway_url, include_usage):
    body = {"model": "gpt-test", "messages": [{"role": "user", "content": "one two"}], "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    reply = request("POST", gateway_url + "/v1/chat/completions", body, key=MASTER_KEY)
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["x-request-id"]
    assert reply.headers["x-switchboard-provider"] == "fake"
    assert reply.headers["x-switchboard-model"] == "fake-model"
    data = reply.sse_data()
    assert data[-1] == "[DONE]"
    assert data.count("[DONE]") == 1
    chunks = [strict(ChatCompletionChunk, json.loads(item)) for item in data[:-1]]
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == "echo: one two"
    usage_chunks = [chunk for chunk in chunks if chunk.usage is not None]
    if include_usage:
        assert usage_chunks == [chunks[-1]]
        assert chunks[-1].choices == []
        assert chunks[-1].usage.total_tokens == 14
    else:
        assert usage_chunks == []
        assert all(chunk.choices for chunk in chunks)


def test_validation_error(client):
    with pytest.raises(openai.BadRequestError) as raised:
        client.chat.completions.create(model="gpt-test", messages=[])
    assert raised.value.code == "VALIDATION_ERROR"
    assert "messages" in raised.value.message


def test_stream_served_from_cache(client, upstream, gateway_url):
    """The official SDK reads a stream the gateway answers from its cache: same text, no upstream call."""
    messages = [{"role": "user", "content": "cache this stream"}]
    first = client.chat.completions.with_raw_response.create(model="cached", messages=messages, stream=True)
    assert first.headers["x-switchboard-cache"] == "miss"
    original = "".join(chunk.choices[0].delta.content or "" for chunk in first.parse() if chunk.choices)
    assert original == "echo: cache this stream"
    # The stream is stored once its settlement ran, just after its last byte.
    for _ in range(100):
        stats = request("GET", gateway_url + "/admin/cache/stats", key=MASTER_KEY)
        if stats.status == 200 and stats.json().get("entries", 0) >= 1:
            break
        time.sleep(0.02)
    calls = len(upstream.requests())
    second = client.chat.completions.with_raw_response.create(
        model="cached", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    assert second.headers["x-switchboard-cache"] == "hit"
    chunks = list(second.parse())
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == original
    assert chunks[-1].usage.total_tokens == 14
    assert len(upstream.requests()) == calls
