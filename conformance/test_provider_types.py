"""The official openai SDK through the gateway to every provider type, and the anthropic SDK in
front of a Gemini-type upstream."""

import json

import anthropic
import pytest

from conftest import MASTER_KEY

MODELS = ["fake/fake-model", "az/my-deployment", "claude/claude-test", "gem/gemini-test", "aws/anthropic.claude-3-haiku-20240307-v1:0"]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]


@pytest.mark.parametrize("model", MODELS)
def test_chat(client, model):
    raw = client.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": "hello"}])
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hello"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens == 5
    assert raw.headers["x-switchboard-provider"] == model.split("/")[0]


def test_bedrock_path_keeps_the_model_id_encoded(client, upstream):
    client.chat.completions.create(model="aws/arn:aws:bedrock:us-east-1:123:inference-profile/us.x", messages=[{"role": "user", "content": "x"}])
    assert upstream.last()["path"] == "/bedrock/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123%3Ainference-profile%2Fus.x/converse"


@pytest.mark.parametrize("model", MODELS)
def test_stream(client, model):
    chunks = list(client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "one two"}], stream=True, stream_options={"include_usage": True}
    ))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "echo: one two"
    assert chunks[-1].usage.completion_tokens == 5


@pytest.mark.parametrize("model", MODELS)
def test_tool_call(client, model):
    completion = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "weather?"}], tools=TOOLS, tool_choice="required"
    )
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
    assert completion.choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("model", ["fake/fake-model", "az/my-deployment", "gem/text-embedding-004"])
def test_embeddings(client, model):
    result = client.embeddings.create(model=model, input=["a", "b"], encoding_format="float")
    assert [item.index for item in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 3


def test_anthropic_sdk_in_front_of_gemini(gateway_url, upstream):
    claude = anthropic.Anthropic(base_url=gateway_url, api_key=MASTER_KEY, max_retries=0)
    message = claude.messages.create(model="gem/gemini-test", max_tokens=32, messages=[{"role": "user", "content": "hi"}])
    assert message.content[0].text == "echo: hi"
    with claude.messages.stream(model="gem/gemini-test", max_tokens=32, messages=[{"role": "user", "content": "a b"}]) as stream:
        assert "".join(stream.text_stream) == "echo: a b"
    tool = claude.messages.create(
        model="gem/gemini-test", max_tokens=32, messages=[{"role": "user", "content": "weather?"}],
        tools=[{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        tool_choice={"type": "any"},
    )
    assert tool.stop_reason == "tool_use"
    assert tool.content[0].input == {"city": "Paris", "unit": "celsius"}
