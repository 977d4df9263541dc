/// A virtual key as the store holds it: never the secret, only its SHA-256 and a visible prefix.
package struct VirtualKey: Sendable, Hashable {
    /// `key_` + 16 hex digits; what the admin API and the ledger use.
    package var id: String
    package var name: String
    /// The secret's first characters (`sk-sb-3f9a1c`), shown so people can tell keys apart.
    package var prefix: String
    /// Lower-case hex SHA-256 of the whole secret.
    package var hash: String
    package var userID: String?
    package var team: String?
    package var role: Role
    /// Model patterns the key may use; empty means any.
    package var models: [String]
    package var rpm: Int?
    package var tpm: Int?
    package var maxBudgetUSD: Double?
    package var budgetPeriod: BudgetPeriod
    /// Seconds since 1970, or never.
    package var expiresAt: Double?
    package var metadata: [String: JSONValue]
    package var createdAt: Double
    package var revokedAt: Double?
    /// Who made the key for themselves (`key:<id>`, `user:<sub>`); `nil` for keys an admin made.
    /// A self-made key draws on its maker's limits and budget and lives no longer than its maker.
    package var createdBy: String?
    /// The key's own cache settings, if any.
    package var cache: KeyCacheSettings?

    package init(
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
        createdBy: String? = nil,
        cache: KeyCacheSettings? = nil
    ) {
        self.cache = cache
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
    package func isActive(at time: Double) -> Bool {
        revokedAt == nil && (expiresAt.map { time < $0 } ?? true)
    }

    package var scopeID: String { "key:\(id)" }

    /// The key that made this one, when a key did.
    package var makerKeyID: String? {
        guard let createdBy, createdBy.hasPrefix("key:") else { return nil }
        return String(createdBy.dropFirst(4))
    }

    /// The JWT user that made this key, when one did.
    package var makerUserID: String? {
        guard let createdBy, createdBy.hasPrefix("user:") else { return nil }
        return String(createdBy.dropFirst(5))
    }

    package var budget: Budget? { maxBudgetUSD.map { Budget(maxUSD: $0, period: budgetPeriod) } }
}

