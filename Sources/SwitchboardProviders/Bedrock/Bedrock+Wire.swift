import SwitchboardCore

/// The Bedrock Runtime Converse and ConverseStream wire format (JSON bodies and stream event payloads).
enum Bedrock {}

extension Bedrock {
    struct ConverseRequest: Codable, Sendable, Hashable {
        var messages: [Message]
        var system: [SystemBlock]?
        var inferenceConfig: InferenceConfig?
        var toolConfig: ToolConfig?
    }

    struct Message: Codable, Sendable, Hashable {
        var role: String
        var content: [ContentBlock]
    }

    struct SystemBlock: Codable, Sendable, Hashable {
        var text: String
    }

    /// One block of a message; exactly one of its keys is set on the wire.
    enum ContentBlock: Sendable, Hashable {
        case text(String)
        case image(ImageBlock)
        case toolUse(ToolUseBlock)
        case toolResult(ToolResultBlock)
        /// Blocks the gateway does not translate (`reasoningContent`, `document`, ...), kept to be skipped.
        case other(JSONValue)
    }

    struct ImageBlock: Codable, Sendable, Hashable {
        struct Source: Codable, Sendable, Hashable {
            /// Base64 of the image bytes, as the JSON protocol carries blobs.
            var bytes: String
        }

        var format: String
        var source: Source
    }

    struct ToolUseBlock: Codable, Sendable, Hashable {
        var toolUseId: String
        var name: String
        var input: JSONValue
    }

    struct ToolResultBlock: Codable, Sendable, Hashable {
        struct Content: Codable, Sendable, Hashable {
            var text: String
        }

        var toolUseId: String
        var content: [Content]
        /// `success` or `error`; Bedrock documents it for Anthropic models only, so it is sent only for errors.
        var status: String?
    }

    struct InferenceConfig: Codable, Sendable, Hashable {
        var maxTokens: Int?
        var temperature: Double?
        var topP: Double?
        var stopSequences: [String]?

        var isEmpty: Bool { maxTokens == nil && temperature == nil && topP == nil && stopSequences == nil }
    }

    struct ToolConfig: Codable, Sendable, Hashable {
        var tools: [ToolEntry]
        var toolChoice: ToolChoice?
    }

    struct ToolEntry: Codable, Sendable, Hashable {
        var toolSpec: ToolSpec
    }

    struct ToolSpec: Codable, Sendable, Hashable {
        struct InputSchema: Codable, Sendable, Hashable {
            var json: JSONValue
        }

        var name: String
        var description: String?
        var inputSchema: InputSchema
    }

    /// `{"auto":{}}`, `{"any":{}}` or `{"tool":{"name":...}}`.
    enum ToolChoice: Sendable, Hashable {
        case auto
        case any
        case tool(name: String)
    }

    struct ConverseResponse: Decodable, Sendable {
        struct Output: Decodable, Sendable {
            var message: Message?
        }

        var output: Output
        var stopReason: String?
        var usage: TokenUsage?
    }

    struct TokenUsage: Codable, Sendable, Hashable {
        var inputTokens: Int
        var outputTokens: Int
        var totalTokens: Int?
        var cacheReadInputTokens: Int?
        var cacheWriteInputTokens: Int?
    }

    // MARK: - ConverseStream event payloads

    struct MessageStartEvent: Decodable, Sendable {
        var role: String?
    }

    struct ContentBlockStartEvent: Decodable, Sendable {
        struct Start: Decodable, Sendable {
            struct ToolUse: Decodable, Sendable {
                var toolUseId: String
                var name: String
            }

            var toolUse: ToolUse?
        }

        var contentBlockIndex: Int
        var start: Start?
    }

    struct ContentBlockDeltaEvent: Decodable, Sendable {
        struct Delta: Decodable, Sendable {
            struct ToolUse: Decodable, Sendable {
                var input: String
            }

            var text: String?
            var toolUse: ToolUse?
        }

        var contentBlockIndex: Int
        var delta: Delta
    }

    struct MessageStopEvent: Decodable, Sendable {
        var stopReason: String?
    }

    struct MetadataEvent: Decodable, Sendable {
        var usage: TokenUsage?
    }

    /// The error body of a failed call: only `__type` is ever read, never `message`.
    struct ErrorBody: Decodable, Sendable {
        var type: String?

        enum CodingKeys: String, CodingKey {
            case type = "__type"
        }
    }
}

extension Bedrock.ContentBlock: Codable {
    private enum Key: String, CodingKey {
        case text, image, toolUse, toolResult
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        if let text = try container.decodeIfPresent(String.self, forKey: .text) {
            self = .text(text)
        } else if let image = try container.decodeIfPresent(Bedrock.ImageBlock.self, forKey: .image) {
            self = .image(image)
        } else if let toolUse = try container.decodeIfPresent(Bedrock.ToolUseBlock.self, forKey: .toolUse) {
            self = .toolUse(toolUse)
        } else if let toolResult = try container.decodeIfPresent(Bedrock.ToolResultBlock.self, forKey: .toolResult) {
            self = .toolResult(toolResult)
        } else {
            self = .other(try JSONValue(from: decoder))
        }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .text(let text):
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(text, forKey: .text)
        case .image(let image):
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(image, forKey: .image)
        case .toolUse(let toolUse):
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(toolUse, forKey: .toolUse)
        case .toolResult(let toolResult):
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(toolResult, forKey: .toolResult)
        case .other(let value):
            try value.encode(to: encoder)
        }
    }
}

extension Bedrock.ToolChoice: Codable {
    private enum Key: String, CodingKey {
        case auto, any, tool
    }

    private struct Empty: Codable {}

    private struct Named: Codable {
        var name: String
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Key.self)
        if let named = try container.decodeIfPresent(Named.self, forKey: .tool) {
            self = .tool(name: named.name)
        } else if container.contains(.any) {
            self = .any
        } else {
            self = .auto
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        switch self {
        case .auto: try container.encode(Empty(), forKey: .auto)
        case .any: try container.encode(Empty(), forKey: .any)
        case .tool(let name): try container.encode(Named(name: name), forKey: .tool)
        }
    }
}
