import SQLKit
package import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Keys, user overrides, spend and usage reports on SQLite or PostgreSQL (tables from migration 3
/// of ``SQLRequestLogStore``, which must have run).
package struct SQLGovernanceStore: GovernanceStore {
    private let provider: any SQLDatabaseProvider

    package init(provider: any SQLDatabaseProvider) {
        self.provider = provider
    }

    // MARK: Keys

    package func createKey(_ key: VirtualKey) async throws {
        let values = try Self.values(key)
        try await provider.withTransaction { database in
            try await database.insert(into: "api_keys").columns(Self.keyColumns).values(values).run()
        }
    }

    package func createKey(_ key: VirtualKey, ifUser user: String, holdsFewerThan cap: Int, now: Double) async throws -> Bool {
        let values = try Self.values(key)
        return try await provider.withTransaction { database in
            if database.dialect.name == "postgresql" {
                // Serialises concurrent creations for one user (SQLite's write lock already does).
                try await database.raw("SELECT pg_advisory_xact_lock(hashtext(\(bind: "api_keys:" + user)))").run()
            }
            let row = try await database.raw(
                "SELECT COUNT(*) AS n FROM api_keys WHERE user_id = \(bind: user) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > \(bind: now))"
            ).first()
            guard try (row?.decode(column: "n", as: Int.self) ?? 0) < cap else { return false }
            try await database.insert(into: "api_keys").columns(Self.keyColumns).values(values).run()
            return true
        }
    }

    package func keys(userID: String?) async throws -> [VirtualKey] {
        let rows = try await provider.withDatabase { database in
            if let userID {
                return try await database.raw("SELECT * FROM api_keys WHERE user_id = \(bind: userID) ORDER BY created_at DESC, id").all()
            }
            return try await database.raw("SELECT * FROM api_keys ORDER BY created_at DESC, id").all()
        }
        return try rows.map(Self.key)
    }

    package func key(id: String) async throws -> VirtualKey? {
        let row = try await provider.withDatabase { database in
            try await database.raw("SELECT * FROM api_keys WHERE id = \(bind: id)").first()
        }
        return try row.map(Self.key)
    }

    package func key(hash: String) async throws -> VirtualKey? {
        let row = try await provider.withDatabase { database in
            try await database.raw("SELECT * FROM api_keys WHERE hash = \(bind: hash)").first()
        }
        return try row.map(Self.key)
    }

    package func keys(createdBy: String) async throws -> [VirtualKey] {
        let rows = try await provider.withDatabase { database in
            try await database.raw("SELECT * FROM api_keys WHERE created_by = \(bind: createdBy) ORDER BY created_at DESC, id").all()
        }
        return try rows.map(Self.key)
    }

    package func updateKey(_ key: VirtualKey) async throws {
        let models = try Self.json(key.models)
        let metadata = try Self.json(key.metadata)
        try await provider.withTransaction { database in
            try await database.raw(
                """
                UPDATE api_keys SET name = \(bind: key.name), user_id = \(bind: key.userID), team = \(bind: key.team),
                    role = \(bind: key.role.rawValue), models = \(bind: models), rpm = \(bind: key.rpm), tpm = \(bind: key.tpm),
                    max_budget_usd = \(bind: key.maxBudgetUSD), budget_period = \(bind: key.budgetPeriod.rawValue),
                    expires_at = \(bind: key.expiresAt), metadata = \(bind: metadata), revoked_at = \(bind: key.revokedAt),
                    cache_settings = \(bind: try Self.cacheSettings(key.cache))
                WHERE id = \(bind: key.id)
                """
            ).run()
        }
    }

    static let keyColumns = [
        "id", "name", "prefix", "hash", "user_id", "team", "role", "models", "rpm", "tpm", "max_budget_usd",
        "budget_period", "expires_at", "metadata", "created_at", "revoked_at", "created_by", "cache_settings",
    ]

    static func values(_ key: VirtualKey) throws -> [any Encodable & Sendable] {
        [
            key.id, key.name, key.prefix, key.hash, key.userID, key.team, key.role.rawValue, try json(key.models),
            key.rpm, key.tpm, key.maxBudgetUSD, key.budgetPeriod.rawValue, key.expiresAt, try json(key.metadata),
            key.createdAt, key.revokedAt, key.createdBy, try cacheSettings(key.cache),
        ]
    }

    static func cacheSettings(_ settings: KeyCacheSettings?) throws -> String? {
        guard let settings, !settings.isEmpty else { return nil }
        return try json(settings)
    }

    static func key(_ row: any SQLRow) throws -> VirtualKey {
        let models = try row.decode(column: "models", as: String.self)
        let metadata = try row.decode(column: "metadata", as: String.self)
        return VirtualKey(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            prefix: try row.decode(column: "prefix", as: String.self),
            hash: try row.decode(column: "hash", as: String.self),
            userID: try row.decode(column: "user_id", as: String?.self),
            team: try row.decode(column: "team", as: String?.self),
            role: Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .user,
            models: try JSONCoding.decode([String].self, from: Array(models.utf8)),
            rpm: try row.decode(column: "rpm", as: Int?.self),
            tpm: try row.decode(column: "tpm", as: Int?.self),
            maxBudgetUSD: try row.decode(column: "max_budget_usd", as: Double?.self),
            budgetPeriod: BudgetPeriod(rawValue: try row.decode(column: "budget_period", as: String.self)) ?? .monthly,
            expiresAt: try row.decode(column: "expires_at", as: Double?.self),
            // The gateway's own linear parser: stored metadata is read on every key lookup.
            // Metadata stored before it was bounded (deeper than the limit) reads as empty
            // rather than making the key, and every key list, unreadable; an edit rewrites it.
            metadata: (try? JSONCoding.decode([String: JSONValue].self, from: Array(metadata.utf8))) ?? [:],
            createdAt: try row.decode(column: "created_at", as: Double.self),
            revokedAt: try row.decode(column: "revoked_at", as: Double?.self),
            createdBy: try row.decode(column: "created_by", as: String?.self),
            // Unreadable settings (none are written that way) mean none, not an unreadable key.
            cache: try row.decode(column: "cache_settings", as: String?.self).flatMap {
                try? JSONCoding.decode(KeyCacheSettings.self, from: Array($0.utf8))
            }
        )
    }

    static func json(_ value: some Encodable) throws -> String {
        String(decoding: try JSONCoding.encode(value), as: UTF8.self)
    }

    // MARK: Users

    package func userLimits(_ userID: String) async throws -> UserLimits? {
        let row = try await provider.withDatabase { database in
            try await database.raw("SELECT * FROM user_limits WHERE user_id = \(bind: userID)").first()
        }
        return try row.map { row in
            UserLimits(
                userID: try row.decode(column: "user_id", as: String.self),
                rpm: try row.decode(column: "rpm", as: Int?.self),
                tpm: try row.decode(column: "tpm", as: Int?.self),
                maxBudgetUSD: try row.decode(column: "max_budget_usd", as: Double?.self),
                budgetPeriod: BudgetPeriod(rawValue: try row.decode(column: "budget_period", as: String.self)) ?? .monthly,
                updatedAt: try row.decode(column: "updated_at", as: Double.self)
            )
        }
    }

    package func setUserLimits(_ limits: UserLimits) async throws {
        try await provider.withTransaction { database in
            try await database.raw(
                """
                INSERT INTO user_limits (user_id, rpm, tpm, max_budget_usd, budget_period, updated_at)
                VALUES (\(bind: limits.userID), \(bind: limits.rpm), \(bind: limits.tpm), \(bind: limits.maxBudgetUSD),
                    \(bind: limits.budgetPeriod.rawValue), \(bind: limits.updatedAt))
                ON CONFLICT (user_id) DO UPDATE SET rpm = excluded.rpm, tpm = excluded.tpm,
                    max_budget_usd = excluded.max_budget_usd, budget_period = excluded.budget_period, updated_at = excluded.updated_at
                """
            ).run()
        }
    }

    // MARK: Spend and usage

    package func spend(scope: String, since: Double) async throws -> Double {
        let day = Int((since / 86_400).rounded(.down))
        let row = try await provider.withDatabase { database in
            try await database.raw(
                "SELECT COALESCE(SUM(cost_usd), 0) AS total FROM spend WHERE scope = \(bind: scope) AND day >= \(bind: day)"
            ).first()
        }
        return try row?.decode(column: "total", as: Double.self) ?? 0
    }

    package func usage(_ query: UsageQuery) async throws -> [UsageRow] {
        let rows = try await provider.withDatabase { database in
            let postgres = database.dialect.name == "postgresql"
            let select = database.select()
            if let grouping = query.groupBy {
                let expression = SQLRaw(Self.groupExpression(grouping, postgres: postgres))
                select.column(SQLAlias(expression, as: SQLIdentifier("grp")))
                select.groupBy(expression)
                select.orderBy(expression)
            }
            select.column(SQLAlias(SQLRaw("COUNT(*)"), as: SQLIdentifier("requests")))
            select.column(SQLAlias(SQLRaw("COALESCE(SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END), 0)"), as: SQLIdentifier("errors")))
            select.column(SQLAlias(SQLRaw("COALESCE(SUM(prompt_tokens), 0)"), as: SQLIdentifier("prompt_tokens")))
            select.column(SQLAlias(SQLRaw("COALESCE(SUM(completion_tokens), 0)"), as: SQLIdentifier("completion_tokens")))
            select.column(SQLAlias(SQLRaw("COALESCE(SUM(cost_usd), 0.0)"), as: SQLIdentifier("cost_usd")))
            select.from("request_log")
            Self.filter(select, query)
            return try await select.all()
        }
        return try rows.map { row in
            var group: String?
            if query.groupBy == .day {
                group = try row.decode(column: "grp", as: Int?.self).map { CivilDate.isoDay(Double($0) * 86_400) }
            } else if query.groupBy != nil {
                group = try row.decode(column: "grp", as: String?.self)
            }
            return UsageRow(
                group: group,
                requests: try row.decode(column: "requests", as: Int.self),
                errors: try row.decode(column: "errors", as: Int.self),
                promptTokens: try row.decode(column: "prompt_tokens", as: Int.self),
                completionTokens: try row.decode(column: "completion_tokens", as: Int.self),
                costUSD: try row.decode(column: "cost_usd", as: Double.self)
            )
        }
    }

    package func records(_ query: UsageQuery, limit: Int) async throws -> [RequestRecord] {
        let rows = try await provider.withDatabase { database in
            let select = database.select().column("*").from("request_log")
            Self.filter(select, query)
            return try await select.orderBy("timestamp", .descending).orderBy("id", .descending).limit(max(0, limit)).all()
        }
        return try rows.map(SQLRequestLogStore.record)
    }

    package func deleteRecords(before cutoff: Double) async throws -> Int {
        try await provider.withTransaction { database in
            let row = try await database.raw("SELECT COUNT(*) AS n FROM request_log WHERE timestamp < \(bind: cutoff)").first()
            let count = try row?.decode(column: "n", as: Int.self) ?? 0
            if count > 0 {
                try await database.raw("DELETE FROM request_log WHERE timestamp < \(bind: cutoff)").run()
            }
            return count
        }
    }

    package func deleteRecords(userID: String?, keyID: String?) async throws -> Int {
        guard userID != nil || keyID != nil else { return 0 }
        return try await provider.withTransaction { database in
            let filter: SQLQueryString = userID.map { "user_id = \(bind: $0)" } ?? "key_id = \(bind: keyID ?? "") AND user_id IS NULL"
            let row = try await database.raw("SELECT COUNT(*) AS n FROM request_log WHERE " + filter).first()
            let count = try row?.decode(column: "n", as: Int.self) ?? 0
            if count > 0 {
                try await database.raw("DELETE FROM request_log WHERE " + filter).run()
            }
            return count
        }
    }

    static func groupExpression(_ grouping: UsageQuery.Grouping, postgres: Bool) -> String {
        switch grouping {
        // PostgreSQL's CAST rounds; SQLite's truncates (timestamps are positive, so it floors).
        case .day: return postgres ? "CAST(FLOOR(timestamp / 86400) AS BIGINT)" : "CAST(timestamp / 86400 AS INTEGER)"
        case .model: return "COALESCE(model_served, model_requested)"
        case .provider: return "provider"
        case .key: return "key_id"
        case .user: return "user_id"
        }
    }

    static func filter(_ select: SQLSelectBuilder, _ query: UsageQuery) {
        if let from = query.from { select.where("timestamp", .greaterThanOrEqual, from) }
        if let to = query.to { select.where("timestamp", .lessThan, to) }
        if let key = query.keyID { select.where("key_id", .equal, key) }
        if let user = query.userID { select.where("user_id", .equal, user) }
        if let provider = query.provider { select.where("provider", .equal, provider) }
        if let model = query.model {
            select.where { group in
                group.where("model_requested", .equal, model).orWhere("model_served", .equal, model)
            }
        }
    }
}
