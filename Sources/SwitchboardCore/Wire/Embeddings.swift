/// `input` of an embeddings request: one string, many strings, or token arrays.
public enum EmbeddingsInput: Sendable, Hashable {
    case text(String)
    case texts([String])
    case tokens([Int])
    case tokenBatches([[Int]])

    public var count: Int {
        switch self {
        case .text, .tokens: return 1
        case .texts(let texts): return texts.count
        case .tokenBatches(let batches): return batches.count
        }
    }

    /// Roughly how many tokens the input holds (token arrays are counted exactly).
    public var estimatedTokens: Int {
        switch self {
        case .text(let text): return TokenEstimator.estimate(text)
        case .texts(let texts): return texts.reduce(0) { $0 + TokenEstimator.estimate($1) }
        case .tokens(let tokens): return tokens.count
        case .tokenBatches(let batches): return batches.reduce(0) { $0 + $1.count }
        }
    }

    /// The inputs as strings, for providers that only take text.
    public var texts: [String]? {
        switch self {
        case .text(let text): return [text]
        case .texts(let texts): return texts
        case .tokens, .tokenBatches: return nil
        }
    }
}

extension EmbeddingsInput: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .text(text)
        } else if let texts = try? container.decode([String].self) {
            self = .texts(texts)
        } else if let tokens = try? container.decode([Int].self) {
            self = .tokens(tokens)
        } else if let batches = try? container.decode([[Int]].self) {
            self = .tokenBatches(batches)
        } else {
            throw DecodingError.typeMismatch(
                String.self,
                .init(
                    codingPath: decoder.codingPath,
                    debugDescription: "must be a string, an array of strings, or an array of token arrays"
                )
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let value): try container.encode(value)
        case .texts(let value): try container.encode(value)
        case .tokens(let value): try container.encode(value)
        case .tokenBatches(let value): try container.encode(value)
        }
    }
}

/// The core embeddings request (OpenAI-shaped).
public struct EmbeddingsRequest: Sendable, Hashable {
    public var model: String
    public var input: EmbeddingsInput
    public var encodingFormat: String?
    public var dimensions: Int?
    public var user: String?
    public var extra: [String: JSONValue]

    public init(
        model: String,
        input: EmbeddingsInput,
        encodingFormat: String? = nil,
        dimensions: Int? = nil,
        user: String? = nil,
        extra: [String: JSONValue] = [:]
    ) {
        self.model = model
        self.input = input
        self.encodingFormat = encodingFormat
        self.dimensions = dimensions
        self.user = user
        self.extra = extra
    }
}

extension EmbeddingsRequest: Codable {
    private static let known: Set<String> = ["model", "input", "encoding_format", "dimensions", "user"]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.model = try container.decode(String.self, forKey: AnyCodingKey("model"))
        self.input = try container.decode(EmbeddingsInput.self, forKey: AnyCodingKey("input"))
        self.encodingFormat = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("encoding_format"))
        self.dimensions = try container.decodeIfPresent(Int.self, forKey: AnyCodingKey("dimensions"))
        self.user = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("user"))
        self.extra = try container.decodeExtras(excluding: Self.known)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(model, forKey: AnyCodingKey("model"))
        try container.encode(input, forKey: AnyCodingKey("input"))
        try container.encodeIfPresent(encodingFormat, forKey: AnyCodingKey("encoding_format"))
        try container.encodeIfPresent(dimensions, forKey: AnyCodingKey("dimensions"))
        try container.encodeIfPresent(user, forKey: AnyCodingKey("user"))
        try container.encodeExtras(extra, excluding: Self.known)
    }
}

/// One vector, as floats or as the base64 string OpenAI sends for `encoding_format: base64`.
public enum EmbeddingVector: Sendable, Hashable {
    case floats([Double])
    case base64(String)
}

extension EmbeddingVector: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            self = .base64(string)
        } else {
            self = .floats(try container.decode([Double].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .floats(let values): try container.encode(values)
        case .base64(let string): try container.encode(string)
        }
    }
}

public struct EmbeddingsResponse: Codable, Sendable, Hashable {
    public struct Item: Codable, Sendable, Hashable {
        public var object: String
        public var index: Int
        public var embedding: EmbeddingVector

        public init(object: String = "embedding", index: Int, embedding: EmbeddingVector) {
            self.object = object
            self.index = index
            self.embedding = embedding
        }
    }

    public struct EmbeddingsUsage: Codable, Sendable, Hashable {
        public var promptTokens: Int
        public var totalTokens: Int

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case totalTokens = "total_tokens"
        }

        public init(promptTokens: Int, totalTokens: Int) {
            self.promptTokens = promptTokens
            self.totalTokens = totalTokens
        }
    }

    public var object: String
    public var data: [Item]
    public var model: String
    public var usage: EmbeddingsUsage?

    public init(object: String = "list", data: [Item], model: String, usage: EmbeddingsUsage?) {
        self.object = object
        self.data = data
        self.model = model
        self.usage = usage
    }
}

/// An entry of `GET /v1/models`.
public struct ModelInfo: Codable, Sendable, Hashable {
    public var id: String
    public var object: String
    public var created: Int
    public var ownedBy: String

    enum CodingKeys: String, CodingKey {
        case id, object, created
        case ownedBy = "owned_by"
    }

    public init(id: String, created: Int, ownedBy: String) {
        self.id = id
        self.object = "model"
        self.created = created
        self.ownedBy = ownedBy
    }
}

public struct ModelList: Codable, Sendable, Hashable {
    public var object: String
    public var data: [ModelInfo]

    public init(data: [ModelInfo]) {
        self.object = "list"
        self.data = data
    }
}
