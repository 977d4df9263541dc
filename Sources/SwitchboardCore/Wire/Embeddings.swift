/// `input` of an embeddings request: one string, many strings, or token arrays.
package enum EmbeddingsInput: Sendable, Hashable {
    case text(String)
    case texts([String])
    case tokens([Int])
    case tokenBatches([[Int]])

    package var count: Int {
        switch self {
        case .text, .tokens: return 1
        case .texts(let texts): return texts.count
        case .tokenBatches(let batches): return batches.count
        }
    }

    /// Roughly how many tokens the input holds (token arrays are counted exactly).
    package var estimatedTokens: Int {
        switch self {
        case .text(let text): return TokenEstimator.estimate(text)
        case .texts(let texts): return texts.reduce(0) { $0 + TokenEstimator.estimate($1) }
        case .tokens(let tokens): return tokens.count
        case .tokenBatches(let batches): return batches.reduce(0) { $0 + $1.count }
        }
    }

    /// The inputs as strings, for providers that only take text.
    package var texts: [String]? {
        switch self {
        case .text(let text): return [text]
        case .texts(let texts): return texts
        case .tokens, .tokenBatches: return nil
        }
    }
}

extension EmbeddingsInput: Codable {
    package init(from decoder: any Decoder) throws {
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

    package func encode(to encoder: any Encoder) throws {
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
package struct EmbeddingsRequest: Sendable, Hashable {
    package var model: String
    package var input: EmbeddingsInput
    package var encodingFormat: String?
    package var dimensions: Int?
    package var user: String?
    package var extra: [String: JSONValue]

    package init(
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

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        self.model = try container.decode(String.self, forKey: AnyCodingKey("model"))
        self.input = try container.decode(EmbeddingsInput.self, forKey: AnyCodingKey("input"))
        self.encodingFormat = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("encoding_format"))
        self.dimensions = try container.decodeIfPresent(Int.self, forKey: AnyCodingKey("dimensions"))
        self.user = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("user"))
        self.extra = try container.decodeExtras(excluding: Self.known)
    }

    package func encode(to encoder: any Encoder) throws {
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
package enum EmbeddingVector: Sendable, Hashable {
    case floats([Double])
    case base64(String)
}

extension EmbeddingVector: Codable {
    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            self = .base64(string)
        } else {
            self = .floats(try container.decode([Double].self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .floats(let values): try container.encode(values)
        case .base64(let string): try container.encode(string)
        }
    }
}

package struct EmbeddingsResponse: Codable, Sendable, Hashable {
    package struct Item: Codable, Sendable, Hashable {
        package var object: String
        package var index: Int
        package var embedding: EmbeddingVector

        package init(object: String = "embedding", index: Int, embedding: EmbeddingVector) {
            self.object = object
            self.index = index
            self.embedding = embedding
        }
    }

    package struct EmbeddingsUsage: Codable, Sendable, Hashable {
        package var promptTokens: Int
        package var totalTokens: Int

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case totalTokens = "total_tokens"
        }

        package init(promptTokens: Int, totalTokens: Int) {
            self.promptTokens = promptTokens
            self.totalTokens = totalTokens
        }
    }

    package var object: String
    package var data: [Item]
    package var model: String
    package var usage: EmbeddingsUsage?

    package init(object: String = "list", data: [Item], model: String, usage: EmbeddingsUsage?) {
        self.object = object
        self.data = data
        self.model = model
        self.usage = usage
    }
}
