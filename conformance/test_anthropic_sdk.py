"""The official anthropic SDK against the gateway's /v1/messages, backed by an OpenAI-type upstream."""

import json

import anthropic
import pytest

from conftest import MASTER_KEY

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def claude(gateway_url, upstream):
    upstream.reset()
    return anthropic.Anthropic(base_url=gateway_url, api_key=MASTER_KEY, max_retries=0, timeout=30)


def test_plain_message(claude, upstream):
    message = claude.messages.create(
        model="gpt-test", max_tokens=128, system="Be brief.", messages=[{"role": "user", "content": "hello"}]
    )
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.content[0].type == "text"
    assert message.content[0].text == "echo: hello"
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 5
    sent = upstream.last()["body"]
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["max_tokens"] == 128


def test_stream_helper(claude):
    with claude.messages.stream(
        model="gpt-test", max_tokens=64, messages=[{"role": "user", "content": "one two three"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "echo: one two three"
    assert final.content[0].text == "echo: one two three"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 5


def test_tool_use(claude, upstream):
    message = claude.messages.create(
        model="gpt-test", max_tokens=64, messages=[{"role": "user", "content": "weather in Paris?"}],
        tools=[WEATHER_TOOL], tool_choice={"type": "any"},
    )
    assert message.stop_reason == "tool_use"
    block = next(block for block in message.content if block.type == "tool_use")
    assert block.name == "get_weather"
    assert block.input == {"city": "Paris", "unit": "celsius"}

    follow_up = claude.messages.create(
        model="gpt-test", max_tokens=64, tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": [block.model_dump()]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "22C"}]},
        ],
    )
    assert follow_up.stop_reason == "end_turn"
    messages = upstream.last()["body"]["messages"]
    assert messages[1]["tool_calls"][0]["id"] == block.id
    assert messages[2] == {"role": "tool", "tool_call_id": block.id, "content": "22C"}


def test_streamed_tool_use(claude):
    with claude.messages.stream(
        model="gpt-test", max_tokens=64, messages=[{"role": "user", "content": "weather?"}],
        tools=[WEATHER_TOOL], tool_choice={"type": "tool", "name": "get_weather"},
    ) as stream:
        final = stream.get_final_message()
    block = next(block for block in final.content if block.type == "tool_use")
    assert block.input == {"city": "Paris", "unit": "celsius"}
    assert final.stop_reason == "tool_use"


def test_errors_in_anthropic_shape(gateway_url):
    wrong = anthropic.Anthropic(base_url=gateway_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        wrong.messages.create(model="gpt-test", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    right = anthropic.Anthropic(base_url=gateway_url, api_key=MASTER_KEY, max_retries=0)
    with pytest.raises(anthropic.NotFoundError) as raised:
        right.messages.create(model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert raised.value.body["error"]["type"] == "not_found_error"


def test_count_tokens(claude):
    count = claude.messages.count_tokens(model="gpt-test", messages=[{"role": "user", "content": "hello there"}])
    assert count.input_tokens > 0
