public import SQLKit

/// Lends an `SQLDatabase` for one unit of work: SQLite's single connection, or a pooled
/// PostgreSQL connection. Stores are written once against this and run on both.
public protocol SQLDatabaseProvider: Sendable {
    func withDatabase<Result: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> Result) async throws -> Result
}
