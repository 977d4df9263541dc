/// One finished request, as written to the usage ledger and request log.
package struct RequestRecord: Sendable, Hashable {
    package var requestID: String
    /// Seconds since 1970.
    package var timestamp: Double
    package var principal: String
    package var endpoint: String
    package var modelRequested: String
    package var provider: String?
    package var modelServed: String?
    package var status: Int
    package var errorCode: String?
    package var promptTokens: Int
    package var completionTokens: Int
    /// The token counts were estimated (stream cut short, or the provider reported none).
    package var usageEstimated: Bool
    package var latencyMilliseconds: Double
    package var upstreamMilliseconds: Double
    package var attempts: Int
    package var stream: Bool
    /// What the call cost at the price table's rates, when the model has a price.
    package var costUSD: Double?
    /// The virtual key, user and team the call is booked to.
    package var keyID: String?
    package var userID: String?
    package var team: String?
    package var cachedTokens: Int = 0
    package var reasoningTokens: Int = 0
    /// Answered from the response cache.
    package var cacheHit = false
    /// What a cache hit saved: the original call's cost.
    package var costSavedUSD: Double?
    /// Bodies as received and answered, for `request_log.mode: bodies`; redacted and cut
    /// to the preview length by the writer before they are stored.
    package var requestBody: String?
    package var responseBody: String?
    /// The keys that made the calling key: its spend is booked to them too (not stored in the log).
    package var makerKeyIDs: [String] = []

    package init(
        requestID: String,
        timestamp: Double,
        principal: String,
        endpoint: String,
        modelRequested: String,
        provider: String? = nil,
        modelServed: String? = nil,
        status: Int,
        errorCode: String? = nil,
        promptTokens: Int = 0,
        completionTokens: Int = 0,
        usageEstimated: Bool = false,
        latencyMilliseconds: Double,
        upstreamMilliseconds: Double = 0,
        attempts: Int = 0,
        stream: Bool = false,
        costUSD: Double? = nil
    ) {
        self.requestID = requestID
        self.timestamp = timestamp
        self.principal = principal
        self.endpoint = endpoint
        self.modelRequested = modelRequested
        self.provider = provider
        self.modelServed = modelServed
        self.status = status
        self.errorCode = errorCode
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.usageEstimated = usageEstimated
        self.latencyMilliseconds = latencyMilliseconds
        self.upstreamMilliseconds = upstreamMilliseconds
        self.attempts = attempts
        self.stream = stream
        self.costUSD = costUSD
    }

    package var overheadMilliseconds: Double { max(0, latencyMilliseconds - upstreamMilliseconds) }

    /// A row that carries spend or usage (a served call, or a stream cut short after it cost
    /// something): never shed, whatever the log mode.
    package var isSpend: Bool {
        status == 200 || (costUSD ?? 0) > 0 || promptTokens + completionTokens > 0
    }

    /// The spend-table scopes this row's cost is added to.
    package var spendScopes: [String] {
        var scopes: [String] = []
        if let keyID { scopes.append("key:\(keyID)") }
        scopes += makerKeyIDs.map { "key:\($0)" }
        if let userID { scopes.append("user:\(userID)") }
        return scopes
    }

    /// Books the row to a principal.
    package mutating func attribute(to principal: Principal) {
        self.principal = principal.id
        self.keyID = principal.keyID
        self.userID = principal.userID
        self.team = principal.team
        self.makerKeyIDs = principal.makerKeyIDs
    }
}

/// Where finished requests go. `record` must not block: implementations enqueue and write later.
package protocol RequestRecordSink: Sendable {
    func record(_ record: RequestRecord)
}

/// Keeps records in memory; for tests and for `request_log.mode: off` setups that still want counts.
package final class MemoryRecordSink: RequestRecordSink {
    private let storage = LockedValue<[RequestRecord]>([])

    package init() {}

    package func record(_ record: RequestRecord) {
        storage.withLock { $0.append(record) }
    }

    package var records: [RequestRecord] { storage.withLock { $0 } }
}
