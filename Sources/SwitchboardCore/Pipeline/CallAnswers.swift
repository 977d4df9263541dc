/// What stages learned that the front door passes on (as headers, for HTTP front doors).
public struct CallNotes: Sendable, Hashable {
    /// The tightest rate limit that applied: `X-RateLimit-*`.
    public var rateLimit: RateLimitStatus?

    public init(rateLimit: RateLimitStatus? = nil) {
        self.rateLimit = rateLimit
    }

    /// Takes what `other` knows, keeping what this one already has.
    mutating func merge(_ other: CallNotes) {
        if rateLimit == nil { rateLimit = other.rateLimit }
    }
}

/// A served, non-streamed chat answer.
public struct ChatAnswer: Sendable {
    public var response: ChatResponse
    public var servedBy: ServedBy
    /// The provider's usage, or an estimate when it reported none.
    public var usage: Usage
    public var usageEstimated: Bool
    public var cost: Double?
    public var notes: CallNotes
}

/// A served embeddings answer.
public struct EmbeddingsAnswer: Sendable {
    public var response: EmbeddingsResponse
    public var servedBy: ServedBy
    public var cost: Double?
    public var notes: CallNotes
}

/// A prompt's token count.
public struct TokenCountAnswer: Sendable {
    public var inputTokens: Int
    /// Counted by the gateway, because the provider cannot count.
    public var estimated: Bool
    public var servedBy: ServedBy
    public var notes: CallNotes
}
