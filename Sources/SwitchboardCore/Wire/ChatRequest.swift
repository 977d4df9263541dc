/// A tool the model may call.
package struct Tool: Codable, Sendable, Hashable {
    package struct Function: Codable, Sendable, Hashable {
        package var name: String
        package var description: String?
        package var parameters: JSONValue?
        package var strict: Bool?

        package init(name: String, description: String? = nil, parameters: JSONValue? = nil, strict: Bool? = nil) {
            self.name = name
            self.description = description
            self.parameters = parameters
            self.strict = strict
        }
    }

    package var type: String
    package var function: Function

    package init(type: String = "function", function: Function) {
        self.type = type
        self.function = function
    }
}

/// How the model may use tools: `auto`, `none`, `required`, or one named function.
package enum ToolChoice: Sendable, Hashable {
    case auto
    case none
    case required
    case function(name: String)
}

extension ToolChoice: Codable {
    private struct Named: Codable {
        struct Function: Codable { var name: String }
        var type: String
        var function: Function
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            switch string {
            case "auto": self = .auto
            case "none": self = .none
            case "required": self = .required
            default:
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "unknown tool_choice '\(string)'; expected auto, none, required or an object"
                )
            }
        } else {
            let named = try container.decode(Named.self)
            self = .function(name: named.function.name)
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .auto: try container.encode("auto")
        case .none: try container.encode("none")
        case .required: try container.encode("required")
        case .function(let name): try container.encode(Named(type: "function", function: .init(name: name)))
        }
    }
}

/// `stop`: one string or a list of them.
package struct StopSequences: Codable, Sendable, Hashable {
    package var values: [String]
    /// Whether the client sent a single string, so it is sent on the same way.
    package var wasSingle: Bool

    package init(_ values: [String]) {
        self.values = values
        self.wasSingle = false
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let single = try? container.decode(String.self) {
            self.values = [single]
            self.wasSingle = true
        } else {
            self.values = try container.decode([String].self)
            self.wasSingle = false
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if wasSingle, values.count == 1 {
            try container.encode(values[0])
        } else {
            try container.encode(values)
        }
    }
}

package struct StreamOptions: Codable, Sendable, Hashable {
    package var includeUsage: Bool?
    package var extra: [String: JSONValue]

    package init(includeUsage: Bool?) {
        self.includeUsage = includeUsage
        self.extra = [:]
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.includeUsage = try container.decodeIfPresent(Bool.self, forKey: AnyCodingKey("include_usage"))
        self.extra = try container.decodeExtras(excluding: ["include_usage"])
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encodeIfPresent(includeUsage, forKey: AnyCodingKey("include_usage"))
        try container.encodeExtras(extra, excluding: ["include_usage"])
    }
}

/// What a request carries for the gateway rather than for the model.
package struct GatewayExtensions: Sendable, Hashable {
    /// `conversation_id`: the stored conversation the call belongs to.
    package var conversationID: String?
    /// `parent_message_id`: the message the call answers, in that conversation's tree.
    package var parentMessageID: String?
    /// `metadata`: free-form, for the log and for routing (`metadata.category`).
    package var metadata: JSONValue?
    /// Anthropic's `thinking` and `top_k`, from a Messages-API client: honoured by Anthropic
    /// targets, not sent to others.
    package var anthropicThinking: JSONValue?
    package var anthropicTopK: Int?
    /// `cache`: the response-cache controls of this request.
    package var cache: CacheControls?
    /// `message`: one new user message (a string, or a message object) instead of `messages`,
    /// for a stored conversation to answer.
    package var message: ChatMessage?
    /// What the call asks of its stored conversation; set by the front door.
    package var conversation: ConversationTurn?
    /// A Responses-API call: what its answer echoes of the request; set by the front door.
    package var responses: JSONValue?
    /// A Responses-API call as an upstream serving `/v1/responses` itself takes it.
    package var nativeResponses: NativeResponses?

    package init(
        conversationID: String? = nil, parentMessageID: String? = nil, metadata: JSONValue? = nil,
        anthropicThinking: JSONValue? = nil, anthropicTopK: Int? = nil
    ) {
        self.conversationID = conversationID
        self.parentMessageID = parentMessageID
        self.metadata = metadata
        self.anthropicThinking = anthropicThinking
        self.anthropicTopK = anthropicTopK
    }

    /// The routing category the client named in `metadata.category`.
    package var category: String? { metadata?["category"]?.stringValue }
}

/// The core chat request. OpenAI-shaped; every inbound API decodes into it and every provider
/// adapter translates from it. Fields the core does not model are kept in ``extra`` and passed on.
package struct ChatRequest: Sendable, Hashable {
    package var model: String
    package var messages: [ChatMessage]
    package var stream: Bool
    package var streamOptions: StreamOptions?
    package var temperature: Double?
    package var topP: Double?
    package var maxTokens: Int?
    package var maxCompletionTokens: Int?
    package var n: Int?
    package var stop: StopSequences?
    package var seed: Int?
    package var tools: [Tool]?
    package var toolChoice: ToolChoice?
    package var responseFormat: JSONValue?
    package var user: String?
    /// Fields for the gateway itself (`conversation_id`, `parent_message_id`, `metadata`, and
    /// what another front door carried along): never sent upstream as they are.
    package var gatewayExtensions: GatewayExtensions
    /// Everything else the client sent (`logprobs`, `presence_penalty`, vendor fields, ...).
    package var extra: [String: JSONValue]

    package init(
        model: String,
        messages: [ChatMessage],
        stream: Bool = false,
        streamOptions: StreamOptions? = nil,
        temperature: Double? = nil,
        topP: Double? = nil,
        maxTokens: Int? = nil,
        maxCompletionTokens: Int? = nil,
        n: Int? = nil,
        stop: StopSequences? = nil,
        seed: Int? = nil,
        tools: [Tool]? = nil,
        toolChoice: ToolChoice? = nil,
        responseFormat: JSONValue? = nil,
        user: String? = nil,
        gatewayExtensions: GatewayExtensions = GatewayExtensions(),
        extra: [String: JSONValue] = [:]
    ) {
        self.model = model
        self.messages = messages
        self.stream = stream
        self.streamOptions = streamOptions
        self.temperature = temperature
        self.topP = topP
        self.maxTokens = maxTokens
        self.maxCompletionTokens = maxCompletionTokens
        self.n = n
        self.stop = stop
        self.seed = seed
        self.tools = tools
        self.toolChoice = toolChoice
        self.responseFormat = responseFormat
        self.user = user
        self.gatewayExtensions = gatewayExtensions
        self.extra = extra
    }

    /// The most output tokens the client allowed, whichever field it used.
    package var outputTokenLimit: Int? { maxCompletionTokens ?? maxTokens }

    /// How many answers the provider may generate (and bill) for this request: `n`, or a
    /// pass-through `best_of` when it is larger.
    package var choiceCount: Int {
        let bestOf = extra["best_of"]?.intValue ?? 1
        return max(1, n ?? 1, bestOf)
    }
}

/// `message`: a string (the user's text) or a whole message object.
private struct NewMessage: Decodable {
    var message: ChatMessage

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            message = ChatMessage(role: .user, content: .text(text))
        } else {
            message = try container.decode(ChatMessage.self)
        }
    }
}

extension ChatRequest: Codable {
    static let gatewayKeys: Set<String> = ["conversation_id", "parent_message_id", "metadata", "cache", "message"]
    private static let known: Set<String> = [
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "max_tokens",
        "max_completion_tokens", "n", "stop", "seed", "tools", "tool_choice", "response_format", "user",
    ]
    /// Everything that is not an unknown pass-through field (computed once, not per request).
    private static let notExtra = known.union(gatewayKeys)

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        func key(_ name: String) -> AnyCodingKey { AnyCodingKey(name) }
        // A missing model is allowed here: routing categories may choose one. The front door
        // rejects an empty model that no category resolved.
        self.model = try container.decodeIfPresent(String.self, forKey: key("model")) ?? ""
        // `message` alone (a stored conversation's next turn) stands in for `messages`.
        let message = try container.decodeIfPresent(NewMessage.self, forKey: key("message"))?.message
        if message == nil || container.contains(key("messages")) {
            self.messages = try container.decode([ChatMessage].self, forKey: key("messages"))
        } else {
            self.messages = []
        }
        self.stream = try container.decodeIfPresent(Bool.self, forKey: key("stream")) ?? false
        self.streamOptions = try container.decodeIfPresent(StreamOptions.self, forKey: key("stream_options"))
        self.temperature = try container.decodeIfPresent(Double.self, forKey: key("temperature"))
        self.topP = try container.decodeIfPresent(Double.self, forKey: key("top_p"))
        self.maxTokens = try container.decodeIfPresent(Int.self, forKey: key("max_tokens"))
        self.maxCompletionTokens = try container.decodeIfPresent(Int.self, forKey: key("max_completion_tokens"))
        self.n = try container.decodeIfPresent(Int.self, forKey: key("n"))
        self.stop = try container.decodeIfPresent(StopSequences.self, forKey: key("stop"))
        self.seed = try container.decodeIfPresent(Int.self, forKey: key("seed"))
        self.tools = try container.decodeIfPresent([Tool].self, forKey: key("tools"))
        self.toolChoice = try container.decodeIfPresent(ToolChoice.self, forKey: key("tool_choice"))
        self.responseFormat = try container.decodeIfPresent(JSONValue.self, forKey: key("response_format"))
        self.user = try container.decodeIfPresent(String.self, forKey: key("user"))
        self.gatewayExtensions = GatewayExtensions(
            conversationID: try container.decodeIfPresent(String.self, forKey: key("conversation_id")),
            parentMessageID: try container.decodeIfPresent(String.self, forKey: key("parent_message_id")),
            metadata: try container.decodeIfPresent(JSONValue.self, forKey: key("metadata"))
        )
        self.gatewayExtensions.cache = try container.decodeIfPresent(CacheControls.self, forKey: key("cache"))
        self.gatewayExtensions.message = message
        self.extra = try container.decodeExtras(excluding: Self.notExtra)
    }

    /// Encodes the request as it goes upstream to an OpenAI-compatible API (gateway extensions left out).
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        func key(_ name: String) -> AnyCodingKey { AnyCodingKey(name) }
        try container.encode(model, forKey: key("model"))
        try container.encode(messages, forKey: key("messages"))
        if stream { try container.encode(true, forKey: key("stream")) }
        try container.encodeIfPresent(streamOptions, forKey: key("stream_options"))
        try container.encodeIfPresent(temperature, forKey: key("temperature"))
        try container.encodeIfPresent(topP, forKey: key("top_p"))
        try container.encodeIfPresent(maxTokens, forKey: key("max_tokens"))
        try container.encodeIfPresent(maxCompletionTokens, forKey: key("max_completion_tokens"))
        try container.encodeIfPresent(n, forKey: key("n"))
        try container.encodeIfPresent(stop, forKey: key("stop"))
        try container.encodeIfPresent(seed, forKey: key("seed"))
        try container.encodeIfPresent(tools, forKey: key("tools"))
        try container.encodeIfPresent(toolChoice, forKey: key("tool_choice"))
        try container.encodeIfPresent(responseFormat, forKey: key("response_format"))
        try container.encodeIfPresent(user, forKey: key("user"))
        try container.encodeExtras(extra, excluding: Self.notExtra)
    }
}

extension ChatRequest {
    /// Which of the named fields (OpenAI names) this request actually uses: `n` only above 1,
    /// `response_format` only other than text, `logprobs` only when true.
    package func parametersSet(among names: [String]) -> [String] {
        names.filter { name in
            switch name {
            case "n": return (n ?? 1) > 1
            case "seed": return seed != nil
            case "stop": return stop != nil
            case "response_format": return responseFormat.map { $0["type"]?.stringValue != "text" } ?? false
            case "logprobs": return extra[name] != nil && extra[name] != .bool(false)
            default: return extra[name] != nil
            }
        }
    }

    /// The request without the named fields (OpenAI names), for providers that cannot honour them.
    package func removing(parameters: [String]) -> ChatRequest {
        var copy = self
        for name in parameters {
            switch name {
            case "n": copy.n = nil
            case "seed": copy.seed = nil
            case "stop": copy.stop = nil
            case "temperature": copy.temperature = nil
            case "top_p": copy.topP = nil
            case "response_format": copy.responseFormat = nil
            case "tools": copy.tools = nil
            case "tool_choice": copy.toolChoice = nil
            case "user": copy.user = nil
            default: copy.extra[name] = nil
            }
        }
        return copy
    }
}
