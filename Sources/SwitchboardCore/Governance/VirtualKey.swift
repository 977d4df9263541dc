/// A virtual key as the store holds it: never the secret, only its SHA-256 and a visible prefix.
public struct VirtualKey: Sendable, Hashable {
    /// `key_` + 16 hex digits; what the admin API and the ledger use.
    public var id: String
    public var name: String
    /// The secret's first characters (`sk-sb-3f9a1c`), shown so people can tell keys apart.
    public var prefix: String
    /// Lower-case hex SHA-256 of the whole secret.
    public var hash: String
    public var userID: String?
    public var team: String?
    public var role: Role
    /// Model patterns the key may use; empty means any.
    public var models: [String]
    public var rpm: Int?
    public var tpm: Int?
    public var maxBudgetUSD: Double?
    public var budgetPeriod: BudgetPeriod
    /// Seconds since 1970, or never.
    public var expiresAt: Double?
    public var metadata: [String: JSONValue]
    public var createdAt: Double
    public var revokedAt: Double?
    /// Who made the key for themselves (`key:<id>`, `user:<sub>`); `nil` for keys an admin made.
    /// A self-made key draws on its maker's limits and budget and lives no longer than its maker.
    public var createdBy: String?

    public init(
        id: String,
        name: String,
        prefix: String,
        hash: String,
        userID: String? = nil,
        team: String? = nil,
        role: Role = .user,
        models: [String] = [],
        rpm: Int? = nil,
        tpm: Int? = nil,
        maxBudgetUSD: Double? = nil,
        budgetPeriod: BudgetPeriod = .monthly,
        expiresAt: Double? = nil,
        metadata: [String: JSONValue] = [:],
        createdAt: Double,
        revokedAt: Double? = nil,
        createdBy: String? = nil
    ) {
        self.id = id
        self.name = name
        self.prefix = prefix
        self.hash = hash
        self.userID = userID
        self.team = team
        self.role = role
        self.models = models
        self.rpm = rpm
        self.tpm = tpm
        self.maxBudgetUSD = maxBudgetUSD
        self.budgetPeriod = budgetPeriod
        self.expiresAt = expiresAt
        self.metadata = metadata
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.createdBy = createdBy
    }

    /// Usable at `time`: not revoked and not expired.
    public func isActive(at time: Double) -> Bool {
        revokedAt == nil && (expiresAt.map { time < $0 } ?? true)
    }

    public var scopeID: String { "key:\(id)" }

    /// The key that made this one, when a key did.
    public var makerKeyID: String? {
        guard let createdBy, createdBy.hasPrefix("key:") else { return nil }
        return String(createdBy.dropFirst(4))
    }

    /// The JWT user that made this key, when one did.
    public var makerUserID: String? {
        guard let createdBy, createdBy.hasPrefix("user:") else { return nil }
        return String(createdBy.dropFirst(5))
    }

    public var budget: Budget? { maxBudgetUSD.map { Budget(maxUSD: $0, period: budgetPeriod) } }
}

/// Per-user overrides of the default limits (JWT users, and users that keys belong to).
public struct UserLimits: Sendable, Hashable {
    public var userID: String
    public var rpm: Int?
    public var tpm: Int?
    public var maxBudgetUSD: Double?
    public var budgetPeriod: BudgetPeriod
    public var updatedAt: Double

    public init(userID: String, rpm: Int? = nil, tpm: Int? = nil, maxBudgetUSD: Double? = nil, budgetPeriod: BudgetPeriod = .monthly, updatedAt: Double) {
        self.userID = userID
        self.rpm = rpm
        self.tpm = tpm
        self.maxBudgetUSD = maxBudgetUSD
        self.budgetPeriod = budgetPeriod
        self.updatedAt = updatedAt
    }

    public var budget: Budget? { maxBudgetUSD.map { Budget(maxUSD: $0, period: budgetPeriod) } }
}

/// Filters for usage reports and the request log; every field is optional.
public struct UsageQuery: Sendable, Hashable {
    public enum Grouping: String, Sendable, Hashable, CaseIterable {
        case day, model, provider, key, user
    }

    public var from: Double?
    public var to: Double?
    public var keyID: String?
    public var userID: String?
    public var model: String?
    public var provider: String?
    public var groupBy: Grouping?

    public init(
        from: Double? = nil, to: Double? = nil, keyID: String? = nil, userID: String? = nil,
        model: String? = nil, provider: String? = nil, groupBy: Grouping? = nil
    ) {
        self.from = from
        self.to = to
        self.keyID = keyID
        self.userID = userID
        self.model = model
        self.provider = provider
        self.groupBy = groupBy
    }
}

/// One line of a usage report: totals for a group (or for everything).
public struct UsageRow: Sendable, Hashable {
    /// The group's value (a day, a model…), `nil` for the overall total.
    public var group: String?
    public var requests: Int
    public var errors: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var costUSD: Double

    public init(group: String?, requests: Int, errors: Int, promptTokens: Int, completionTokens: Int, costUSD: Double) {
        self.group = group
        self.requests = requests
        self.errors = errors
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.costUSD = costUSD
    }
}

/// Keys, user overrides, spend and the reports behind the admin and usage endpoints.
///
/// Implemented once on SQL (SQLite and PostgreSQL); the request-log rows themselves are written
/// by the ``RequestLogStore``.
public protocol GovernanceStore: Sendable {
    func createKey(_ key: VirtualKey) async throws
    /// Stores `key` only if `user` holds fewer than `cap` active keys at `now`, atomically;
    /// returns whether it was stored.
    func createKey(_ key: VirtualKey, ifUser user: String, holdsFewerThan cap: Int, now: Double) async throws -> Bool
    /// Every key, or one user's, newest first (revoked ones included).
    func keys(userID: String?) async throws -> [VirtualKey]
    func key(id: String) async throws -> VirtualKey?
    func key(hash: String) async throws -> VirtualKey?
    func updateKey(_ key: VirtualKey) async throws
    /// Keys a principal made for itself (`createdBy`), newest first.
    func keys(createdBy: String) async throws -> [VirtualKey]
    func userLimits(_ userID: String) async throws -> UserLimits?
    func setUserLimits(_ limits: UserLimits) async throws
    /// Dollars spent by a scope (`key:<id>`, `user:<id>`) at or after a time, from the spend table.
    func spend(scope: String, since: Double) async throws -> Double
    func usage(_ query: UsageQuery) async throws -> [UsageRow]
    /// Request-log rows matching the query, newest first.
    func records(_ query: UsageQuery, limit: Int) async throws -> [RequestRecord]
    /// Deletes request-log rows older than `cutoff`; returns how many went. Spend totals stay.
    func deleteRecords(before cutoff: Double) async throws -> Int
}
