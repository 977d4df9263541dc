/// Builds the whole answer from a stream's chunks, so a streamed answer can be stored and
/// served later, streamed or not.
package struct ChunkAssembler: Sendable {
    private struct Choice: Sendable {
        var content = ""
        var hasContent = false
        var refusal: String?
        var toolCalls: [Int: ToolCallDraft] = [:]
        var finishReason: String?
        /// The provider's thinking (`reasoning_content` deltas).
        var reasoning = ""
        /// A native Responses answer's output items, as its last event carried them.
        var output: JSONValue?
    }

    private struct ToolCallDraft: Sendable {
        var id = ""
        var type = "function"
        var name = ""
        var arguments = ""
    }

    private var id = ""
    private var created = 0
    private var model = ""
    private var systemFingerprint: String?
    private var choices: [Int: Choice] = [:]
    private var usage: Usage?
    /// Bytes of text gathered; past the limit the assembler stops keeping text (too large to store).
    private var bytes = 0
    private let limit: Int
    package private(set) var overflowed = false

    package init(limit: Int) {
        self.limit = limit
    }

    package mutating func add(_ chunk: ChatChunk) {
        if id.isEmpty { id = chunk.id }
        if created == 0 { created = chunk.created }
        if model.isEmpty { model = chunk.model }
        if systemFingerprint == nil { systemFingerprint = chunk.systemFingerprint }
        if let chunkUsage = chunk.usage { usage = chunkUsage }
        guard !overflowed else { return }
        for part in chunk.choices {
            var choice = choices[part.index] ?? Choice()
            if let text = part.delta.content {
                choice.content += text
                choice.hasContent = true
                bytes += text.utf8.count
            }
            if let reasoning = part.delta.extra["reasoning_content"]?.stringValue {
                choice.reasoning += reasoning
                bytes += reasoning.utf8.count
            }
            if let output = part.delta.extra[NativeResponses.outputField] { choice.output = output }
            if let refusal = part.delta.refusal {
                choice.refusal = (choice.refusal ?? "") + refusal
                bytes += refusal.utf8.count
            }
            for call in part.delta.toolCalls ?? [] {
                var draft = choice.toolCalls[call.index] ?? ToolCallDraft()
                if let callID = call.id { draft.id = callID }
                if let type = call.type { draft.type = type }
                if let name = call.function?.name { draft.name += name }
                if let arguments = call.function?.arguments {
                    draft.arguments += arguments
                    bytes += arguments.utf8.count
                }
                choice.toolCalls[call.index] = draft
            }
            if let reason = part.finishReason { choice.finishReason = reason }
            choices[part.index] = choice
        }
        if bytes > limit {
            overflowed = true
            choices = [:]
        }
    }

    /// The assembled answer; `nil` when the text passed the limit or no choice finished.
    package func response() -> ChatResponse? {
        guard choices.values.allSatisfy({ $0.finishReason != nil }) else { return nil }
        return received()
    }

    /// What arrived so far, finished or not (a stream that broke off); `nil` past the limit or with no choice.
    package func received() -> ChatResponse? {
        guard !overflowed, !choices.isEmpty else { return nil }
        let assembled = choices.keys.sorted().compactMap { index -> ChatResponse.Choice? in
            guard let choice = choices[index] else { return nil }
            let calls = choice.toolCalls.keys.sorted().compactMap { position -> ToolCall? in
                guard let draft = choice.toolCalls[position] else { return nil }
                return ToolCall(id: draft.id, type: draft.type, function: .init(name: draft.name, arguments: draft.arguments))
            }
            var message = ChatMessage(
                role: .assistant,
                content: choice.hasContent || calls.isEmpty ? .text(choice.content) : nil,
                toolCalls: calls.isEmpty ? nil : calls,
                refusal: choice.refusal
            )
            if !choice.reasoning.isEmpty { message.extra["reasoning_content"] = .string(choice.reasoning) }
            if let output = choice.output { message.extra[NativeResponses.outputField] = output }
            return ChatResponse.Choice(index: index, message: message, finishReason: choice.finishReason)
        }
        return ChatResponse(id: id, created: created, model: model, choices: assembled, usage: usage, systemFingerprint: systemFingerprint)
    }
}
