"""The Responses API driven by the official openai SDK and by openai-agents.

`responses.create` plain and parsed strictly as the SDK's `Response`; streamed with
`responses.stream` (the SDK checks the event order and builds the final response from the
events); function calling over two turns with `previous_response_id` through an Anthropic-type and
a Gemini-type upstream; a `store: false` replay of a whole input; the Conversations API with
items, continued by a response; and an Agents SDK agent with one
function tool, on its default Responses model, against Anthropic- and Gemini-type upstreams.
"""

import json
import time

import pytest
from openai.types.responses import Response

from wire import strict

TOOLS = [{
    "type": "function", "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": False},
    "strict": True,
}]


def test_create_read_back_and_continue(client, upstream):
    raw = client.responses.with_raw_response.create(model="gpt-test", input="hello there", instructions="Be brief.", metadata={"k": "v"})
    response = strict(Response, json.loads(raw.text))
    assert response.output_text == "echo: hello there"
    assert response.status == "completed"
    assert response.instructions == "Be brief."
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    sent = upstream.last()["body"]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [("system", "Be brief."), ("user", "hello there")]

    read = client.responses.retrieve(response.id)
    assert read.id == response.id
    assert read.output_text == response.output_text
    items = client.responses.input_items.list(response.id)
    assert [item.type for item in items.data] == ["message"]

    follow = client.responses.create(model="gpt-test", input="and again", previous_response_id=response.id)
    assert follow.previous_response_id == response.id
    sent = upstream.last()["body"]["messages"]
    assert [m["content"] for m in sent] == ["hello there", "echo: hello there", "and again"]

    deleted = client.responses.delete(response.id)
    assert deleted is None or getattr(deleted, "deleted", True)
    with pytest.raises(Exception) as caught:
        client.responses.retrieve(response.id)
    assert getattr(caught.value, "status_code", None) == 404


def test_streamed_with_responses_stream(client):
    with client.responses.stream(model="gpt-test", input="one two three") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert final.output_text == "echo: one two three"
    # Stored before the stream ended.
    assert client.responses.retrieve(final.id).output_text == final.output_text


@pytest.mark.parametrize("model", ["claude/claude-test", "gem/gemini-test"])
def test_function_calling_over_two_turns(client, model):
    first = client.responses.create(model=model, input="weather in Paris?", tools=TOOLS, tool_choice="required")
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1
    assert calls[0].name == "get_weather"
    assert json.loads(calls[0].arguments)["city"]
    second = client.responses.create(
        model=model, previous_response_id=first.id, tools=TOOLS,
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"}],
    )
    assert second.status == "completed"
    assert [item.type for item in second.output] == ["message"]


def test_store_false_replay(client, upstream):
    first = client.responses.create(model="gpt-test", input="weather?", tools=TOOLS, tool_choice="required", store=False)
    call = next(item for item in first.output if item.type == "function_call")
    replay = [{"role": "user", "content": "weather?"}] + [item.model_dump(exclude_none=True) for item in first.output] + [
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
    ]
    second = client.responses.create(model="gpt-test", input=replay, tools=TOOLS, store=False)
    assert second.status == "completed"
    sent = upstream.last()["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[2]["tool_call_id"] == call.call_id
    with pytest.raises(Exception) as caught:
        client.responses.retrieve(second.id)
    assert getattr(caught.value, "status_code", None) == 404


def test_background_polled_and_cancelled(client):
    queued = client.responses.create(model="gpt-test", input="later", background=True)
    assert queued.status == "queued" and queued.background is True
    for _ in range(200):
        polled = client.responses.retrieve(queued.id)
        if polled.status == "completed":
            break
        assert polled.status in ("queued", "in_progress")
        time.sleep(0.025)
    assert polled.status == "completed"
    assert polled.output_text == "echo: later"
    assert client.responses.cancel(queued.id).status == "completed"
    follow = client.responses.create(model="gpt-test", input="next", previous_response_id=queued.id)
    assert follow.status == "completed"


def test_native_upstream(client, upstream):
    # Not stored: the upstream's own response, parsed strictly by the SDK, and its stream.
    raw = client.responses.with_raw_response.create(model="native", input="hello", store=False)
    # OpenAI's responses carry `store`, which the SDK's model does not list.
    response = strict(Response, json.loads(raw.text), allow_extra=("store",))
    assert response.output_text == "native: hello"
    assert upstream.last()["path"] == "/v1/responses"
    with client.responses.stream(model="native", input="one two", store=False) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert final.output_text == "native: one two"
    # Stored here: function calling over two turns, the chain replayed to an upstream that keeps nothing.
    first = client.responses.create(model="native", input="weather in Oslo?", tools=TOOLS, tool_choice="required")
    call = next(item for item in first.output if item.type == "function_call")
    assert call.call_id == "call_native"
    second = client.responses.create(
        model="native", previous_response_id=first.id, tools=TOOLS,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "cold"}],
    )
    assert second.output_text.startswith("native: ")
    sent = upstream.last()["body"]
    assert sent["store"] is False and "previous_response_id" not in sent
    assert [item.get("type", "message") for item in sent["input"]] == ["message", "function_call", "function_call_output"]
    assert client.responses.retrieve(second.id).output_text == second.output_text


def test_conversations_with_items(client, upstream):
    made = client.conversations.create(
        metadata={"topic": "trains"},
        items=[{"type": "message", "role": "user", "content": "I like trains."},
               {"type": "message", "role": "assistant", "content": "Noted."}],
    )
    assert made.object == "conversation"
    assert made.metadata == {"topic": "trains"}
    assert isinstance(made.created_at, int)
    items = client.conversations.items.list(made.id, order="asc")
    assert [(item.type, item.role) for item in items.data] == [("message", "user"), ("message", "assistant")]
    assert items.data[0].content[0].type == "input_text"

    answered = client.responses.create(model="gpt-test", input="and planes?", conversation=made.id)
    assert answered.output_text == "echo: and planes?"
    sent = upstream.last()["body"]["messages"]
    assert [m["content"] for m in sent] == ["I like trains.", "Noted.", "and planes?"]

    added = client.conversations.items.create(made.id, items=[{"type": "message", "role": "user", "content": "ships?"}])
    assert [item.type for item in added.data] == ["message"]
    item = client.conversations.items.retrieve(added.data[0].id, conversation_id=made.id)
    assert item.content[0].text == "ships?"
    newest = client.conversations.items.list(made.id, limit=2)
    assert newest.has_more is True
    assert newest.data[0].id == added.data[0].id

    after = client.conversations.items.delete(items.data[0].id, conversation_id=made.id)
    assert after.id == made.id
    remaining = client.conversations.items.list(made.id, order="asc")
    assert remaining.data[0].role == "assistant"

    updated = client.conversations.update(made.id, metadata={"topic": "ships"})
    assert updated.metadata == {"topic": "ships"}
    assert client.conversations.retrieve(made.id).metadata == {"topic": "ships"}
    deleted = client.conversations.delete(made.id)
    assert deleted.deleted is True and deleted.object == "conversation.deleted"
    with pytest.raises(Exception) as caught:
        client.conversations.retrieve(made.id)
    assert getattr(caught.value, "status_code", None) == 404


@pytest.mark.parametrize("model", ["claude/claude-test", "gem/gemini-test"])
def test_an_agent_with_one_function_tool(gateway_url, model):
    import agents
    from openai import AsyncOpenAI

    from conftest import MASTER_KEY

    asked = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        asked.append(city)
        return f"sunny in {city}"

    agents.set_tracing_disabled(True)
    client = AsyncOpenAI(base_url=gateway_url + "/v1", api_key=MASTER_KEY, max_retries=0)
    agent = agents.Agent(
        name="weather", instructions="Answer with the weather.", tools=[get_weather],
        model=agents.OpenAIResponsesModel(model=model, openai_client=client),
        model_settings=agents.ModelSettings(tool_choice="required"),
    )
    result = agents.Runner.run_sync(agent, "What is the weather in Paris?", max_turns=4)
    assert asked, "the agent called its tool"
    assert isinstance(result.final_output, str)
