"""The fake upstream itself speaks the wire format the official SDK parses (checked without the gateway)."""

import json

from openai import OpenAI

import fake_upstream


def test_sdk_parses_the_fake_directly(upstream):
    direct = OpenAI(base_url=f"http://127.0.0.1:{upstream.port}/v1", api_key=fake_upstream.API_KEY, max_retries=0)
    completion = direct.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert completion.choices[0].message.content == "echo: x"
    chunks = list(direct.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}], stream=True, stream_options={"include_usage": True}
    ))
    assert chunks[-1].usage.total_tokens == 14
    call = direct.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x"}], tool_choice="required",
        tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    ).choices[0].message.tool_calls[0]
    assert json.loads(call.function.arguments)["city"] == "Paris"
    assert direct.embeddings.create(model="m", input="abc").data[0].embedding[2] == 3.0
    assert [model.id for model in direct.models.list()] == ["fake-model"]
