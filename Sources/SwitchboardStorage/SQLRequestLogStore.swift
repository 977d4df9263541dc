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

    /// Applies the migrations not yet recorded, each in its own transaction with its record.
    public func migrate() async throws {
        let applied = try await provider.withDatabase { database in
            try await database.raw(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version INTEGER PRIMARY KEY,
                    applied_at DOUBLE PRECISION NOT NULL
                )
                """
            ).run()
            let rows = try await database.raw("SELECT version FROM schema_migrations").all()
            return Set(try rows.map { try $0.decode(column: "version", as: Int.self) })
        }
        for migration in Self.migrations where !applied.contains(migration.version) {
            try await provider.withTransaction { database in
                let postgres = database.dialect.name == "postgresql"
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
    }

    /// One transaction per batch: the rows (multi-row INSERTs) and the spend they add, so a
    /// crash can neither lose spend nor count it twice, on SQLite and PostgreSQL alike.
    public func insert(_ records: [RequestRecord]) async throws {
        guard !records.isEmpty else { return }
        let spend = Self.spendDeltas(records)
        try await provider.withTransaction { database in
            for start in stride(from: 0, to: records.count, by: Self.maxRowsPerStatement) {
                let insert = database.insert(into: "request_log").columns(Self.columns)
                for record in records[start..<min(start + Self.maxRowsPerStatement, records.count)] {
                    insert.values(Self.values(record))
                }
                try await insert.run()
            }
            for delta in spend {
                try await database.raw(
                    """
                    INSERT INTO spend (scope, day, cost_usd, requests, tokens)
                    VALUES (\(bind: delta.scope), \(bind: delta.day), \(bind: delta.cost), \(bind: delta.requests), \(bind: delta.tokens))
                    ON CONFLICT (scope, day) DO UPDATE SET
                        cost_usd = spend.cost_usd + excluded.cost_usd,
                        requests = spend.requests + excluded.requests,
                        tokens = spend.tokens + excluded.tokens
                    """
                ).run()
            }
        }
    }

    struct SpendDelta: Hashable {
        var scope: String
        var day: Int
        var cost: Double
        var requests: Int
        var tokens: Int
    }

    /// Each row's cost summed per scope and UTC day.
    static func spendDeltas(_ records: [RequestRecord]) -> [SpendDelta] {
        var totals: [String: SpendDelta] = [:]
        for record in records {
            let day = Int((record.timestamp / 86_400).rounded(.down))
            for scope in record.spendScopes {
                let key = "\(scope)|\(day)"
                var delta = totals[key] ?? SpendDelta(scope: scope, day: day, cost: 0, requests: 0, tokens: 0)
                delta.cost += record.costUSD ?? 0
                delta.requests += 1
                delta.tokens += record.promptTokens + record.completionTokens
                totals[key] = delta
            }
        }
        return totals.values.sorted { ($0.scope, $0.day) < ($1.scope, $1.day) }
    }

    /// 25 columns × 1000 rows stays under SQLite's 32766 and PostgreSQL's 65535 parameters.
    static let maxRowsPerStatement = 1000

    public func recent(limit: Int) async throws -> [RequestRecord] {
        let rows = try await provider.withDatabase { database in
            try await database.raw(
                "SELECT * FROM request_log ORDER BY timestamp DESC, id DESC LIMIT \(bind: max(0, limit))"
            ).all()
        }
        return try rows.map(Self.record)
    }

    static func record(_ row: any SQLRow) throws -> RequestRecord {
        var record = RequestRecord(
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
        record.keyID = try row.decode(column: "key_id", as: String?.self)
        record.userID = try row.decode(column: "user_id", as: String?.self)
        record.team = try row.decode(column: "team", as: String?.self)
        record.cachedTokens = try row.decode(column: "cached_tokens", as: Int.self)
        record.reasoningTokens = try row.decode(column: "reasoning_tokens", as: Int.self)
        record.requestBody = try row.decode(column: "request_body", as: String?.self)
        record.responseBody = try row.decode(column: "response_body", as: String?.self)
        return record
    }

    public func ping() async throws {
        try await provider.withDatabase { database in
            _ = try await database.raw("SELECT 1 AS ok").first()
        }
    }

    static let columns = [
        "request_id", "timestamp", "principal", "endpoint", "model_requested", "provider", "model_served", "status",
        "error_code", "prompt_tokens", "completion_tokens", "usage_estimated", "latency_ms", "upstream_ms",
        "overhead_ms", "attempts", "stream", "cost_usd", "key_id", "user_id", "team", "cached_tokens",
        "reasoning_tokens", "request_body", "response_body",
    ]

    static func values(_ record: RequestRecord) -> [any Encodable & Sendable] {
        [
            record.requestID, record.timestamp, record.principal, record.endpoint, record.modelRequested,
            record.provider, record.modelServed, record.status, record.errorCode, record.promptTokens,
            record.completionTokens, record.usageEstimated ? 1 : 0, record.latencyMilliseconds,
            record.upstreamMilliseconds, record.overheadMilliseconds, record.attempts, record.stream ? 1 : 0,
            record.costUSD, record.keyID, record.userID, record.team, record.cachedTokens, record.reasoningTokens,
            record.requestBody, record.responseBody,
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
        Migration(version: 3, statements: [
            """
            CREATE TABLE IF NOT EXISTS api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                prefix TEXT NOT NULL,
                hash TEXT NOT NULL UNIQUE,
                user_id TEXT,
                team TEXT,
                role TEXT NOT NULL,
                models TEXT NOT NULL,
                rpm INTEGER,
                tpm INTEGER,
                max_budget_usd DOUBLE PRECISION,
                budget_period TEXT NOT NULL,
                expires_at DOUBLE PRECISION,
                metadata TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL,
                revoked_at DOUBLE PRECISION
            )
            """,
            "CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys (user_id)",
            """
            CREATE TABLE IF NOT EXISTS user_limits (
                user_id TEXT PRIMARY KEY,
                rpm INTEGER,
                tpm INTEGER,
                max_budget_usd DOUBLE PRECISION,
                budget_period TEXT NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS spend (
                scope TEXT NOT NULL,
                day INTEGER NOT NULL,
                cost_usd DOUBLE PRECISION NOT NULL,
                requests BIGINT NOT NULL,
                tokens BIGINT NOT NULL,
                PRIMARY KEY (scope, day)
            )
            """,
            "ALTER TABLE request_log ADD COLUMN key_id TEXT",
            "ALTER TABLE request_log ADD COLUMN user_id TEXT",
            "ALTER TABLE request_log ADD COLUMN team TEXT",
            "ALTER TABLE request_log ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE request_log ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE request_log ADD COLUMN request_body TEXT",
            "ALTER TABLE request_log ADD COLUMN response_body TEXT",
            "CREATE INDEX IF NOT EXISTS request_log_key ON request_log (key_id, timestamp)",
            "CREATE INDEX IF NOT EXISTS request_log_user ON request_log (user_id, timestamp)",
        ]),
        Migration(version: 4, statements: [
            // Self-made keys name their maker: they draw on its limits and are revoked with it.
            "ALTER TABLE api_keys ADD COLUMN created_by TEXT",
            "CREATE INDEX IF NOT EXISTS api_keys_created_by ON api_keys (created_by)",
        ]),
    ]

    static func now() -> Double {
        Date().timeIntervalSince1970
    }
}
