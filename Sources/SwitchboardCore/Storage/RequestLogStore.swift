/// Durable home of finished-request records (the usage ledger and request log).
package protocol RequestLogStore: Sendable {
    /// Creates or upgrades the schema; safe to run on every start.
    func migrate() async throws
    /// Writes records in one transaction: all of them or none.
    func insert(_ records: [RequestRecord]) async throws
    /// The newest records first.
    func recent(limit: Int) async throws -> [RequestRecord]
    /// Cheap reachability check for readiness probes.
    func ping() async throws
}

/// An in-memory store for tests and for running without a database.
package actor MemoryRequestLogStore: RequestLogStore {
    private var records: [RequestRecord] = []

    package init() {}

    package func migrate() async throws {}

    package func insert(_ records: [RequestRecord]) async throws {
        self.records.append(contentsOf: records)
    }

    package func recent(limit: Int) async throws -> [RequestRecord] {
        Array(records.suffix(limit).reversed())
    }

    package func ping() async throws {}
}
