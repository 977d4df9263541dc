import HTTPTypes
import Hummingbird
import NIOCore
package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// OpenAI's Responses API on the fake (`POST /v1/responses`, and Azure's `/openai/v1/responses`),
/// in its real wire format: the answer is `native: <last user text>`; a `reasoning.effort` adds a
/// reasoning item first (with `encrypted_content` when `include` asks for it); a built-in
/// `web_search` tool adds a `web_search_call` item; function tools with `tool_choice: required`
/// answer with a `function_call` instead of a message. Model `native-fail` is a 500, and
/// `native-die` streams its first frames and drops the connection. Bodies are written with a
/// space after each `:` so a gateway that re-encoded them would be caught.
extension FakeOpenAIUpstream {
    package static let nativeCallID = "call_native_1"
    package static let nativeArguments = #"{"city":"Oslo"}"#

    static func addResponses(to router: Router<BasicRequestContext>, recorder: UpstreamRecorder) {
        for path in ["v1/responses", "openai/v1/responses"] {
            router.post(RouterPath(path)) { request, _ -> Response in
                let buffer = try await request.body.collect(upTo: 50 * 1024 * 1024)
                let raw = Array(buffer.readableBytesView)
                let body = try JSONDecoder().decode(JSONValue.self, from: Data(raw))
                var received = UpstreamRecorder.Received(
                    path: "/" + path, authorization: request.headers[.authorization] ?? request.headers[HTTPField.Name("api-key")!],
                    requestID: request.headers[HTTPField.Name("x-request-id")!], body: body
                )
                received.raw = raw
                await recorder.append(received)
                let key = request.headers[.authorization] == "Bearer \(apiKey)" || request.headers[HTTPField.Name("api-key")!] == apiKey
                guard key else { return error(status: 401, type: "invalid_request_error", code: "invalid_api_key") }
                let model = body["model"]?.stringValue ?? ""
                if model == "native-fail" { return error(status: 500, type: "server_error", code: nil) }
                if body["stream"]?.boolValue == true {
                    let frames = responsesStream(body)
                    let die = model == "native-die"
                    return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                        for (index, frame) in frames.enumerated() {
                            if die, index == 4 {
                                try await Task.sleep(for: .milliseconds(500))
                                throw FakeUpstreamError.droppedConnection
                            }
                            try await writer.write(ByteBuffer(string: frame))
                        }
                        try await writer.finish(nil)
                    })
                }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: responsesBody(body))))
            }
        }
    }

    /// The text of the last user message of a Responses `input`.
    static func lastUserInput(_ body: JSONValue) -> String {
        switch body["input"] {
        case .string(let text)?: return text
        case .array(let items)?:
            for item in items.reversed() where item["role"]?.stringValue == "user" {
                if let text = item["content"]?.stringValue { return text }
                return (item["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
            }
            return ""
        default: return ""
        }
    }

    /// The output items the fake answers `body` with.
    package static func responsesOutput(_ body: JSONValue) -> [JSONValue] {
        var output: [JSONValue] = []
        if body["reasoning"]?["effort"]?.stringValue != nil {
            var reasoning: [String: JSONValue] = ["type": "reasoning", "id": "rs_native_1", "summary": [["type": "summary_text", "text": "Thinking it over."]]]
            if (body["include"]?.arrayValue ?? []).contains("reasoning.encrypted_content") {
                reasoning["encrypted_content"] = "gAAAAB-fake-encrypted+/=="
            }
            output.append(.object(reasoning))
        }
        let tools = body["tools"]?.arrayValue ?? []
        if tools.contains(where: { $0["type"]?.stringValue?.hasPrefix("web_search") == true }) {
            output.append(["type": "web_search_call", "id": "ws_native_1", "status": "completed", "action": ["type": "search", "query": .string(lastUserInput(body))]])
        }
        if body["tool_choice"]?.stringValue == "required", let tool = tools.first(where: { $0["type"] == "function" }), let name = tool["name"] {
            output.append([
                "type": "function_call", "id": "fc_native_1", "call_id": .string(nativeCallID), "name": name, "arguments": .string(nativeArguments),
                "status": "completed",
            ])
        } else {
            output.append([
                "type": "message", "id": "msg_native_1", "status": "completed", "role": "assistant",
                "content": [["type": "output_text", "text": .string("native: " + lastUserInput(body)), "annotations": []]],
            ])
        }
        return output
    }

    /// The response object, in the given status, with `output`.
    static func responseObject(_ body: JSONValue, status: String, output: [JSONValue]) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": "resp_native_1", "object": "response", "created_at": 1_700_000_000, "status": .string(status), "error": nil,
            "incomplete_details": nil, "model": .string((body["model"]?.stringValue ?? "") + "-2025-01-01"), "output": .array(output),
            "parallel_tool_calls": true, "previous_response_id": body["previous_response_id"] ?? nil, "store": body["store"] ?? true,
            "instructions": body["instructions"] ?? nil, "metadata": body["metadata"] ?? [:], "tools": body["tools"] ?? [], "tool_choice": body["tool_choice"] ?? "auto",
            "text": ["format": ["type": "text"]], "truncation": "disabled", "temperature": 1.0, "top_p": 1.0,
        ]
        if status != "in_progress" {
            object["usage"] = [
                "input_tokens": 13, "input_tokens_details": ["cached_tokens": 4, "cache_write_tokens": 0], "output_tokens": 9, "output_tokens_details": ["reasoning_tokens": 5],
                "total_tokens": 22,
            ]
        }
        return .object(object)
    }

    /// The non-streamed answer's exact bytes.
    package static func responsesBody(_ body: JSONValue) -> String {
        spaced(responseObject(body, status: "completed", output: responsesOutput(body)))
    }

    /// The streamed answer's exact frames.
    package static func responsesStream(_ body: JSONValue) -> [String] {
        var events: [JSONValue] = []
        let output = responsesOutput(body)
        events.append(["type": "response.created", "response": responseObject(body, status: "in_progress", output: [])])
        events.append(["type": "response.in_progress", "response": responseObject(body, status: "in_progress", output: [])])
        for (index, item) in output.enumerated() {
            let at = JSONValue.integer(Int64(index))
            let id = item["id"] ?? nil
            switch item["type"]?.stringValue {
            case "message":
                let text = item["content"]?[0]?["text"]?.stringValue ?? ""
                var added = item
                if case .object(var fields) = added { fields["status"] = "in_progress"; fields["content"] = []; added = .object(fields) }
                events.append(["type": "response.output_item.added", "output_index": at, "item": added])
                events.append(["type": "response.content_part.added", "item_id": id, "output_index": at, "content_index": 0,
                    "part": ["type": "output_text", "text": "", "annotations": []]])
                let half = text.index(text.startIndex, offsetBy: text.count / 2)
                for piece in [String(text[..<half]), String(text[half...])] {
                    events.append(["type": "response.output_text.delta", "item_id": id, "output_index": at, "content_index": 0, "delta": .string(piece), "logprobs": []])
                }
                events.append(["type": "response.output_text.done", "item_id": id, "output_index": at, "content_index": 0, "text": .string(text), "logprobs": []])
                events.append(["type": "response.content_part.done", "item_id": id, "output_index": at, "content_index": 0,
                    "part": ["type": "output_text", "text": .string(text), "annotations": []]])
            case "function_call":
                var added = item
                if case .object(var fields) = added { fields["status"] = "in_progress"; fields["arguments"] = ""; added = .object(fields) }
                events.append(["type": "response.output_item.added", "output_index": at, "item": added])
                events.append(["type": "response.function_call_arguments.delta", "item_id": id, "output_index": at, "delta": .string(nativeArguments)])
                events.append(["type": "response.function_call_arguments.done", "item_id": id, "output_index": at, "arguments": .string(nativeArguments)])
            case "reasoning":
                events.append(["type": "response.output_item.added", "output_index": at, "item": ["type": "reasoning", "id": id, "summary": []]])
                events.append(["type": "response.reasoning_summary_text.delta", "item_id": id, "output_index": at, "summary_index": 0, "delta": "Thinking it over."])
            default:
                events.append(["type": "response.output_item.added", "output_index": at, "item": item])
            }
            events.append(["type": "response.output_item.done", "output_index": at, "item": item])
        }
        events.append(["type": "response.completed", "response": responseObject(body, status: "completed", output: output)])
        return events.enumerated().map { index, event in
            guard case .object(var fields) = event else { return "" }
            fields["sequence_number"] = .integer(Int64(index))
            return "event: \(fields["type"]?.stringValue ?? "")\ndata: \(spaced(.object(fields)))\n\n"
        }
    }

    /// JSON with a space after every `:` and `,` between members, keys sorted: valid, and unlike
    /// what an encoder writes.
    static func spaced(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let compact = String(decoding: (try? encoder.encode(value)) ?? Data(), as: UTF8.self)
        // Safe on this fake's own values: none of its strings holds `":` or `,"`.
        return compact.replacingOccurrences(of: "\":", with: "\": ").replacingOccurrences(of: ",\"", with: ", \"")
    }
}
