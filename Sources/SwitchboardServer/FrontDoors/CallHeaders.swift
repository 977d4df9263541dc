import HTTPTypes
import SwitchboardCore

/// The headers every proxied answer carries, whichever front door wrote it.
enum CallHeaders {
    /// `X-Switchboard-Provider/Model/Latency-Ms/Overhead-Ms/Attempts` (and dropped parameters).
    static func routing(_ headers: inout HTTPFields, servedBy: ServedBy, elapsed: Duration) {
        headers[.switchboardProvider] = servedBy.provider
        headers[.switchboardModel] = servedBy.model
        headers[.switchboardLatency] = formatMilliseconds(elapsed.milliseconds)
        headers[.switchboardOverhead] = formatMilliseconds(max(0, (elapsed - servedBy.upstreamDuration).milliseconds))
        headers[.switchboardAttempts] = String(servedBy.attempts)
        if !servedBy.droppedParameters.isEmpty {
            headers[.switchboardDroppedParams] = servedBy.droppedParameters.joined(separator: ",")
        }
    }

    /// A non-streamed answer's headers: routing, `X-Cost-USD` when priced, rate limits, cache.
    static func served(_ headers: inout HTTPFields, servedBy: ServedBy, cost: Double?, notes: CallNotes, elapsed: Duration) {
        routing(&headers, servedBy: servedBy, elapsed: elapsed)
        if let cost { headers[.costUSD] = formatCost(cost) }
        rateLimit(&headers, notes.rateLimit)
        cache(&headers, notes.cache)
        conversation(&headers, notes.conversation)
    }

    /// `X-Switchboard-Conversation-Id`, `X-Switchboard-Message-Id` (the answer's) and, when old
    /// turns were left out of the context, `X-Switchboard-Context-Dropped`.
    static func conversation(_ headers: inout HTTPFields, _ note: ConversationNote?) {
        guard let note else { return }
        headers[.switchboardConversationID] = note.conversationID
        headers[.switchboardMessageID] = note.messageID
        if note.droppedMessages > 0 { headers[.switchboardContextDropped] = String(note.droppedMessages) }
    }

    /// `X-Switchboard-Cache`, `X-Switchboard-Cache-Key`, on a hit `Age`, and on a semantic hit
    /// `X-Switchboard-Cache-Similarity`.
    static func cache(_ headers: inout HTTPFields, _ note: CacheNote?) {
        guard let note else { return }
        headers[.switchboardCache] = note.status.rawValue
        if let key = note.key { headers[.switchboardCacheKey] = key }
        if note.isHit, let age = note.ageSeconds { headers[.age] = String(age) }
        if let similarity = note.similarity { headers[.switchboardCacheSimilarity] = String(similarity) }
    }

    /// The request's `Cache-Control`, for the response cache.
    static func cacheControls(_ headers: HTTPFields) -> CacheControls? {
        let values = headers[values: .cacheControl]
        guard !values.isEmpty else { return nil }
        return CacheControls(header: values.joined(separator: ","))
    }

    static func served(_ headers: inout HTTPFields, answer: ChatAnswer, elapsed: Duration) {
        served(&headers, servedBy: answer.servedBy, cost: answer.cost, notes: answer.notes, elapsed: elapsed)
    }

    /// `X-RateLimit-*` from the tightest limit that applied.
    static func rateLimit(_ headers: inout HTTPFields, _ status: RateLimitStatus?) {
        guard let status else { return }
        headers[.rateLimitLimit] = String(status.limit)
        headers[.rateLimitRemaining] = String(status.remaining)
        headers[.rateLimitResetMs] = String(status.resetMilliseconds)
        if let tokens = status.tokenLimit, let remaining = status.tokensRemaining {
            headers[.rateLimitLimitTokens] = String(tokens)
            headers[.rateLimitRemainingTokens] = String(remaining)
        }
    }

    static func formatMilliseconds(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// `X-Cost-USD`: dollars with up to eight decimals, no exponent.
    static func formatCost(_ value: Double) -> String {
        let scaled = Int64((value * 100_000_000).rounded())
        let fraction = String(scaled % 100_000_000)
        var text = "\(scaled / 100_000_000)." + String(repeating: "0", count: 8 - fraction.count) + fraction
        while text.hasSuffix("0"), !text.hasSuffix(".0") { text.removeLast() }
        return text
    }
}
