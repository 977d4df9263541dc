package import SwitchboardCore

/// Anthropic Messages API wire types, shared by the adapter (gateway → Anthropic) and the
/// Anthropic-compatible front door (clients → gateway).
package enum Anthropic {
    package static let version = "2023-06-01"

    /// One content block. Blocks the gateway does not interpret (documents, server tools, ...)
    /// pass through as raw JSON; thinking blocks keep their signature byte for byte.
    package enum ContentBlock: Sendable, Hashable {
        case text(String, extra: [String: JSONValue])
        case image(source: JSONValue, extra: [String: JSONValue])
        case toolUse(id: String, name: String, input: JSONValue)
        case toolResult(toolUseID: String, content: JSONValue?, isError: Bool?)
        case thinking(thinking: String, signature: String)
        case redactedThinking(data: String)
        case other(JSONValue)
    }

    package struct Message: Codable, Sendable, Hashable {
        package var role: String
        package var content: [ContentBlock]

        package init(role: String, content: [ContentBlock]) {
            self.role = role
            self.content = content
        }

        enum CodingKeys: String, CodingKey { case role, content }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try container.decode(String.self, forKey: .role)
            if let text = try? container.decode(String.self, forKey: .content) {
                content = [.text(text, extra: [:])]
            } else {
                content = try container.decode([ContentBlock].self, forKey: .content)
            }
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(role, forKey: .role)
            try container.encode(content, forKey: .content)
        }
    }

    package struct Tool: Codable, Sendable, Hashable {
        package var name: String
        package var description: String?
        package var inputSchema: JSONValue?
        package var extra: [String: JSONValue]

        package init(name: String, description: String?, inputSchema: JSONValue?, extra: [String: JSONValue] = [:]) {
            self.name = name
            self.description = description
            self.inputSchema = inputSchema
            self.extra = extra
        }

        static let known: Set<String> = ["name", "description", "input_schema"]

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyCodingKey.self)
            name = try container.decode(String.self, forKey: AnyCodingKey("name"))
            description = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("description"))
            inputSchema = try container.decodeIfPresent(JSONValue.self, forKey: AnyCodingKey("input_schema"))
            extra = try container.decodeExtras(excluding: Self.known)
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyCodingKey.self)
            try container.encode(name, forKey: AnyCodingKey("name"))
            try container.encodeIfPresent(description, forKey: AnyCodingKey("description"))
            try container.encode(inputSchema ?? ["type": "object", "properties": [:]], forKey: AnyCodingKey("input_schema"))
            try container.encodeExtras(extra, excluding: Self.known)
        }
    }

    /// `POST /v1/messages` request.
    package struct Request: Codable, Sendable, Hashable {
        package var model: String
        package var maxTokens: Int?
        package var messages: [Message]
        /// A string or a list of text blocks.
        package var system: JSONValue?
        package var temperature: Double?
        package var topP: Double?
        package var topK: Int?
        package var stopSequences: [String]?
        package var stream: Bool?
        package var tools: [Tool]?
        package var toolChoice: JSONValue?
        package var metadata: JSONValue?
        package var thinking: JSONValue?
        package var extra: [String: JSONValue]

        package init(model: String, maxTokens: Int?, messages: [Message]) {
            self.model = model
            self.maxTokens = maxTokens
            self.messages = messages
            self.extra = [:]
        }

        static let known: Set<String> = [
            "model", "max_tokens", "messages", "system", "temperature", "top_p", "top_k", "stop_sequences", "stream",
            "tools", "tool_choice", "metadata", "thinking",
        ]

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyCodingKey.self)
            func key(_ name: String) -> AnyCodingKey { AnyCodingKey(name) }
            model = try container.decode(String.self, forKey: key("model"))
            maxTokens = try container.decodeIfPresent(Int.self, forKey: key("max_tokens"))
            messages = try container.decode([Message].self, forKey: key("messages"))
            system = try container.decodeIfPresent(JSONValue.self, forKey: key("system"))
            temperature = try container.decodeIfPresent(Double.self, forKey: key("temperature"))
            topP = try container.decodeIfPresent(Double.self, forKey: key("top_p"))
            topK = try container.decodeIfPresent(Int.self, forKey: key("top_k"))
            stopSequences = try container.decodeIfPresent([String].self, forKey: key("stop_sequences"))
            stream = try container.decodeIfPresent(Bool.self, forKey: key("stream"))
            tools = try container.decodeIfPresent([Tool].self, forKey: key("tools"))
            toolChoice = try container.decodeIfPresent(JSONValue.self, forKey: key("tool_choice"))
            metadata = try container.decodeIfPresent(JSONValue.self, forKey: key("metadata"))
            thinking = try container.decodeIfPresent(JSONValue.self, forKey: key("thinking"))
            extra = try container.decodeExtras(excluding: Self.known)
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyCodingKey.self)
            func key(_ name: String) -> AnyCodingKey { AnyCodingKey(name) }
            try container.encode(model, forKey: key("model"))
            try container.encodeIfPresent(maxTokens, forKey: key("max_tokens"))
            try container.encode(messages, forKey: key("messages"))
            try container.encodeIfPresent(system, forKey: key("system"))
            try container.encodeIfPresent(temperature, forKey: key("temperature"))
            try container.encodeIfPresent(topP, forKey: key("top_p"))
            try container.encodeIfPresent(topK, forKey: key("top_k"))
            try container.encodeIfPresent(stopSequences, forKey: key("stop_sequences"))
            try container.encodeIfPresent(stream, forKey: key("stream"))
            try container.encodeIfPresent(tools, forKey: key("tools"))
            try container.encodeIfPresent(toolChoice, forKey: key("tool_choice"))
            try container.encodeIfPresent(metadata, forKey: key("metadata"))
            try container.encodeIfPresent(thinking, forKey: key("thinking"))
            try container.encodeExtras(extra, excluding: Self.known)
        }
    }

    package struct Usage: Codable, Sendable, Hashable {
        package var inputTokens: Int
        package var outputTokens: Int
        package var cacheCreationInputTokens: Int?
        package var cacheReadInputTokens: Int?

        package init(inputTokens: Int, outputTokens: Int, cacheCreationInputTokens: Int? = nil, cacheReadInputTokens: Int? = nil) {
            self.inputTokens = inputTokens
            self.outputTokens = outputTokens
            self.cacheCreationInputTokens = cacheCreationInputTokens
            self.cacheReadInputTokens = cacheReadInputTokens
        }

        enum CodingKeys: String, CodingKey {
            case inputTokens = "input_tokens"
            case outputTokens = "output_tokens"
            case cacheCreationInputTokens = "cache_creation_input_tokens"
            case cacheReadInputTokens = "cache_read_input_tokens"
        }

        package init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            inputTokens = try container.decodeIfPresent(Int.self, forKey: .inputTokens) ?? 0
            outputTokens = try container.decodeIfPresent(Int.self, forKey: .outputTokens) ?? 0
            cacheCreationInputTokens = try container.decodeIfPresent(Int.self, forKey: .cacheCreationInputTokens)
            cacheReadInputTokens = try container.decodeIfPresent(Int.self, forKey: .cacheReadInputTokens)
        }
    }

    /// A complete (non-streamed) answer.
    package struct Response: Codable, Sendable, Hashable {
        package var id: String
        package var type: String
        package var role: String
        package var model: String
        package var content: [ContentBlock]
        package var stopReason: String?
        package var stopSequence: String?
        package var usage: Usage

        package init(id: String, model: String, content: [ContentBlock], stopReason: String?, stopSequence: String?, usage: Usage) {
            self.id = id
            self.type = "message"
            self.role = "assistant"
            self.model = model
            self.content = content
            self.stopReason = stopReason
            self.stopSequence = stopSequence
            self.usage = usage
        }

        enum CodingKeys: String, CodingKey {
            case id, type, role, model, content, usage
            case stopReason = "stop_reason"
            case stopSequence = "stop_sequence"
        }

        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(type, forKey: .type)
            try container.encode(role, forKey: .role)
            try container.encode(model, forKey: .model)
            try container.encode(content, forKey: .content)
            try container.encode(stopReason, forKey: .stopReason)
            try container.encode(stopSequence, forKey: .stopSequence)
            try container.encode(usage, forKey: .usage)
        }
    }

    /// `{"type":"error","error":{"type","message"}}`
    package struct ErrorBody: Codable, Sendable {
        package struct Detail: Codable, Sendable {
            package var type: String
            package var message: String
        }

        package var type = "error"
        package var error: Detail

        package init(type: String, message: String) {
            self.error = Detail(type: type, message: message)
        }
    }
}

extension Anthropic.ContentBlock: Codable {
    package init(from decoder: any Decoder) throws {
        let raw = try JSONValue(from: decoder)
        guard case .object(var object) = raw, let type = object["type"]?.stringValue else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "content block needs a string `type`"))
        }
        switch type {
        case "text":
            guard let text = object["text"]?.stringValue else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "text block needs `text`"))
            }
            object["type"] = nil
            object["text"] = nil
            self = .text(text, extra: object)
        case "image":
            guard let source = object["source"] else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "image block needs `source`"))
            }
            object["type"] = nil
            object["source"] = nil
            self = .image(source: source, extra: object)
        case "tool_use":
            guard let id = object["id"]?.stringValue, let name = object["name"]?.stringValue else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "tool_use block needs `id` and `name`"))
            }
            self = .toolUse(id: id, name: name, input: object["input"] ?? [:])
        case "tool_result":
            guard let id = object["tool_use_id"]?.stringValue else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "tool_result block needs `tool_use_id`"))
            }
            self = .toolResult(toolUseID: id, content: object["content"], isError: object["is_error"]?.boolValue)
        case "thinking":
            self = .thinking(thinking: object["thinking"]?.stringValue ?? "", signature: object["signature"]?.stringValue ?? "")
        case "redacted_thinking":
            self = .redactedThinking(data: object["data"]?.stringValue ?? "")
        default:
            self = .other(raw)
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var object: [String: JSONValue]
        switch self {
        case .text(let text, let extra):
            object = extra
            object["type"] = "text"
            object["text"] = .string(text)
        case .image(let source, let extra):
            object = extra
            object["type"] = "image"
            object["source"] = source
        case .toolUse(let id, let name, let input):
            object = ["type": "tool_use", "id": .string(id), "name": .string(name), "input": input]
        case .toolResult(let id, let content, let isError):
            object = ["type": "tool_result", "tool_use_id": .string(id)]
            if let content { object["content"] = content }
            if let isError { object["is_error"] = .bool(isError) }
        case .thinking(let thinking, let signature):
            object = ["type": "thinking", "thinking": .string(thinking), "signature": .string(signature)]
        case .redactedThinking(let data):
            object = ["type": "redacted_thinking", "data": .string(data)]
        case .other(let raw):
            try raw.encode(to: encoder)
            return
        }
        try JSONValue.object(object).encode(to: encoder)
    }
}
