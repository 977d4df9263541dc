import SwitchboardCore

/// A field that is always in the JSON: its value, or `null` (synthesized `Encodable` would
/// leave a `nil` optional out).
@propertyWrapper
struct Nullable<Value: Encodable & Sendable>: Encodable, Sendable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

/// Seconds since 1970 as an ISO 8601 UTC time (`2026-12-02T13:04:05Z`).
struct Timestamp: Encodable, Sendable, Hashable {
    var seconds: Double

    init(_ seconds: Double) {
        self.seconds = seconds
    }

    init?(_ seconds: Double?) {
        guard let seconds else { return nil }
        self.seconds = seconds
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(CivilDate.isoTimestamp(seconds))
    }
}

/// `{"object":"list","data":[…]}`
struct ListView<Item: Encodable & Sendable>: Encodable, Sendable {
    var object = "list"
    var data: [Item]
}

/// A virtual key as the admin and `me` endpoints show it: never its secret or hash.
struct KeyView: Encodable, Sendable {
    var id: String
    var object = "api_key"
    var name: String
    var prefix: String
    @Nullable var userID: String?
    @Nullable var team: String?
    var role: String
    var models: [String]
    @Nullable var rpm: Int?
    @Nullable var tpm: Int?
    @Nullable var maxBudgetUSD: Double?
    var budgetPeriod: String
    @Nullable var expiresAt: Timestamp?
    var metadata: [String: JSONValue]
    var createdAt: Timestamp
    @Nullable var revokedAt: Timestamp?
    @Nullable var createdBy: String?
    /// The key's own cache settings (`enabled`, `ttl_s`, `scope`), or `null`.
    @Nullable var cache: KeyCacheSettings?
    /// `active`, `revoked` or `expired`.
    var status: String
    /// The secret: in the answer that created the key, and never again.
    var key: String?
    /// With `GET /admin/keys/{id}`: the key's spend in its budget period.
    var spend: SpendView?
    /// With `DELETE /admin/keys/{id}`: how many keys it made were revoked with it.
    var mintedKeysRevoked: Int?

    enum CodingKeys: String, CodingKey {
        case id, object, name, prefix, team, role, models, rpm, tpm, metadata, status, key, spend, cache
        case userID = "user_id"
        case maxBudgetUSD = "max_budget_usd"
        case budgetPeriod = "budget_period"
        case expiresAt = "expires_at"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
        case createdBy = "created_by"
        case mintedKeysRevoked = "minted_keys_revoked"
    }

    init(_ key: VirtualKey, now: Double) {
        self.id = key.id
        self.name = key.name
        self.prefix = key.prefix
        self.userID = key.userID
        self.team = key.team
        self.role = key.role.rawValue
        self.models = key.models
        self.rpm = key.rpm
        self.tpm = key.tpm
        self.maxBudgetUSD = key.maxBudgetUSD
        self.budgetPeriod = key.budgetPeriod.rawValue
        self.expiresAt = Timestamp(key.expiresAt)
        self.metadata = key.metadata
        self.createdAt = Timestamp(key.createdAt)
        self.revokedAt = Timestamp(key.revokedAt)
        self.createdBy = key.createdBy
        self.cache = key.cache
        if key.revokedAt != nil {
            status = "revoked"
        } else if let expires = key.expiresAt, expires <= now {
            status = "expired"
        } else {
            status = "active"
        }
    }
}

/// A key's spend: its budget's standing, or just what it spent when it has no budget.
enum SpendView: Encodable, Sendable {
    case budget(BalanceView)
    case unbudgeted(spentUSD: Double, period: BudgetPeriod)

    enum CodingKeys: String, CodingKey {
        case spentUSD = "spent_usd"
        case budgetPeriod = "budget_period"
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .budget(let balance):
            try balance.encode(to: encoder)
        case .unbudgeted(let spent, let period):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(spent, forKey: .spentUSD)
            try container.encode(period.rawValue, forKey: .budgetPeriod)
        }
    }
}

struct UserLimitsView: Encodable, Sendable {
    var userID: String
    @Nullable var rpm: Int?
    @Nullable var tpm: Int?
    @Nullable var maxBudgetUSD: Double?
    var budgetPeriod: String
    var updatedAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case rpm, tpm
        case userID = "user_id"
        case maxBudgetUSD = "max_budget_usd"
        case budgetPeriod = "budget_period"
        case updatedAt = "updated_at"
    }

    init(_ limits: UserLimits) {
        self.userID = limits.userID
        self.rpm = limits.rpm
        self.tpm = limits.tpm
        self.maxBudgetUSD = limits.maxBudgetUSD
        self.budgetPeriod = limits.budgetPeriod.rawValue
        self.updatedAt = Timestamp(limits.updatedAt)
    }
}

/// `GET /admin/users/{id}`.
struct UserView: Encodable, Sendable {
    var userID: String
    @Nullable var limits: UserLimitsView?
    var spentUSD: Double
    var budgetPeriod: String
    var keys: [KeyView]

    enum CodingKeys: String, CodingKey {
        case limits, keys
        case userID = "user_id"
        case spentUSD = "spent_usd"
        case budgetPeriod = "budget_period"
    }
}

/// One budget's standing.
struct BalanceView: Encodable, Sendable {
    var scope: String
    var maxBudgetUSD: Double
    var spentUSD: Double
    var reservedUSD: Double
    var remainingUSD: Double
    var budgetPeriod: String
    @Nullable var resetsAt: Timestamp?

    enum CodingKeys: String, CodingKey {
        case scope
        case maxBudgetUSD = "max_budget_usd"
        case spentUSD = "spent_usd"
        case reservedUSD = "reserved_usd"
        case remainingUSD = "remaining_usd"
        case budgetPeriod = "budget_period"
        case resetsAt = "resets_at"
    }

    init(scope: String, _ balance: BudgetBook.Balance) {
        self.scope = scope
        self.maxBudgetUSD = balance.maxUSD
        self.spentUSD = balance.spentUSD
        self.reservedUSD = balance.reservedUSD
        self.remainingUSD = balance.remainingUSD
        self.budgetPeriod = balance.period.rawValue
        self.resetsAt = Timestamp(balance.resetsAt)
    }
}

/// `GET /v1/users/me/balance`.
struct BalancesView: Encodable, Sendable {
    var object = "balance"
    var unlimited: Bool
    @Nullable var remainingUSD: Double?
    var budgets: [BalanceView]

    enum CodingKeys: String, CodingKey {
        case object, unlimited, budgets
        case remainingUSD = "remaining_usd"
    }
}

/// Totals for a group of calls (or for all of them).
struct UsageRowView: Encodable, Sendable {
    var group: String?
    var requests: Int
    var errors: Int
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int
    var costUSD: Double

    enum CodingKeys: String, CodingKey {
        case group, requests, errors
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
        case costUSD = "cost_usd"
    }

    init(_ row: UsageRow) {
        self.group = row.group
        self.requests = row.requests
        self.errors = row.errors
        self.promptTokens = row.promptTokens
        self.completionTokens = row.completionTokens
        self.totalTokens = row.promptTokens + row.completionTokens
        self.costUSD = row.costUSD
    }
}

/// `GET /api/v1/usage` and `/v1/users/me/usage`.
struct UsageReportView: Encodable, Sendable {
    var object = "list"
    @Nullable var groupBy: String?
    @Nullable var from: Timestamp?
    @Nullable var to: Timestamp?
    var data: [UsageRowView]
    @Nullable var total: UsageRowView?

    enum CodingKeys: String, CodingKey {
        case object, from, to, data, total
        case groupBy = "group_by"
    }
}

/// `GET /api/v1/usage/costs`.
struct CostRowsView: Encodable, Sendable {
    struct Row: Encodable, Sendable {
        var group: String?
        var costUSD: Double
        var requests: Int

        enum CodingKeys: String, CodingKey {
            case group, requests
            case costUSD = "cost_usd"
        }
    }

    var object = "list"
    @Nullable var groupBy: String?
    var data: [Row]
    var totalUSD: Double

    enum CodingKeys: String, CodingKey {
        case object, data
        case groupBy = "group_by"
        case totalUSD = "total_usd"
    }
}

/// `GET /api/costs` and `/api/costs/{key}` (the seed's shape).
struct CostReportView: Encodable, Sendable {
    var totalUSD: Double
    var requests: Int
    var promptTokens: Int
    var completionTokens: Int
    var byModel: [UsageRowView]
    var byKey: [UsageRowView]
    /// With `/api/costs/{key}`.
    var keyID: String?
    var name: String?

    enum CodingKeys: String, CodingKey {
        case requests, name
        case totalUSD = "total_usd"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case byModel = "by_model"
        case byKey = "by_key"
        case keyID = "key_id"
    }
}

/// One request-log row.
struct RecordView: Encodable, Sendable {
    var requestID: String
    var time: Timestamp
    var principal: String
    @Nullable var keyID: String?
    @Nullable var userID: String?
    @Nullable var team: String?
    var endpoint: String
    var modelRequested: String
    @Nullable var modelServed: String?
    @Nullable var provider: String?
    var status: Int
    @Nullable var errorCode: String?
    var stream: Bool
    var promptTokens: Int
    var completionTokens: Int
    var cachedTokens: Int
    var reasoningTokens: Int
    var usageEstimated: Bool
    @Nullable var costUSD: Double?
    var cacheHit: Bool
    @Nullable var costSavedUSD: Double?
    var latencyMs: Double
    var upstreamMs: Double
    var overheadMs: Double
    var attempts: Int
    @Nullable var requestBody: String?
    @Nullable var responseBody: String?

    enum CodingKeys: String, CodingKey {
        case time, principal, team, endpoint, provider, status, stream, attempts
        case requestID = "request_id"
        case keyID = "key_id"
        case userID = "user_id"
        case modelRequested = "model_requested"
        case modelServed = "model_served"
        case errorCode = "error_code"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case cachedTokens = "cached_tokens"
        case reasoningTokens = "reasoning_tokens"
        case usageEstimated = "usage_estimated"
        case costUSD = "cost_usd"
        case cacheHit = "cache_hit"
        case costSavedUSD = "cost_saved_usd"
        case latencyMs = "latency_ms"
        case upstreamMs = "upstream_ms"
        case overheadMs = "overhead_ms"
        case requestBody = "request_body"
        case responseBody = "response_body"
    }

    init(_ record: RequestRecord) {
        self.requestID = record.requestID
        self.time = Timestamp(record.timestamp)
        self.principal = record.principal
        self.keyID = record.keyID
        self.userID = record.userID
        self.team = record.team
        self.endpoint = record.endpoint
        self.modelRequested = record.modelRequested
        self.modelServed = record.modelServed
        self.provider = record.provider
        self.status = record.status
        self.errorCode = record.errorCode
        self.stream = record.stream
        self.promptTokens = record.promptTokens
        self.completionTokens = record.completionTokens
        self.cachedTokens = record.cachedTokens
        self.reasoningTokens = record.reasoningTokens
        self.usageEstimated = record.usageEstimated
        self.costUSD = record.costUSD
        self.cacheHit = record.cacheHit
        self.costSavedUSD = record.costSavedUSD
        self.latencyMs = record.latencyMilliseconds
        self.upstreamMs = record.upstreamMilliseconds
        self.overheadMs = record.overheadMilliseconds
        self.attempts = record.attempts
        self.requestBody = record.requestBody
        self.responseBody = record.responseBody
    }
}

/// `GET /v1/users/me`.
struct PrincipalView: Encodable, Sendable {
    struct Limit: Encodable, Sendable {
        var scope: String
        @Nullable var rpm: Int?
        @Nullable var tpm: Int?
        @Nullable var maxBudgetUSD: Double?
        @Nullable var budgetPeriod: String?

        enum CodingKeys: String, CodingKey {
            case scope, rpm, tpm
            case maxBudgetUSD = "max_budget_usd"
            case budgetPeriod = "budget_period"
        }
    }

    var id: String
    var kind: String
    var role: String
    @Nullable var userID: String?
    @Nullable var keyID: String?
    @Nullable var keyName: String?
    @Nullable var team: String?
    var models: [String]
    var limits: [Limit]

    enum CodingKeys: String, CodingKey {
        case id, kind, role, team, models, limits
        case userID = "user_id"
        case keyID = "key_id"
        case keyName = "key_name"
    }

    init(_ principal: Principal) {
        self.id = principal.id
        self.kind = principal.kind.rawValue
        self.role = principal.role.rawValue
        self.userID = principal.userID
        self.keyID = principal.keyID
        self.keyName = principal.keyName
        self.team = principal.team
        self.models = principal.allowedModels
        self.limits = principal.scopes.map { scope in
            Limit(scope: scope.id, rpm: scope.rpm, tpm: scope.tpm, maxBudgetUSD: scope.budget?.maxUSD, budgetPeriod: scope.budget?.period.rawValue)
        }
    }
}
