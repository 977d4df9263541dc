/// Who wrote a message. Unknown roles are rejected at decode time with a message naming them.
package enum ChatRole: String, Codable, Sendable, CaseIterable {
    case system
    case developer
    case user
    case assistant
    case tool
    case function

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let role = ChatRole(rawValue: raw) else {
            let allowed = ChatRole.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "unknown role '\(raw)'; expected one of \(allowed)"
            )
        }
        self = role
    }
}

/// A message's content: a plain string or a list of typed parts.
package enum MessageContent: Sendable, Hashable {
    case text(String)
    case parts([ContentPart])

    /// The text of the content, parts joined; images and other parts are skipped.
    package var text: String {
        switch self {
        case .text(let string): return string
        case .parts(let parts):
            return parts.compactMap { part in
                if case .text(let text) = part { return text }
                return nil
            }.joined()
        }
    }
}

extension MessageContent: Codable {
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            self = .text(string)
        } else if let parts = try? container.decode([ContentPart].self) {
            self = .parts(parts)
        } else {
            throw DecodingError.typeMismatch(
                String.self,
                .init(codingPath: decoder.codingPath, debugDescription: "must be a string or an array of content parts")
            )
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let string): try container.encode(string)
        case .parts(let parts): try container.encode(parts)
        }
    }
}

/// One part of a multi-part message. Parts the core does not model pass through untouched.
package enum ContentPart: Sendable, Hashable {
    case text(String)
    case imageURL(url: String, detail: String?)
    case other(JSONValue)
}

extension ContentPart: Codable {
    private enum CodingKeys: String, CodingKey {
        case type, text
        case imageURL = "image_url"
    }

    private struct ImageURL: Codable {
        var url: String
        var detail: String?
    }

    package init(from decoder: any Decoder) throws {
        let raw = try JSONValue(from: decoder)
        guard case .object(let object) = raw, let type = object["type"]?.stringValue else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "content part needs a string `type`")
            )
        }
        switch type {
        case "text" where object.count == 2:
            guard let text = object["text"]?.stringValue else {
                throw DecodingError.dataCorrupted(
                    .init(codingPath: decoder.codingPath, debugDescription: "text part needs a string `text`")
                )
            }
            self = .text(text)
        case "image_url" where object.count == 2:
            if let url = object["image_url"]?["url"]?.stringValue, object["image_url"]?.objectValue?.count ?? 0 <= 2 {
                self = .imageURL(url: url, detail: object["image_url"]?["detail"]?.stringValue)
            } else if let url = object["image_url"]?.stringValue {
                self = .imageURL(url: url, detail: nil)
            } else {
                self = .other(raw)
            }
        default:
            self = .other(raw)
        }
    }

    package func encode(to encoder: any Encoder) throws {
        switch self {
        case .text(let text):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("text", forKey: .type)
            try container.encode(text, forKey: .text)
        case .imageURL(let url, let detail):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode("image_url", forKey: .type)
            try container.encode(ImageURL(url: url, detail: detail), forKey: .imageURL)
        case .other(let value):
            try value.encode(to: encoder)
        }
    }
}

/// A call the model made to one of the request's tools.
package struct ToolCall: Codable, Sendable, Hashable {
    package struct Function: Codable, Sendable, Hashable {
        package var name: String
        /// JSON text exactly as the model produced it; never re-serialized.
        package var arguments: String

        package init(name: String, arguments: String) {
            self.name = name
            self.arguments = arguments
        }
    }

    package var id: String
    package var type: String
    package var function: Function

    package init(id: String, type: String = "function", function: Function) {
        self.id = id
        self.type = type
        self.function = function
    }
}

/// One message of a conversation, OpenAI-shaped, with pass-through for fields the core does not model.
package struct ChatMessage: Sendable, Hashable {
    package var role: ChatRole
    package var content: MessageContent?
    package var name: String?
    package var toolCalls: [ToolCall]?
    package var toolCallID: String?
    package var refusal: String?
    /// Fields such as `reasoning_content`, `audio` or provider extensions, kept as they came.
    package var extra: [String: JSONValue]

    package init(
        role: ChatRole,
        content: MessageContent?,
        name: String? = nil,
        toolCalls: [ToolCall]? = nil,
        toolCallID: String? = nil,
        refusal: String? = nil,
        extra: [String: JSONValue] = [:]
    ) {
        self.role = role
        self.content = content
        self.name = name
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
        self.refusal = refusal
        self.extra = extra
    }
}

extension ChatMessage: Codable {
    private static let known: Set<String> = ["role", "content", "name", "tool_calls", "tool_call_id", "refusal"]

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.role = try container.decode(ChatRole.self, forKey: AnyCodingKey("role"))
        self.content = try container.decodeIfPresent(MessageContent.self, forKey: AnyCodingKey("content"))
        self.name = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("name"))
        self.toolCalls = try container.decodeIfPresent([ToolCall].self, forKey: AnyCodingKey("tool_calls"))
        self.toolCallID = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("tool_call_id"))
        self.refusal = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("refusal"))
        self.extra = try container.decodeExtras(excluding: Self.known)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(role, forKey: AnyCodingKey("role"))
        // OpenAI answers `"content": null` on tool-call turns; keep that shape.
        if let content {
            try container.encode(content, forKey: AnyCodingKey("content"))
        } else {
            try container.encodeNil(forKey: AnyCodingKey("content"))
        }
        try container.encodeIfPresent(name, forKey: AnyCodingKey("name"))
        try container.encodeIfPresent(toolCalls, forKey: AnyCodingKey("tool_calls"))
        try container.encodeIfPresent(toolCallID, forKey: AnyCodingKey("tool_call_id"))
        try container.encodeIfPresent(refusal, forKey: AnyCodingKey("refusal"))
        try container.encodeExtras(extra, excluding: Self.known)
    }
}

extension ChatMessage {
    /// The call id of the first tool answer among `messages` that answers no call made before
    /// it (in `earlier`, or in `messages` themselves); `nil` when every answer has its call.
    package static func unansweredToolOutput(in messages: [ChatMessage], after earlier: [ChatMessage] = []) -> String? {
        var calls = Set(earlier.flatMap { $0.toolCalls ?? [] }.map(\.id))
        for message in messages {
            for call in message.toolCalls ?? [] { calls.insert(call.id) }
            if message.role == .tool, let callID = message.toolCallID, !calls.contains(callID) { return callID }
        }
        return nil
    }
}
