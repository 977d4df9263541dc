"""A branching conversation driven with the official openai SDK, and seed 003's /chat with a tool call.

The SDK sends the gateway's extensions (`conversation_id`, `message`) through `extra_body` and
reads the extra answer fields from the parsed object; the tree endpoints are called with the
SDK's own low-level `get`/`post`/`patch`, so its HTTP stack, auth and error handling are in play.
"""

import json

import openai
import pytest
from openai.types.chat import ChatCompletion

from conftest import MASTER_KEY
from wire import request, strict


def extra(model, name):
    return (model.model_extra or {}).get(name)


def path_texts(client, conversation, branch=None):
    query = f"?branch={branch}" if branch else ""
    page = client.get(f"/conversations/{conversation}/messages{query}", cast_to=object)
    return [(item["role"], item["content"]) for item in page["data"]]


def test_a_branching_session_with_the_openai_sdk(client, upstream):
    made = client.post("/conversations", body={"title": "sdk session", "model": "gpt-test"}, cast_to=object)
    conversation = made["id"]
    main = made["active_branch_id"]

    first = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "first question"}], extra_body={"conversation_id": conversation}
    )
    assert first.choices[0].message.content == "echo: first question"
    assert extra(first, "conversation_id") == conversation
    first_answer = extra(first, "message_id")
    first_user = extra(first, "parent_message_id")
    # Still a valid ChatCompletion with the three extension fields.
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-test", messages=[], extra_body={"conversation_id": conversation, "message": "second question"}
    )
    strict(ChatCompletion, json.loads(raw.text), allow_extra=("conversation_id", "message_id", "parent_message_id"))
    assert raw.headers["x-switchboard-conversation-id"] == conversation
    sent = upstream.last()["body"]["messages"]
    assert [m["content"] for m in sent] == ["first question", "echo: first question", "second question"]

    # Streamed, seed 001 style: only `message`.
    stream = client.chat.completions.create(
        model="gpt-test", messages=[], stream=True, extra_body={"conversation_id": conversation, "message": "third, streamed"}
    )
    chunks = list(stream)
    assert extra(chunks[0], "conversation_id") == conversation
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: third, streamed"
    assert len(path_texts(client, conversation)) == 6

    # Edit the first question and have it answered: a new, active branch.
    edited = client.patch(
        f"/conversations/{conversation}/messages/{first_user}", body={"content": "first, edited", "regenerate": True}, cast_to=object
    )
    assert edited["choices"][0]["message"]["content"] == "echo: first, edited"
    assert path_texts(client, conversation) == [("user", "first, edited"), ("assistant", "echo: first, edited")]

    # Regenerate the original first answer: another branch, the same prompt sent again.
    again = client.post(f"/conversations/{conversation}/messages/{first_answer}/regenerate", body={}, cast_to=object)
    assert again["choices"][0]["message"]["content"] == "echo: first question"
    assert upstream.last()["body"]["messages"][-1]["content"] == "first question"

    branches = client.get(f"/conversations/{conversation}/branches", cast_to=object)["data"]
    assert len(branches) == 3
    edit_branch = next(b["id"] for b in branches if b["id"] not in (main,) and b["head_id"] and b["fork_id"] is None)

    # Switch back to main, merge the edit branch into it.
    activated = client.post(f"/conversations/{conversation}/branches/{main}/activate", body={}, cast_to=object)
    assert activated["active_branch_id"] == main
    merged = client.post(
        f"/conversations/{conversation}/branches/{edit_branch}/merge", body={"into": main, "strategy": "append"}, cast_to=object
    )
    assert merged["merged_messages"] == 2
    assert path_texts(client, conversation)[-2:] == [("user", "first, edited"), ("assistant", "echo: first, edited")]

    # Export the active branch as fine-tuning JSONL.
    exported = request("GET", f"{client.base_url}conversations/{conversation}/export?format=jsonl", key=MASTER_KEY)
    assert exported.status == 200
    line = json.loads(exported.body.decode())
    assert [m["role"] for m in line["messages"]] == ["user", "assistant"] * 4

    # A streamed regenerate, read with the SDK's own stream: the chunks, then the answer stored
    # on a new, active branch.
    streamed = client.post(
        f"/conversations/{conversation}/messages/{first_answer}/regenerate",
        body={"stream": True},
        cast_to=openai.types.chat.ChatCompletionChunk,
        stream=True,
        stream_cls=openai.Stream[openai.types.chat.ChatCompletionChunk],
    )
    chunks = list(streamed)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: first question"
    assert chunks[0].model_extra["conversation_id"] == conversation
    assert path_texts(client, conversation) == [("user", "first question"), ("assistant", "echo: first question")]
    assert len(client.get(f"/conversations/{conversation}/branches", cast_to=object)["data"]) == 4

    # An unknown conversation is the SDK's NotFoundError.
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-test", messages=[], extra_body={"conversation_id": "nope", "message": "hi"})


def test_seed_three_chat_with_a_tool_call_and_its_result(gateway_url, upstream):
    tools = [{"type": "function", "function": {"name": "lookup_word", "parameters": {"type": "object"}}}]
    first = request("POST", f"{gateway_url}/chat", {
        "conversation_id": "conformance-123", "message": "What does salam mean?", "tools": tools,
        "tool_choice": "required", "model": "gpt-test",
    }, key=MASTER_KEY)
    assert first.status == 200, first.body
    answer = first.json()
    assert set(answer) >= {"message_id", "content", "tool_calls", "thoughts", "sources"}
    call = answer["tool_calls"][0]
    assert call["function"]["name"] == "lookup_word"
    history = [
        {"role": "user", "content": "What does salam mean?"},
        {"role": "assistant", "content": None, "tool_calls": answer["tool_calls"]},
        {"role": "tool", "tool_call_id": call["id"], "content": "peace"},
    ]
    second = request("POST", f"{gateway_url}/chat", {
        "conversation_id": "conformance-123", "message": "Thanks!", "messages": history, "model": "gpt-test",
    }, key=MASTER_KEY)
    assert second.status == 200, second.body
    assert second.json()["content"] == "echo: Thanks!"
    # The upstream got the client's history, then the new message.
    assert [m["role"] for m in upstream.last()["body"]["messages"]] == ["user", "assistant", "tool", "user"]

    detail = request("GET", f"{gateway_url}/conversations/conformance-123", key=MASTER_KEY).json()
    assert [t["tool_name"] for t in detail["tool_calls"]] == ["lookup_word"]
    assert detail["tool_calls"][0]["result"] == "peace"
    listing = request("GET", f"{gateway_url}/conversations?limit=50", key=MASTER_KEY).json()
    assert "conformance-123" in [c["id"] for c in listing["data"]]
