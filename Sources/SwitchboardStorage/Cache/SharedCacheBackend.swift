package import SwitchboardCore

/// A cache store that replicas share (Redis). Unlike ``ResponseCache`` every call may fail: the
/// caller (``FallbackResponseCache``) decides that a failure means "serve from memory".
///
/// An entry that is there but unreadable — not ours, garbage, the wrong type — is a miss, not a
/// failure: only an unreachable or misbehaving server throws.
package protocol SharedCacheBackend: Sendable {
    func entry(_ key: String) async throws -> CachedAnswer?
    func store(_ entry: CachedAnswer, now: Double) async throws
    func remove(_ key: String) async throws -> Bool
    func removeAll(scope: String?, model: String?) async throws -> Int
    /// The vectors of semantic entries stored at or after `storedSince` (seconds since 1970;
    /// `nil`: all, or the `newest` so many), except those `known` says the index has; and the
    /// latest storage time listed. Listed vectors whose entry is gone are dropped from the list.
    func vectors(storedSince: Double?, newest: Int?, known: @Sendable (_ partition: String, _ key: String) -> Bool) async throws
        -> (vectors: [StoredVector], latest: Double?)
    /// Drops listed vectors whose entry is gone (expired, deleted); how many.
    func pruneVectors() async throws -> Int
    /// Entries and their bytes as the store holds them.
    func size() async throws -> (entries: Int, bytes: Int)
    /// Whether the store answers; `patient`: with the time a connect takes, not a lookup's.
    func ping(patient: Bool) async throws
    func shutdown() async
}
