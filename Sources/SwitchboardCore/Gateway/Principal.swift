/// Who is calling, as middleware established it. Handlers and the governor only ever see this.
package struct Principal: Sendable, Hashable {
    package enum Kind: String, Sendable, Hashable {
        /// Auth is off: no master key configured.
        case anonymous
        /// The master key: admin, no limits.
        case master
        /// A virtual key (`sk-sb-…`) from the key store.
        case virtualKey = "key"
        /// A user who presented a valid JWT.
        case jwtUser = "jwt"
    }

    package var kind: Kind
    /// A stable identifier for accounting: `master`, `anonymous`, `key:<id>`, `user:<sub>`.
    package var id: String
    package var role: Role
    /// What the caller may do: its role's permissions, narrowed to what every key that made
    /// this one may still do.
    package var permissions: Set<Permission>
    package var keyID: String?
    package var keyName: String?
    package var userID: String?
    package var team: String?
    /// Model patterns the caller may use; empty means any.
    package var allowedModels: [String]
    /// The model patterns of the keys that made this one (each non-empty list): a model must
    /// pass every one of them too, so narrowing a maker narrows what it made.
    package var makerModelLists: [[String]] = []
    /// The limits and budgets each call is checked against, most specific first.
    package var scopes: [LimitScope]
    /// The key's own cache settings (``KeyCacheSettings``).
    package var cache: KeyCacheSettings?
    /// The keys that made this key, nearest first: its calls are charged to them too.
    package var makerKeyIDs: [String] = []
    /// When the credential stops working (a key's `expires_at`), if it does.
    package var expiresAt: Double?

    package init(
        kind: Kind,
        id: String,
        role: Role,
        keyID: String? = nil,
        keyName: String? = nil,
        userID: String? = nil,
        team: String? = nil,
        allowedModels: [String] = [],
        scopes: [LimitScope] = []
    ) {
        self.kind = kind
        self.id = id
        self.role = role
        self.permissions = role.permissions
        self.keyID = keyID
        self.keyName = keyName
        self.userID = userID
        self.team = team
        self.allowedModels = allowedModels
        self.scopes = scopes
    }

    package func may(_ permission: Permission) -> Bool { permissions.contains(permission) }

    /// Whether the caller may use `model`: its own patterns and every maker's allow it.
    package func mayUse(_ model: String) -> Bool {
        ModelGlob.allows(allowedModels, model: model) && makerModelLists.allSatisfy { ModelGlob.allows($0, model: model) }
    }

    /// Whether some model is out of the caller's reach.
    package var isModelRestricted: Bool { !allowedModels.isEmpty || !makerModelLists.isEmpty }

    package static let anonymous = Principal(kind: .anonymous, id: "anonymous", role: .admin)
    package static let master = Principal(kind: .master, id: "master", role: .admin)
}

/// One thing calls are counted against: a key, a user, or a client address.
package struct LimitScope: Sendable, Hashable {
    /// `key:<id>`, `user:<id>`, `ip:<address>`: the key of the in-memory counters and of the spend table.
    package var id: String
    /// How error messages name it: "key `ci-bot`", "user `alice`".
    package var label: String
    /// Requests per minute, or no limit.
    package var rpm: Int?
    /// Tokens (prompt + completion) per minute, or no limit.
    package var tpm: Int?
    package var budget: Budget?

    package init(id: String, label: String, rpm: Int? = nil, tpm: Int? = nil, budget: Budget? = nil) {
        self.id = id
        self.label = label
        self.rpm = rpm
        self.tpm = tpm
        self.budget = budget
    }
}

/// A spending cap in dollars over a period.
package struct Budget: Sendable, Hashable {
    package var maxUSD: Double
    package var period: BudgetPeriod

    package init(maxUSD: Double, period: BudgetPeriod) {
        self.maxUSD = maxUSD
        self.period = period
    }
}
