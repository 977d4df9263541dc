import SQLKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
package import SwitchboardCore

/// The request log on any SQL database SQLKit speaks (SQLite today; PostgreSQL drops in).
package struct SQLRequestLogStore: RequestLogStore {
    private let provider: any SQLDatabaseProvider

    package init(provider: any SQLDatabaseProvider) {
        self.provider = provider
    }

    /// Creates or upgrades the schema (every table, governance's too): ``SchemaMigrations``.
    package func migrate() async throws {
        try await SchemaMigrations.apply(to: provider)
    }

    /// One transaction per batch: the rows (multi-row INSERTs) and the spend they add, so a
    /// crash can neither lose spend nor count it twice, on SQLite and PostgreSQL alike.
    package func insert(_ records: [RequestRecord]) async throws {
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

    package func recent(limit: Int) async throws -> [RequestRecord] {
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
        record.cacheHit = try row.decode(column: "cache_hit", as: Int.self) != 0
        record.costSavedUSD = try row.decode(column: "cost_saved_usd", as: Double?.self)
        return record
    }

    package func ping() async throws {
        try await provider.withDatabase { database in
            _ = try await database.raw("SELECT 1 AS ok").first()
        }
    }

    static let columns = [
        "request_id", "timestamp", "principal", "endpoint", "model_requested", "provider", "model_served", "status",
        "error_code", "prompt_tokens", "completion_tokens", "usage_estimated", "latency_ms", "upstream_ms",
        "overhead_ms", "attempts", "stream", "cost_usd", "key_id", "user_id", "team", "cached_tokens",
        "reasoning_tokens", "request_body", "response_body", "cache_hit", "cost_saved_usd",
    ]

    static func values(_ record: RequestRecord) -> [any Encodable & Sendable] {
        [
            record.requestID, record.timestamp, record.principal, record.endpoint, record.modelRequested,
            record.provider, record.modelServed, record.status, record.errorCode, record.promptTokens,
            record.completionTokens, record.usageEstimated ? 1 : 0, record.latencyMilliseconds,
            record.upstreamMilliseconds, record.overheadMilliseconds, record.attempts, record.stream ? 1 : 0,
            record.costUSD, record.keyID, record.userID, record.team, record.cachedTokens, record.reasoningTokens,
            record.requestBody, record.responseBody, record.cacheHit ? 1 : 0, record.costSavedUSD,
        ]
    }
}
