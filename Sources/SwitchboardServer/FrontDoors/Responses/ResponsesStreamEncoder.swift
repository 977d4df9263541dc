import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The Responses API's stream: `event:` + `data:` frames numbered from 0 by `sequence_number`,
/// no `[DONE]`. `response.created` and `response.in_progress` open it; each output item (a
/// reasoning summary, the message, each function call) is added, streamed and done before the
/// next; `response.completed` (or `response.incomplete`) closes it with the whole response and
/// its usage; a provider failure after the first byte ends it with `response.failed`.
struct ResponsesChunkEncoder: ChunkEncoder {
    /// The response as it stands: its id, echo, and the output so far.
    private var response: Responses.Object
    private var sequence = 0
    private var started = false
    /// The output so far, as it will be in the final response.
    private var items: [Item] = []
    /// The item events are being written for (the others are done).
    private var open: Int?
    /// A tool call's stream index → its item.
    private var toolItems: [Int: Int] = [:]
    private var usage: Usage?
    private var finishReason: String?
    private let inputEstimate: Int
    private let base: String
    /// Not stored here: a native upstream's frames go out as it sent them.
    private let relaysNative: Bool
    private var relayed = false
    /// A native upstream's output items, from its last event.
    private var nativeOutput: [JSONValue]?
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    private enum Kind { case reasoning, message, functionCall }

    private struct Item {
        var kind: Kind
        var id: String
        var text = ""
        var callID = ""
        var name = ""

        func output(status: String) -> Responses.OutputItem {
            switch kind {
            case .reasoning: return .reasoning(id: id, summary: text)
            case .message: return .message(id: id, role: "assistant", status: status, text: text, input: false)
            case .functionCall: return .functionCall(id: id, callID: callID, name: name, arguments: text, status: status)
            }
        }
    }

    /// - Parameter relaysNative: a native upstream's frames go out as they came (nothing stored, no stored chain).
    init(id: String, model: String, echo: Responses.Echo, relaysNative: Bool = false, inputEstimate: Int) {
        self.response = Responses.Object(id: id, createdAt: echo.createdAt, status: "in_progress", model: model, output: [], echo: echo)
        self.base = String(id.dropFirst(5))
        self.inputEstimate = inputEstimate
        self.relaysNative = relaysNative
    }

    mutating func append(_ chunk: ChatChunk, to buffer: inout ByteBuffer) throws {
        if relaysNative, chunk.object == NativeResponses.answerObject, !chunk.upstreamBody.isEmpty, !started {
            relayed = true
            sequence += 1
            buffer.writeBytes(chunk.upstreamBody.bytes)
            return
        }
        try start(&buffer)
        if let usage = chunk.usage { self.usage = usage }
        guard let choice = chunk.choices.first(where: { $0.index == 0 }) else { return }
        if let reasoning = choice.delta.extra["reasoning_content"]?.stringValue, !reasoning.isEmpty {
            let index = try item(.reasoning, &buffer)
            items[index].text += reasoning
            try write("response.reasoning_summary_text.delta", &buffer, itemFields(index) + ["summary_index": 0, "delta": .string(reasoning)])
        }
        if let text = choice.delta.content, !text.isEmpty {
            let index = try item(.message, &buffer)
            items[index].text += text
            try write("response.output_text.delta", &buffer, itemFields(index) + ["content_index": 0, "delta": .string(text), "logprobs": []])
        }
        for call in choice.delta.toolCalls ?? [] {
            let index: Int
            if let known = toolItems[call.index] {
                index = known
            } else {
                try close(&buffer)
                index = items.count
                let callID = call.id.flatMap { $0.isEmpty ? nil : $0 } ?? ConversationIDs.callID(answer: base, index: toolItems.count)
                var item = Item(kind: .functionCall, id: ResponsesOutbound.functionCallItemID(base: base, callID: callID))
                item.callID = callID
                item.name = call.function?.name ?? ""
                items.append(item)
                toolItems[call.index] = index
                open = index
                try write("response.output_item.added", &buffer, ["output_index": .integer(Int64(index)), "item": try value(item.output(status: "in_progress"))])
                if let name = call.function?.name, !name.isEmpty, call.function?.arguments?.isEmpty ?? true { continue }
            }
            guard let arguments = call.function?.arguments, !arguments.isEmpty else { continue }
            items[index].text += arguments
            // A late piece of a call already done goes into the final response only.
            if open == index {
                try write("response.function_call_arguments.delta", &buffer, itemFields(index) + ["delta": .string(arguments)])
            }
        }
        if let output = choice.delta.extra[NativeResponses.outputField]?.arrayValue { nativeOutput = output }
        if let reason = choice.finishReason { finishReason = reason }
    }

    mutating func finish(into buffer: inout ByteBuffer) throws {
        if relayed { return }
        try start(&buffer)
        if items.isEmpty { _ = try item(.message, &buffer) }
        try close(&buffer)
        let (status, reason) = ResponsesOutbound.status(finishReason: finishReason, incomplete: false)
        let usage = self.usage ?? Usage(promptTokens: inputEstimate, completionTokens: TokenEstimator.estimate(items.map(\.text).joined()), totalTokens: 0)
        response.status = status
        response.incompleteReason = reason
        if let nativeOutput {
            response.output = ResponsesOutbound.nativeItems(nativeOutput, base: base).map { .native(id: $0.id, item: $0.item) }
        } else {
            response.output = items.map { $0.output(status: status == "completed" ? "completed" : "incomplete") }
        }
        response.usage = Responses.Usage(usage)
        try write(status == "completed" ? "response.completed" : "response.incomplete", &buffer, ["response": try value(response)])
    }

    func failure(_ error: GatewayError, requestID: String, into buffer: inout ByteBuffer) {
        var copy = self
        if relayed {
            // The upstream's frames went out: its stream ends with an error event numbered after them.
            buffer.writeString("event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"The provider's stream broke off.\",\"param\":null,\"sequence_number\":\(sequence)}\n\n")
            return
        }
        do {
            try copy.start(&buffer)
            copy.response.status = "failed"
            copy.response.error = Responses.ErrorInfo(code: "server_error", message: error.message)
            copy.response.output = copy.items.map { $0.output(status: "incomplete") }
            try copy.write("response.failed", &buffer, ["response": try copy.value(copy.response)])
        } catch {
            buffer.writeString("event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"stream failed\",\"sequence_number\":\(sequence)}\n\n")
        }
    }

    // MARK: Events

    private mutating func start(_ buffer: inout ByteBuffer) throws {
        guard !started else { return }
        started = true
        let snapshot = try value(response)
        try write("response.created", &buffer, ["response": snapshot])
        try write("response.in_progress", &buffer, ["response": snapshot])
    }

    /// The open item of `kind`, added (and the one before done) if it is not the open one.
    private mutating func item(_ kind: Kind, _ buffer: inout ByteBuffer) throws -> Int {
        if let open, items[open].kind == kind { return open }
        try close(&buffer)
        let index = items.count
        let prefix = kind == .reasoning ? "rs_" : "msg_"
        let ordinal = items.filter { $0.kind == kind }.count
        let item = Item(kind: kind, id: prefix + base + (ordinal == 0 ? "" : "_\(ordinal)"))
        items.append(item)
        open = index
        try write("response.output_item.added", &buffer, ["output_index": .integer(Int64(index)), "item": try value(item.output(status: "in_progress"))])
        switch kind {
        case .message:
            try write("response.content_part.added", &buffer, itemFields(index) + ["content_index": 0, "part": Self.textPart("")])
        case .reasoning:
            try write("response.reasoning_summary_part.added", &buffer, itemFields(index) + ["summary_index": 0, "part": ["type": "summary_text", "text": ""]])
        case .functionCall:
            break
        }
        return index
    }

    /// Ends the open item's events.
    private mutating func close(_ buffer: inout ByteBuffer) throws {
        guard let index = open else { return }
        open = nil
        let item = items[index]
        let text = JSONValue.string(item.text)
        switch item.kind {
        case .message:
            try write("response.output_text.done", &buffer, itemFields(index) + ["content_index": 0, "text": text, "logprobs": []])
            try write("response.content_part.done", &buffer, itemFields(index) + ["content_index": 0, "part": Self.textPart(item.text)])
        case .reasoning:
            try write("response.reasoning_summary_text.done", &buffer, itemFields(index) + ["summary_index": 0, "text": text])
            try write(
                "response.reasoning_summary_part.done", &buffer, itemFields(index) + ["summary_index": 0, "part": ["type": "summary_text", "text": text]]
            )
        case .functionCall:
            try write("response.function_call_arguments.done", &buffer, itemFields(index) + ["name": .string(item.name), "arguments": text])
        }
        try write("response.output_item.done", &buffer, ["output_index": .integer(Int64(index)), "item": try value(item.output(status: "completed"))])
    }

    private func itemFields(_ index: Int) -> [String: JSONValue] {
        ["item_id": .string(items[index].id), "output_index": .integer(Int64(index))]
    }

    private static func textPart(_ text: String) -> JSONValue {
        ["type": "output_text", "text": .string(text), "annotations": []]
    }

    private func value(_ encodable: some Encodable) throws -> JSONValue {
        try JSONValueEncoder().encode(encodable)
    }

    private mutating func write(_ name: String, _ buffer: inout ByteBuffer, _ fields: [String: JSONValue]) throws {
        var event = fields
        event["type"] = .string(name)
        event["sequence_number"] = .integer(Int64(sequence))
        sequence += 1
        buffer.writeString("event: \(name)\ndata: ")
        buffer.writeBytes(try encoder.encode(JSONValue.object(event)))
        buffer.writeString("\n\n")
    }
}

extension Dictionary where Key == String, Value == JSONValue {
    fileprivate static func + (lhs: Self, rhs: Self) -> Self { lhs.merging(rhs) { _, new in new } }
}
