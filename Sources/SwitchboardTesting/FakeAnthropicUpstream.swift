package import Hummingbird
import HTTPTypes
import Logging
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A fake Anthropic Messages API speaking the real wire format (`x-api-key`,
/// `anthropic-version`, SSE with named events), with behaviour chosen by the request's `model`:
/// `fail-401`, `fail-403`, `fail-429` (retry-after 9), `fail-500`, `fail-529` (overloaded), each
/// with a body containing ``FakeOpenAIUpstream/secretMarker``; `invalid-json`; `thinker` (answers
/// with a signed thinking block first); `cached` (reports cache tokens); `stream-error` (an
/// `error` event mid-stream). Otherwise it echoes the last user text, or calls the first tool
/// when `tool_choice` is `any` or names one.
package struct FakeAnthropicUpstream: Sendable {
    package static let apiKey = "anthropic-test-key"
    package static let signature = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds+2X8pQ/=="
    package let recorder = UpstreamRecorder()

    package init() {}

    package func makeApplication(onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        let recorder = self.recorder
        router.get("v1/models") { request, _ -> Response in
            guard request.headers[HTTPField.Name("x-api-key")!] == Self.apiKey, request.headers[HTTPField.Name("anthropic-version")!] != nil else {
                return Response(status: .unauthorized)
            }
            return FakeOpenAIUpstream.json([
                "data": [["type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z"]],
                "has_more": false, "first_id": "claude-sonnet-4-5", "last_id": "claude-sonnet-4-5",
            ])
        }
        router.post("v1/messages") { request, _ -> Response in
            let body = try await FakeOpenAIUpstream.readBody(request)
            await recorder.append(.init(path: "/v1/messages", authorization: request.headers[HTTPField.Name("x-api-key")!], requestID: nil, body: body))
            guard request.headers[HTTPField.Name("x-api-key")!] == Self.apiKey,
                request.headers[HTTPField.Name("anthropic-version")!] == "2023-06-01"
            else {
                return Self.error(status: 401, type: "authentication_error")
            }
            let model = body["model"]?.stringValue ?? ""
            switch model {
            case "fail-401": return Self.error(status: 401, type: "authentication_error")
            case "fail-403": return Self.error(status: 403, type: "permission_error")
            case "fail-429":
                var response = Self.error(status: 429, type: "rate_limit_error")
                response.headers[.retryAfter] = "9"
                return response
            case "fail-500": return Self.error(status: 500, type: "api_error")
            case "fail-529": return Self.error(status: 529, type: "overloaded_error")
            case "too-long":
                var response = FakeOpenAIUpstream.json([
                    "type": "error",
                    "error": ["type": "invalid_request_error", "message": "prompt is too long: 250000 tokens > 200000 maximum"],
                ])
                response.status = .badRequest
                return response
            case "invalid-json":
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"nope\":")))
            default: break
            }
            let blocks = Self.answer(body, model: model)
            if body["stream"]?.boolValue == true {
                return Self.stream(blocks, model: model)
            }
            return FakeOpenAIUpstream.json([
                "id": "msg_fake01", "type": "message", "role": "assistant", "model": .string(model),
                "content": .array(blocks), "stop_reason": .string(Self.stopReason(blocks, body)), "stop_sequence": nil,
                "usage": Self.usage(model),
            ])
        }
        router.post("v1/messages/count_tokens") { request, _ -> Response in
            let body = try await FakeOpenAIUpstream.readBody(request)
            await recorder.append(.init(path: "/v1/messages/count_tokens", authorization: nil, requestID: nil, body: body))
            return FakeOpenAIUpstream.json(["input_tokens": 42])
        }
        var logger = Logger(label: "fake-anthropic")
        logger.logLevel = .critical
        return Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
            logger: logger
        )
    }

    static func error(status: Int, type: String) -> Response {
        var response = FakeOpenAIUpstream.json([
            "type": "error",
            "error": ["type": .string(type), "message": .string("Anthropic says no: \(FakeOpenAIUpstream.secretMarker)")],
        ])
        response.status = HTTPResponse.Status(code: status)
        return response
    }

    static func usage(_ model: String) -> JSONValue {
        if model == "cached" {
            return ["input_tokens": 10, "output_tokens": 6, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 200]
        }
        return ["input_tokens": 12, "output_tokens": 6]
    }

    static func lastUserText(_ body: JSONValue) -> String {
        guard case .array(let messages) = body["messages"] else { return "" }
        for message in messages.reversed() where message["role"] == "user" {
            if let text = message["content"]?.stringValue { return text }
            if case .array(let blocks) = message["content"] {
                let text = blocks.filter { $0["type"] == "text" }.compactMap { $0["text"]?.stringValue }.joined()
                if !text.isEmpty { return text }
            }
        }
        return ""
    }

    static func answer(_ body: JSONValue, model: String) -> [JSONValue] {
        var blocks: [JSONValue] = []
        if model == "thinker" {
            blocks.append(["type": "thinking", "thinking": "Let me think.", "signature": .string(signature)])
        }
        if model == "redactor" {
            blocks.append(["type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4a"])
        }
        let choice = body["tool_choice"]
        if case .array(let tools) = body["tools"], let first = tools.first?["name"]?.stringValue,
            choice?["type"] == "any" || choice?["type"] == "tool"
        {
            let name = choice?["name"]?.stringValue ?? first
            blocks.append(["type": "tool_use", "id": "toolu_01", "name": .string(name), "input": ["city": "Paris", "days": [1, 2]]])
            return blocks
        }
        blocks.append(["type": "text", "text": .string("echo: " + lastUserText(body))])
        return blocks
    }

    static func stopReason(_ blocks: [JSONValue], _ body: JSONValue) -> String {
        blocks.contains { $0["type"] == "tool_use" } ? "tool_use" : "end_turn"
    }

    static func event(_ name: String, _ data: JSONValue) -> ByteBuffer {
        let json = (try? JSONEncoder().encode(data)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return ByteBuffer(string: "event: \(name)\ndata: \(json)\n\n")
    }

    static func stream(_ blocks: [JSONValue], model: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream"],
            body: ResponseBody { writer in
                var start = usage(model)
                if case .object(var object) = start {
                    object["output_tokens"] = 1
                    start = .object(object)
                }
                try await writer.write(event("message_start", [
                    "type": "message_start",
                    "message": [
                        "id": "msg_fake01", "type": "message", "role": "assistant", "model": .string(model), "content": [],
                        "stop_reason": nil, "stop_sequence": nil, "usage": start,
                    ],
                ]))
                try await writer.write(event("ping", ["type": "ping"]))
                for (index, block) in blocks.enumerated() {
                    let position = JSONValue.integer(Int64(index))
                    switch block["type"]?.stringValue {
                    case "redacted_thinking":
                        try await writer.write(event("content_block_start", ["type": "content_block_start", "index": position, "content_block": block]))
                    case "thinking":
                        try await writer.write(event("content_block_start", ["type": "content_block_start", "index": position, "content_block": ["type": "thinking", "thinking": "", "signature": ""]]))
                        try await writer.write(event("content_block_delta", ["type": "content_block_delta", "index": position, "delta": ["type": "thinking_delta", "thinking": block["thinking"] ?? ""]]))
                        try await writer.write(event("content_block_delta", ["type": "content_block_delta", "index": position, "delta": ["type": "signature_delta", "signature": .string(signature)]]))
                    case "tool_use":
                        try await writer.write(event("content_block_start", ["type": "content_block_start", "index": position, "content_block": ["type": "tool_use", "id": block["id"] ?? "", "name": block["name"] ?? "", "input": [:]]]))
                        let arguments = #"{"city": "Paris", "days": [1, 2]}"#
                        var rest = Substring(arguments)
                        while !rest.isEmpty {
                            try await writer.write(event("content_block_delta", ["type": "content_block_delta", "index": position, "delta": ["type": "input_json_delta", "partial_json": .string(String(rest.prefix(6)))]]))
                            rest = rest.dropFirst(6)
                        }
                    default:
                        try await writer.write(event("content_block_start", ["type": "content_block_start", "index": position, "content_block": ["type": "text", "text": ""]]))
                        let text = block["text"]?.stringValue ?? ""
                        for word in text.split(separator: " ", omittingEmptySubsequences: false).enumerated() {
                            let piece = word.offset == 0 ? String(word.element) : " " + word.element
                            try await writer.write(event("content_block_delta", ["type": "content_block_delta", "index": position, "delta": ["type": "text_delta", "text": .string(piece)]]))
                        }
                        if model == "stream-error" {
                            try await writer.write(event("error", ["type": "error", "error": ["type": "overloaded_error", "message": .string("Overloaded \(FakeOpenAIUpstream.secretMarker)")]]))
                            try await writer.finish(nil)
                            return
                        }
                    }
                    try await writer.write(event("content_block_stop", ["type": "content_block_stop", "index": position]))
                }
                let stop = blocks.contains { $0["type"] == "tool_use" } ? "tool_use" : "end_turn"
                try await writer.write(event("message_delta", ["type": "message_delta", "delta": ["stop_reason": .string(stop), "stop_sequence": nil], "usage": ["output_tokens": 6]]))
                try await writer.write(event("message_stop", ["type": "message_stop"]))
                try await writer.finish(nil)
            }
        )
    }
}
