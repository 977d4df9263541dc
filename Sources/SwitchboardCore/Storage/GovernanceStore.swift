/// Virtual keys: created, looked up by id or secret hash, edited, revoked.
package protocol KeyStore: Sendable {
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
}

/// Per-user overrides of the default limits.
package protocol UserLimitStore: Sendable {
    func userLimits(_ userID: String) async throws -> UserLimits?
    func setUserLimits(_ limits: UserLimits) async throws
}

/// The durable spend totals budgets are checked against.
package protocol SpendLedger: Sendable {
    /// Dollars spent by a scope (`key:<id>`, `user:<id>`) at or after a time, from the spend table.
    func spend(scope: String, since: Double) async throws -> Double
}

/// Reports over the request log, and its retention.
package protocol UsageReports: Sendable {
    func usage(_ query: UsageQuery) async throws -> [UsageRow]
    /// Request-log rows matching the query, newest first.
    func records(_ query: UsageQuery, limit: Int) async throws -> [RequestRecord]
    /// Deletes request-log rows older than `cutoff`; returns how many went. Spend totals stay.
    func deleteRecords(before cutoff: Double) async throws -> Int
    /// Deletes one caller's request-log rows (those of the user, or of the key when there is no
    /// user); returns how many went. Spend totals stay.
    func deleteRecords(userID: String?, keyID: String?) async throws -> Int
}

/// Everything behind the admin, usage and `me` endpoints: implemented once on SQL (SQLite and
/// PostgreSQL); the request-log rows themselves are written by the ``RequestLogStore``.
package typealias GovernanceStore = KeyStore & UserLimitStore & SpendLedger & UsageReports
