/// What stages learned that the front door passes on (as headers, for HTTP front doors).
package struct CallNotes: Sendable, Hashable {
    /// The tightest rate limit that applied: `X-RateLimit-*`.
    package var rateLimit: RateLimitStatus?
    /// What the response cache did: `X-Switchboard-Cache`, `-Key`, `Age`.
    package var cache: CacheNote?
    /// Where the answer went in its stored conversation: `X-Switchboard-Conversation-Id` and friends.
    package var conversation: ConversationNote?

    package init(rateLimit: RateLimitStatus? = nil, cache: CacheNote? = nil, conversation: ConversationNote? = nil) {
        self.rateLimit = rateLimit
        self.cache = cache
        self.conversation = conversation
    }

    /// Takes what `other` knows, keeping what this one already has.
    mutating func merge(_ other: CallNotes) {
        if rateLimit == nil { rateLimit = other.rateLimit }
        if cache == nil { cache = other.cache }
        if conversation == nil { conversation = other.conversation }
    }
}

/// A served, non-streamed chat answer.
package struct ChatAnswer: Sendable {
    package var response: ChatResponse
    package var servedBy: ServedBy
    /// The provider's usage, or an estimate when it reported none.
    package var usage: Usage
    package var usageEstimated: Bool
    package var cost: Double?
    package var notes: CallNotes
}

/// A served embeddings answer.
package struct EmbeddingsAnswer: Sendable {
    package var response: EmbeddingsResponse
    package var servedBy: ServedBy
    package var cost: Double?
    package var notes: CallNotes
}

/// A prompt's token count.
package struct TokenCountAnswer: Sendable {
    package var inputTokens: Int
    /// Counted by the gateway, because the provider cannot count.
    package var estimated: Bool
    package var servedBy: ServedBy
    package var notes: CallNotes
}
