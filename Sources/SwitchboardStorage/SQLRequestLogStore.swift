import SQLKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import SwitchboardCore

/// The request log on any SQL database SQLKit speaks (SQLite today; PostgreSQL drops in).
public struct SQLRequestLogStore: RequestLogStore {
    private let provider: any SQLDatabaseProvider

    public init(provider: any SQLDatabaseProvider) {
        self.provider = provider
    }

    public func migrate() async throws {
        try await provider.withDatabase { database in try await Self.migrate(database) }
    }

    static func migrate(_ database: any SQLDatabase) async throws {
        try await database.raw(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                applied_at DOUBLE PRECISION NOT NULL
            )
            """
        ).run()
        let rows = try await database.raw("SELECT version FROM schema_migrations").all()
        let applied = Set(try rows.map { try $0.decode(column: "version", as: Int.self) })
        let postgres = database.dialect.name == "postgresql"
        for migration in Self.migrations where !applied.contains(migration.version) {
            for statement in migration.statements {
                // The one dialect difference so far: how an auto-numbered key is spelled.
                let statement = postgres
                    ? statement.replacingOccurrences(of: "INTEGER PRIMARY KEY AUTOINCREMENT", with: "BIGSERIAL PRIMARY KEY")
                    : statement
                try await database.raw(SQLQueryString(statement)).run()
            }
            try await database.raw(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (\(bind: migration.version), \(bind: Self.now()))"
            ).run()
        }
    }

    /// One multi-row INSERT per batch: a single statement, so all of it lands or none of it does,
    /// on SQLite and PostgreSQL alike (batches stay under both databases' bind-parameter limits).
    public func insert(_ records: [RequestRecord]) async throws {
        for start in stride(from: 0, to: records.count, by: Self.maxRowsPerStatement) {
            let batch = Array(records[start..<min(start + Self.maxRowsPerStatement, records.count)])
            try await provider.withDatabase { database in
                let insert = database.insert(into: "request_log").columns(Self.columns)
                for record in batch {
                    insert.values(Self.values(record))
                }
                try await insert.run()
            }
        }
    }

    /// 18 columns × 1000 rows stays under SQLite's 32766 and PostgreSQL's 65535 parameters.
    static let maxRowsPerStatement = 1000

    public func recent(limit: Int) async throws -> [RequestRecord] {
        let rows = try await provider.withDatabase { database in
            try await database.raw(
                "SELECT * FROM request_log ORDER BY timestamp DESC, id DESC LIMIT \(bind: max(0, limit))"
            ).all()
        }
        return try rows.map { row in
            RequestRecord(
                requestID: try row.decode(column: "request_id", as: String.self),
                timestamp: try row.decode(column: "timestamp", as: Double.self),
                principal: try row.decode(column: "principal", as: String.self),
                endpoint: try row.decode(column: "endpoint", as: String.self),
                modelRequested: try row.decode(column: "model_requested", as: String.self),
                provider: try row.decode(column: "provider", as: String?.self),
                modelServed: try row.decode(column: "model_served", as: String?.self),
                status: try row.decode(column: "status", as: Int.self),
                errorCode: try row.decode(column: "error_code", as: String?.self),
                promptTokens: try row.decode(column: "prompt_tokens", as: Int.self),
                completionTokens: try row.decode(column: "completion_tokens", as: Int.self),
                usageEstimated: try row.decode(column: "usage_estimated", as: Int.self) != 0,
                latencyMilliseconds: try row.decode(column: "latency_ms", as: Double.self),
                upstreamMilliseconds: try row.decode(column: "upstream_ms", as: Double.self),
                attempts: try row.decode(column: "attempts", as: Int.self),
                stream: try row.decode(column: "stream", as: Int.self) != 0,
                costUSD: try row.decode(column: "cost_usd", as: Double?.self)
            )
        }
    }

    public func ping() async throws {
        try await provider.withDatabase { database in
            _ = try await database.raw("SELECT 1 AS ok").first()
        }
    }

    static let columns = [
        "request_id", "timestamp", "principal", "endpoint", "model_requested", "provider", "model_served", "status",
        "error_code", "prompt_tokens", "completion_tokens", "usage_estimated", "latency_ms", "upstream_ms",
        "overhead_ms", "attempts", "stream", "cost_usd",
    ]

    static func values(_ record: RequestRecord) -> [any Encodable & Sendable] {
        [
            record.requestID, record.timestamp, record.principal, record.endpoint, record.modelRequested,
            record.provider, record.modelServed, record.status, record.errorCode, record.promptTokens,
            record.completionTokens, record.usageEstimated ? 1 : 0, record.latencyMilliseconds,
            record.upstreamMilliseconds, record.overheadMilliseconds, record.attempts, record.stream ? 1 : 0,
            record.costUSD,
        ]
    }

    struct Migration {
        var version: Int
        var statements: [String]
    }

    /// Append-only: a released migration is never edited, only followed by a new one.
    static let migrations: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE IF NOT EXISTS request_log (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                request_id TEXT NOT NULL,
                timestamp DOUBLE PRECISION NOT NULL,
                principal TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                model_requested TEXT NOT NULL,
                provider TEXT,
                model_served TEXT,
                status INTEGER NOT NULL,
                error_code TEXT,
                prompt_tokens INTEGER NOT NULL,
                completion_tokens INTEGER NOT NULL,
                usage_estimated INTEGER NOT NULL,
                latency_ms DOUBLE PRECISION NOT NULL,
                upstream_ms DOUBLE PRECISION NOT NULL,
                overhead_ms DOUBLE PRECISION NOT NULL,
                attempts INTEGER NOT NULL,
                stream INTEGER NOT NULL
            )
            """,
            "CREATE INDEX IF NOT EXISTS request_log_timestamp ON request_log (timestamp)",
            "CREATE INDEX IF NOT EXISTS request_log_request_id ON request_log (request_id)",
        ]),
        Migration(version: 2, statements: [
            "ALTER TABLE request_log ADD COLUMN cost_usd DOUBLE PRECISION",
        ]),
    ]

    static func now() -> Double {
        Date().timeIntervalSince1970
    }
}
