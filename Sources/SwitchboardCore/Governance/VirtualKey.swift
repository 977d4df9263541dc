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

