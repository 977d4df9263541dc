"""A fake OpenAI API on loopback, speaking the real wire format, for the conformance suite.

Stdlib only. Under /v1 it serves POST /chat/completions, POST /embeddings, GET /models and
GET /models/{id}; it checks `Authorization: Bearer upstream-secret` (401 in OpenAI's error shape
otherwise) and records every request it gets (method, path, headers, JSON body), readable as
GET /_requests and cleared by POST /_reset. Chat echoes the last user message ("echo: <text>"),
answers with a tool call when tools are given and tool_choice is "required" or names a function,
honours `n`, streams SSE chunks (tool-call arguments split across many deltas) and sends the
usage-only chunk only when the request asked for it with stream_options.include_usage.
Embeddings come as float lists or, with encoding_format "base64" (the openai SDK's default),
as base64 little-endian float32. Every shape is checked against the official SDK's types in
test_fake_upstream.py. Other provider types live under /openai/deployments (Azure),
/anthropic, /gemini and /bedrock.

Run alone: python fake_upstream.py --port 9999
"""

import base64
import json
import struct
import sys
import threading
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_KEY = "upstream-secret"
TOOL_ARGUMENTS = '{"city": "Paris", "unit": "celsius"}'
MODEL = {"id": "fake-model", "object": "model", "created": 1700000000, "owned_by": "fake"}


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []

    def add(self, method, path, headers, body):
        with self.lock:
            self.requests.append({
                "method": method, "path": path, "authorization": headers.get("authorization"),
                "headers": headers, "body": body,
            })

    def all(self):
        with self.lock:
            return list(self.requests)

    def reset(self):
        with self.lock:
            self.requests.clear()


def last_user_text(body):
    for message in reversed(body.get("messages", [])):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def tool_to_call(body):
    tools = body.get("tools") or []
    if not tools:
        return None
    choice = body.get("tool_choice")
    if choice == "required":
        return tools[0]["function"]["name"]
    if isinstance(choice, dict):
        return choice.get("function", {}).get("name")
    return None


def usage():
    return {
        "prompt_tokens": 9,
        "completion_tokens": 5,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    recorder = None

    def log_message(self, *args):
        pass

    def send_json(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_raw_body(self):
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            raw = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return raw
                raw += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def send_error_json(self, status, message, code=None):
        self.send_json(status, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}})

    def authorized(self):
        if self.headers.get("authorization") != f"Bearer {API_KEY}":
            self.send_json(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}})
            return False
        return True

    def do_GET(self):
        if self.path == "/_requests":
            return self.send_json(200, self.recorder.all())
        self.recorder.add("GET", self.path, {k.lower(): v for k, v in self.headers.items()}, None)
        if self.path == "/v1/models":
            if not self.authorized():
                return
            return self.send_json(200, {"object": "list", "data": [MODEL]})
        if self.path.startswith("/v1/models/"):
            if not self.authorized():
                return
            if urllib.parse.unquote(self.path[len("/v1/models/"):]) == MODEL["id"]:
                return self.send_json(200, MODEL)
            return self.send_error_json(404, "The model does not exist or you do not have access to it.", "model_not_found")
        self.send_error_json(404, "not found")

    def do_POST(self):
        if self.path == "/_reset":
            self.read_raw_body()
            self.recorder.reset()
            return self.send_json(200, {"ok": True})
        raw = self.read_raw_body()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self.recorder.add("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, raw.decode(errors="replace"))
            return self.send_error_json(400, "We could not parse the JSON body of your request.")
        self.recorder.add("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        if not isinstance(body, dict):
            return self.send_error_json(400, "The request body must be a JSON object.")
        if self.path.startswith("/openai/deployments/"):
            return self.azure(body)
        if self.path.startswith("/anthropic/"):
            return self.anthropic(body)
        if self.path.startswith("/gemini/"):
            return self.gemini(body)
        if self.path.startswith("/bedrock/"):
            return self.bedrock(body)
        if not self.authorized():
            return
        if self.path == "/v1/chat/completions":
            return self.stream(body) if body.get("stream") else self.completion(body)
        if self.path == "/v1/embeddings":
            return self.embeddings(body)
        if self.path == "/v1/responses":
            return self.responses_stream(body) if body.get("stream") else self.send_json(200, self.response_object(body, "completed"))
        self.send_error_json(404, "not found")

    # OpenAI's Responses API: "native: <last user text>", or a function_call when function tools
    # are given with tool_choice "required".

    @staticmethod
    def response_output(body):
        text = ""
        items = body.get("input")
        if isinstance(items, str):
            text = items
        else:
            for item in reversed(items or []):
                if item.get("role") == "user":
                    content = item.get("content")
                    text = content if isinstance(content, str) else "".join(part.get("text", "") for part in content or [])
                    break
        tools = [tool for tool in body.get("tools") or [] if tool.get("type") == "function"]
        if tools and body.get("tool_choice") == "required":
            return [{"type": "function_call", "id": "fc_native", "call_id": "call_native", "name": tools[0]["name"],
                     "arguments": TOOL_ARGUMENTS, "status": "completed"}]
        return [{"type": "message", "id": "msg_native", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "text": "native: " + text, "annotations": []}]}]

    def response_object(self, body, status):
        done = status != "in_progress"
        return {
            "id": "resp_native", "object": "response", "created_at": 1700000000, "status": status, "background": False,
            "error": None, "incomplete_details": None, "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"), "model": body.get("model"),
            "output": self.response_output(body) if done else [], "parallel_tool_calls": True,
            "previous_response_id": body.get("previous_response_id"), "reasoning": {"effort": None, "summary": None},
            "store": body.get("store", True), "temperature": 1.0, "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools") or [], "top_p": 1.0, "truncation": "disabled",
            "usage": {"input_tokens": 9, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}, "output_tokens": 5,
                      "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 14} if done else None,
            "user": None, "metadata": body.get("metadata") or {},
        }

    def responses_stream(self, body):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        sequence = [0]

        def send(kind, payload):
            payload = dict(payload, type=kind, sequence_number=sequence[0])
            sequence[0] += 1
            data = f"event: {kind}\ndata: {json.dumps(payload)}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        send("response.created", {"response": self.response_object(body, "in_progress")})
        send("response.in_progress", {"response": self.response_object(body, "in_progress")})
        for index, item in enumerate(self.response_output(body)):
            if item["type"] == "message":
                text = item["content"][0]["text"]
                send("response.output_item.added", {"output_index": index, "item": dict(item, status="in_progress", content=[])})
                send("response.content_part.added", {"item_id": item["id"], "output_index": index, "content_index": 0,
                                                      "part": {"type": "output_text", "text": "", "annotations": []}})
                for word in text.split(" "):
                    send("response.output_text.delta", {"item_id": item["id"], "output_index": index, "content_index": 0,
                                                        "delta": word if word == text.split(" ")[0] else " " + word, "logprobs": []})
                send("response.output_text.done", {"item_id": item["id"], "output_index": index, "content_index": 0, "text": text, "logprobs": []})
                send("response.content_part.done", {"item_id": item["id"], "output_index": index, "content_index": 0,
                                                     "part": {"type": "output_text", "text": text, "annotations": []}})
            else:
                send("response.output_item.added", {"output_index": index, "item": dict(item, status="in_progress", arguments="")})
                send("response.function_call_arguments.delta", {"item_id": item["id"], "output_index": index, "delta": item["arguments"]})
                send("response.function_call_arguments.done", {"item_id": item["id"], "output_index": index, "arguments": item["arguments"]})
            send("response.output_item.done", {"output_index": index, "item": item})
        send("response.completed", {"response": self.response_object(body, "completed")})
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def completion(self, body):
        tool = tool_to_call(body)
        choices = []
        for index in range(body.get("n") or 1):
            if tool:
                message = {
                    "role": "assistant", "content": None, "refusal": None, "annotations": [],
                    "tool_calls": [{"id": f"call_{index}", "type": "function", "function": {"name": tool, "arguments": TOOL_ARGUMENTS}}],
                }
                finish = "tool_calls"
            else:
                message = {"role": "assistant", "content": "echo: " + last_user_text(body), "refusal": None, "annotations": []}
                finish = "stop"
            choices.append({"index": index, "message": message, "logprobs": None, "finish_reason": finish})
        self.send_json(200, {
            "id": "chatcmpl-conformance",
            "object": "chat.completion",
            "created": 1700000000,
            "model": body.get("model"),
            "choices": choices,
            "usage": usage(),
            "service_tier": "default",
            "system_fingerprint": "fp_conformance",
        })

    def stream(self, body):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        model = body.get("model")

        def send(payload):
            data = b"data: " + (payload if isinstance(payload, bytes) else json.dumps(payload).encode()) + b"\n\n"
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def chunk(delta, finish=None, index=0):
            payload = {
                "id": "chatcmpl-conformance", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                "system_fingerprint": "fp_conformance",
                "choices": [{"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                payload["usage"] = None
            return payload

        # With n > 1 the choices' chunks interleave, as OpenAI's do: one chunk per choice per step.
        choices = range(body.get("n") or 1)
        tool = tool_to_call(body)
        for index in choices:
            send(chunk({"role": "assistant", "content": "", "refusal": None}, index=index))
        if tool:
            for index in choices:
                send(chunk({"tool_calls": [{"index": 0, "id": f"call_{index}", "type": "function",
                                            "function": {"name": tool, "arguments": ""}}]}, index=index))
            for start in range(0, len(TOOL_ARGUMENTS), 4):
                for index in choices:
                    send(chunk({"tool_calls": [{"index": 0, "function": {"arguments": TOOL_ARGUMENTS[start:start + 4]}}]}, index=index))
            for index in choices:
                send(chunk({}, "tool_calls", index=index))
        else:
            words = ("echo: " + last_user_text(body)).split(" ")
            for position, word in enumerate(words):
                for index in choices:
                    send(chunk({"content": word if position == 0 else " " + word}, index=index))
            for index in choices:
                send(chunk({}, "stop", index=index))
        if include_usage:
            send({"id": "chatcmpl-conformance", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
                  "system_fingerprint": "fp_conformance", "choices": [], "usage": usage()})
        send(b"[DONE]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def embeddings(self, body):
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        data = []
        for index, text in enumerate(inputs):
            vector = [round(0.1 * (index + 1), 3), -0.5, float(len(str(text)))]
            if body.get("encoding_format") == "base64":
                embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            else:
                embedding = vector
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        self.send_json(200, {"object": "list", "data": data, "model": body.get("model"), "usage": {"prompt_tokens": 4, "total_tokens": 4}})


    # Azure OpenAI: deployment in the path, api-version in the query, key in `api-key`.
    def azure(self, body):
        path, _, query = self.path.partition("?")
        if self.headers.get("api-key") != API_KEY or "api-version=" not in query:
            return self.send_json(401, {"error": {"code": "401", "message": "Access denied"}})
        deployment = path.split("/")[3]
        body = dict(body, model=deployment)
        if path.endswith("/embeddings"):
            return self.embeddings(body)
        return self.stream(body) if body.get("stream") else self.completion(body)

    # Anthropic Messages API under /anthropic.
    def anthropic(self, body):
        if self.headers.get("x-api-key") != API_KEY or self.headers.get("anthropic-version") != "2023-06-01":
            return self.send_json(401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})
        text = "echo: " + anthropic_last_user_text(body)
        tool = None
        choice = body.get("tool_choice") or {}
        if body.get("tools") and choice.get("type") in ("any", "tool"):
            tool = choice.get("name") or body["tools"][0]["name"]
        blocks = [{"type": "tool_use", "id": "toolu_01", "name": tool, "input": json.loads(TOOL_ARGUMENTS)}] if tool else [{"type": "text", "text": text}]
        stop = "tool_use" if tool else "end_turn"
        usage = {"input_tokens": 9, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if not body.get("stream"):
            return self.send_json(200, {"id": "msg_conformance", "type": "message", "role": "assistant", "model": body.get("model"),
                                        "content": blocks, "stop_reason": stop, "stop_sequence": None, "usage": usage})
        self.start_sse()
        self.sse({"type": "message_start", "message": {"id": "msg_conformance", "type": "message", "role": "assistant", "model": body.get("model"),
                  "content": [], "stop_reason": None, "stop_sequence": None, "usage": dict(usage, output_tokens=1)}}, "message_start")
        self.sse({"type": "ping"}, "ping")
        if tool:
            self.sse({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_01", "name": tool, "input": {}}}, "content_block_start")
            for start in range(0, len(TOOL_ARGUMENTS), 5):
                self.sse({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": TOOL_ARGUMENTS[start:start + 5]}}, "content_block_delta")
        else:
            self.sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}, "content_block_start")
            for index, word in enumerate(text.split(" ")):
                self.sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word if index == 0 else " " + word}}, "content_block_delta")
        self.sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.sse({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 5}}, "message_delta")
        self.sse({"type": "message_stop"}, "message_stop")
        self.end_sse()

    # Gemini (AI Studio API) under /gemini.
    def gemini(self, body):
        if self.headers.get("x-goog-api-key") != API_KEY:
            return self.send_json(403, {"error": {"code": 403, "message": "bad key", "status": "PERMISSION_DENIED"}})
        path, _, _ = self.path.partition("?")
        model, _, method = path.rsplit("/", 1)[1].partition(":")
        if method == "batchEmbedContents":
            return self.send_json(200, {"embeddings": [{"values": [0.5, -0.5, float(i)]} for i, _ in enumerate(body.get("requests", []))]})
        last = ""
        for content in reversed(body.get("contents", [])):
            if content.get("role") == "user":
                last = "".join(part.get("text", "") for part in content.get("parts", []))
                if last:
                    break
        mode = ((body.get("toolConfig") or {}).get("functionCallingConfig") or {}).get("mode")
        declarations = (body.get("tools") or [{}])[0].get("functionDeclarations") or []
        usage = {"promptTokenCount": 9, "candidatesTokenCount": 5, "totalTokenCount": 14}
        if mode == "ANY" and declarations:
            parts = [{"functionCall": {"name": declarations[0]["name"], "args": json.loads(TOOL_ARGUMENTS)}}]
        else:
            parts = [{"text": "echo: " + last}]
        answer = {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
                  "usageMetadata": usage, "modelVersion": model, "responseId": "gemini-conformance"}
        if method == "generateContent":
            return self.send_json(200, answer)
        self.start_sse()
        if "functionCall" in parts[0]:
            self.sse(answer)
        else:
            words = parts[0]["text"].split(" ")
            for index, word in enumerate(words):
                final = index == len(words) - 1
                chunk = {"candidates": [{"content": {"role": "model", "parts": [{"text": word if index == 0 else " " + word}]}, "index": 0}],
                         "modelVersion": model, "responseId": "gemini-conformance"}
                if final:
                    chunk["candidates"][0]["finishReason"] = "STOP"
                    chunk["usageMetadata"] = usage
                self.sse(chunk)
        self.end_sse()

    # AWS Bedrock Converse under /bedrock (signatures are checked by the Swift tests; here only
    # their presence), streams as application/vnd.amazon.eventstream frames with real CRCs.
    def bedrock(self, body):
        if not (self.headers.get("authorization") or "").startswith("AWS4-HMAC-SHA256 Credential="):
            return self.send_json(403, {"message": "missing signature"})
        last = ""
        for message in reversed(body.get("messages", [])):
            if message.get("role") == "user":
                last = "".join(block.get("text", "") for block in message.get("content", []))
                if last:
                    break
        choice = (body.get("toolConfig") or {}).get("toolChoice") or {}
        tools = (body.get("toolConfig") or {}).get("tools") or []
        tool = None
        if tools and ("any" in choice or "tool" in choice):
            tool = (choice.get("tool") or {}).get("name") or tools[0]["toolSpec"]["name"]
        usage = {"inputTokens": 9, "outputTokens": 5, "totalTokens": 14}
        text = "echo: " + last
        if self.path.endswith("/converse"):
            content = [{"toolUse": {"toolUseId": "tooluse_1", "name": tool, "input": json.loads(TOOL_ARGUMENTS)}}] if tool else [{"text": text}]
            return self.send_json(200, {"output": {"message": {"role": "assistant", "content": content}},
                                        "stopReason": "tool_use" if tool else "end_turn", "usage": usage, "metrics": {"latencyMs": 5}})
        self.send_response(200)
        self.send_header("content-type", "application/vnd.amazon.eventstream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

        def frame(event_type, payload):
            self.write_chunk(eventstream_frame(event_type, payload))

        frame("messageStart", {"role": "assistant"})
        if tool:
            frame("contentBlockStart", {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": tool}}})
            for start in range(0, len(TOOL_ARGUMENTS), 6):
                frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": TOOL_ARGUMENTS[start:start + 6]}}})
        else:
            for index, word in enumerate(text.split(" ")):
                frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": word if index == 0 else " " + word}})
        frame("contentBlockStop", {"contentBlockIndex": 0})
        frame("messageStop", {"stopReason": "tool_use" if tool else "end_turn"})
        frame("metadata", {"usage": usage, "metrics": {"latencyMs": 5}})
        self.end_sse()

    def write_chunk(self, data):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def start_sse(self):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def sse(self, payload, event=None):
        data = (f"event: {event}\n" if event else "").encode() + b"data: " + json.dumps(payload).encode() + b"\n\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def end_sse(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def eventstream_frame(event_type, payload):
    """One event-stream message: prelude, CRC, string headers, JSON payload, message CRC."""
    headers = b""
    for name, value in ((":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")):
        encoded = value.encode()
        headers += bytes([len(name)]) + name.encode() + bytes([7]) + struct.pack(">H", len(encoded)) + encoded
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + body
    return message + struct.pack(">I", zlib.crc32(message) & 0xFFFFFFFF)


def anthropic_last_user_text(body):
    for message in reversed(body.get("messages", [])):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        text = "".join(block.get("text", "") for block in content if block.get("type") == "text")
        if text:
            return text
    return ""


class QuietServer(ThreadingHTTPServer):
    """A client (the gateway) closing a connection mid-answer is expected here, not an error."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def start(port=0):
    """Starts the fake on a loopback port; returns (server, port)."""
    recorder = Recorder()
    handler = type("BoundHandler", (Handler,), {"recorder": recorder})
    server = QuietServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, server.server_address[1]


if __name__ == "__main__":
    import argparse
    import time

    parser = argparse.ArgumentParser(description="Run the fake OpenAI upstream on loopback.")
    parser.add_argument("--port", type=int, default=0)
    arguments = parser.parse_args()
    running, bound = start(arguments.port)
    print(f"fake upstream on http://127.0.0.1:{bound}/v1 (key {API_KEY})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        running.shutdown()
