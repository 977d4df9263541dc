/// Token counts of one call. Details the core does not model (`prompt_tokens_details`, ...) pass through.
package struct Usage: Sendable, Hashable {
    package var promptTokens: Int
    package var completionTokens: Int
    package var totalTokens: Int
    package var extra: [String: JSONValue]

    package init(promptTokens: Int, completionTokens: Int, totalTokens: Int? = nil, extra: [String: JSONValue] = [:]) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens ?? promptTokens + completionTokens
        self.extra = extra
    }

    /// Prompt tokens served from the provider's cache, when it says so.
    package var cachedPromptTokens: Int {
        extra["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0
    }

    /// Completion tokens spent on reasoning (OpenAI's o-series, Gemini's thoughts), when reported.
    package var reasoningTokens: Int {
        extra["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0
    }
}

extension Usage: Codable {
    private static let known: Set<String> = ["prompt_tokens", "completion_tokens", "total_tokens"]

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.promptTokens = try container.decodeIfPresent(Int.self, forKey: AnyCodingKey("prompt_tokens")) ?? 0
        self.completionTokens = try container.decodeIfPresent(Int.self, forKey: AnyCodingKey("completion_tokens")) ?? 0
        self.totalTokens =
            try container.decodeIfPresent(Int.self, forKey: AnyCodingKey("total_tokens"))
            ?? promptTokens + completionTokens
        self.extra = try container.decodeExtras(excluding: Self.known)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(promptTokens, forKey: AnyCodingKey("prompt_tokens"))
        try container.encode(completionTokens, forKey: AnyCodingKey("completion_tokens"))
        try container.encode(totalTokens, forKey: AnyCodingKey("total_tokens"))
        try container.encodeExtras(extra, excluding: Self.known)
    }
}

/// A non-streamed chat answer (`chat.completion`).
package struct ChatResponse: Sendable, Hashable {
    package struct Choice: Sendable, Hashable {
        package var index: Int
        package var message: ChatMessage
        package var finishReason: String?
        package var logprobs: JSONValue?
        package var extra: [String: JSONValue]

        package init(
            index: Int,
            message: ChatMessage,
            finishReason: String?,
            logprobs: JSONValue? = nil,
            extra: [String: JSONValue] = [:]
        ) {
            self.index = index
            self.message = message
            self.finishReason = finishReason
            self.logprobs = logprobs
            self.extra = extra
        }
    }

    package var id: String
    package var object: String
    package var created: Int
    package var model: String
    package var choices: [Choice]
    package var usage: Usage?
    package var systemFingerprint: String?
    package var extra: [String: JSONValue]
    /// The provider's body exactly as it arrived, when the provider speaks OpenAI's format: an
    /// OpenAI-format front door sends these bytes instead of re-encoding the fields above (what
    /// a reverse proxy would do, and cheaper). Whoever changes the fields above must clear it.
    /// Never encoded; equality ignores it; empty when there is none.
    package var upstreamBody = VerbatimBody.empty

    package init(
        id: String,
        object: String = "chat.completion",
        created: Int,
        model: String,
        choices: [Choice],
        usage: Usage?,
        systemFingerprint: String? = nil,
        extra: [String: JSONValue] = [:]
    ) {
        self.id = id
        self.object = object
        self.created = created
        self.model = model
        self.choices = choices
        self.usage = usage
        self.systemFingerprint = systemFingerprint
        self.extra = extra
    }
}

/// Bytes carried beside a decoded value, invisible to its equality and hashing.
package struct VerbatimBody: Sendable, Hashable {
    package let bytes: [UInt8]

    package init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    package static let empty = VerbatimBody([])
    package var isEmpty: Bool { bytes.isEmpty }

    package static func == (lhs: VerbatimBody, rhs: VerbatimBody) -> Bool { true }
    package func hash(into hasher: inout Hasher) {}
}

extension ChatResponse.Choice: Codable {
    private static let known: Set<String> = ["index", "message", "finish_reason", "logprobs"]

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.index = try container.decodeIfPresent(Int.self, forKey: AnyCodingKey("index")) ?? 0
        self.message = try container.decode(ChatMessage.self, forKey: AnyCodingKey("message"))
        self.finishReason = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("finish_reason"))
        self.logprobs = try container.decodeIfPresent(JSONValue.self, forKey: AnyCodingKey("logprobs"))
        self.extra = try container.decodeExtras(excluding: Self.known)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(index, forKey: AnyCodingKey("index"))
        try container.encode(message, forKey: AnyCodingKey("message"))
        try container.encode(logprobs ?? .null, forKey: AnyCodingKey("logprobs"))
        try container.encode(finishReason.map(JSONValue.string) ?? .null, forKey: AnyCodingKey("finish_reason"))
        try container.encodeExtras(extra, excluding: Self.known)
    }
}

extension ChatResponse: Codable {
    private static let known: Set<String> = [
        "id", "object", "created", "model", "choices", "usage", "system_fingerprint",
    ]

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.id = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("id")) ?? ""
        self.object = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("object")) ?? "chat.completion"
        self.created = try container.decodeIfPresent(Int.self, forKey: AnyCodingKey("created")) ?? 0
        self.model = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("model")) ?? ""
        self.choices = try container.decode([Choice].self, forKey: AnyCodingKey("choices"))
        self.usage = try container.decodeIfPresent(Usage.self, forKey: AnyCodingKey("usage"))
        self.systemFingerprint = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("system_fingerprint"))
        self.extra = try container.decodeExtras(excluding: Self.known)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(id, forKey: AnyCodingKey("id"))
        try container.encode(object, forKey: AnyCodingKey("object"))
        try container.encode(created, forKey: AnyCodingKey("created"))
        try container.encode(model, forKey: AnyCodingKey("model"))
        try container.encode(choices, forKey: AnyCodingKey("choices"))
        try container.encodeIfPresent(usage, forKey: AnyCodingKey("usage"))
        try container.encodeIfPresent(systemFingerprint, forKey: AnyCodingKey("system_fingerprint"))
        try container.encodeExtras(extra, excluding: Self.known)
    }
}

extension ChatResponse {
    /// The answer as a stream would have carried it: a role chunk, the content and tool calls,
    /// the finish reason, and a final usage-only chunk.
    package func streamChunks(usage: Usage) -> [ChatChunk] {
        var chunks: [ChatChunk] = []
        for choice in choices {
            let message = choice.message
            chunks.append(ChatChunk(id: id, created: created, model: model, choices: [
                .init(index: choice.index, delta: ChatDelta(role: .assistant, content: ""))
            ]))
            if let text = message.content?.text, !text.isEmpty {
                chunks.append(ChatChunk(id: id, created: created, model: model, choices: [
                    .init(index: choice.index, delta: ChatDelta(content: text))
                ]))
            }
            for (position, call) in (message.toolCalls ?? []).enumerated() {
                let delta = ToolCallDelta(
                    index: position, id: call.id, type: call.type, function: .init(name: call.function.name, arguments: call.function.arguments)
                )
                chunks.append(ChatChunk(id: id, created: created, model: model, choices: [
                    .init(index: choice.index, delta: ChatDelta(toolCalls: [delta]))
                ]))
            }
            chunks.append(ChatChunk(id: id, created: created, model: model, choices: [
                .init(index: choice.index, delta: ChatDelta(), finishReason: choice.finishReason ?? "stop")
            ]))
        }
        chunks.append(ChatChunk(id: id, created: created, model: model, choices: [], usage: usage))
        return chunks
    }
}
