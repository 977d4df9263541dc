/// A tool-call fragment inside a streamed delta. Arguments arrive split across many chunks.
package struct ToolCallDelta: Sendable, Hashable {
    package struct Function: Codable, Sendable, Hashable {
        package var name: String?
        package var arguments: String?

        package init(name: String? = nil, arguments: String? = nil) {
            self.name = name
            self.arguments = arguments
        }
    }

    package var index: Int
    package var id: String?
    package var type: String?
    package var function: Function?

    package init(index: Int, id: String? = nil, type: String? = nil, function: Function? = nil) {
        self.index = index
        self.id = id
        self.type = type
        self.function = function
    }
}

extension ToolCallDelta: Codable {
    private enum CodingKeys: String, CodingKey { case index, id, type, function }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.index = try container.decodeIfPresent(Int.self, forKey: .index) ?? 0
        self.id = try container.decodeIfPresent(String.self, forKey: .id)
        self.type = try container.decodeIfPresent(String.self, forKey: .type)
        self.function = try container.decodeIfPresent(Function.self, forKey: .function)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encodeIfPresent(id, forKey: .id)
        try container.encodeIfPresent(type, forKey: .type)
        try container.encodeIfPresent(function, forKey: .function)
    }
}

/// The change a streamed chunk carries for one choice.
package struct ChatDelta: Sendable, Hashable {
    package var role: ChatRole?
    package var content: String?
    package var toolCalls: [ToolCallDelta]?
    package var refusal: String?
    package var extra: [String: JSONValue]

    package init(
        role: ChatRole? = nil,
        content: String? = nil,
        toolCalls: [ToolCallDelta]? = nil,
        refusal: String? = nil,
        extra: [String: JSONValue] = [:]
    ) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.refusal = refusal
        self.extra = extra
    }
}

extension ChatDelta: Codable {
    private static let known: Set<String> = ["role", "content", "tool_calls", "refusal"]

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.role = try container.decodeIfPresent(ChatRole.self, forKey: AnyCodingKey("role"))
        self.content = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("content"))
        self.toolCalls = try container.decodeIfPresent([ToolCallDelta].self, forKey: AnyCodingKey("tool_calls"))
        self.refusal = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("refusal"))
        self.extra = try container.decodeExtras(excluding: Self.known)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encodeIfPresent(role, forKey: AnyCodingKey("role"))
        try container.encodeIfPresent(content, forKey: AnyCodingKey("content"))
        try container.encodeIfPresent(toolCalls, forKey: AnyCodingKey("tool_calls"))
        try container.encodeIfPresent(refusal, forKey: AnyCodingKey("refusal"))
        try container.encodeExtras(extra, excluding: Self.known)
    }
}

/// One streamed chunk (`chat.completion.chunk`).
package struct ChatChunk: Sendable, Hashable {
    package struct Choice: Sendable, Hashable {
        package var index: Int
        package var delta: ChatDelta
        package var finishReason: String?
        package var logprobs: JSONValue?
        package var extra: [String: JSONValue]

        package init(
            index: Int,
            delta: ChatDelta,
            finishReason: String? = nil,
            logprobs: JSONValue? = nil,
            extra: [String: JSONValue] = [:]
        ) {
            self.index = index
            self.delta = delta
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
    /// The event's `data` exactly as the provider sent it, when it speaks OpenAI's format; see
    /// ``ChatResponse/upstreamBody``. Whoever changes the fields above must clear it.
    package var upstreamBody = VerbatimBody.empty

    package init(
        id: String,
        object: String = "chat.completion.chunk",
        created: Int,
        model: String,
        choices: [Choice],
        usage: Usage? = nil,
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

    /// The final chunk OpenAI sends for `include_usage`: usage and no choices.
    package var isUsageOnly: Bool { choices.isEmpty && usage != nil }
}

extension ChatChunk.Choice: Codable {
    private static let known: Set<String> = ["index", "delta", "finish_reason", "logprobs"]

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.index = try container.decodeIfPresent(Int.self, forKey: AnyCodingKey("index")) ?? 0
        self.delta = try container.decodeIfPresent(ChatDelta.self, forKey: AnyCodingKey("delta")) ?? ChatDelta()
        self.finishReason = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("finish_reason"))
        self.logprobs = try container.decodeIfPresent(JSONValue.self, forKey: AnyCodingKey("logprobs"))
        self.extra = try container.decodeExtras(excluding: Self.known)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(index, forKey: AnyCodingKey("index"))
        try container.encode(delta, forKey: AnyCodingKey("delta"))
        try container.encode(logprobs ?? .null, forKey: AnyCodingKey("logprobs"))
        try container.encode(finishReason.map(JSONValue.string) ?? .null, forKey: AnyCodingKey("finish_reason"))
        try container.encodeExtras(extra, excluding: Self.known)
    }
}

extension ChatChunk: Codable {
    private static let known: Set<String> = [
        "id", "object", "created", "model", "choices", "usage", "system_fingerprint",
    ]

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.id = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("id")) ?? ""
        self.object = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("object")) ?? "chat.completion.chunk"
        self.created = try container.decodeIfPresent(Int.self, forKey: AnyCodingKey("created")) ?? 0
        self.model = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("model")) ?? ""
        self.choices = try container.decodeIfPresent([Choice].self, forKey: AnyCodingKey("choices")) ?? []
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
