import SQLKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The schema, as an append-only list of versioned migrations: a released migration is never
/// edited, only followed by a new one. Shared by SQLite and PostgreSQL (one dialect difference).
enum SchemaMigrations {
    /// Applies the migrations not yet recorded, in one transaction with their records. On
    /// PostgreSQL the transaction first takes an advisory lock, so replicas (or test processes)
    /// starting together migrate one after the other instead of racing on the same tables.
    static func apply(to provider: any SQLDatabaseProvider) async throws {
        try await provider.withTransaction { database in
            let postgres = database.dialect.name == "postgresql"
            if postgres {
                try await database.raw("SELECT pg_advisory_xact_lock(\(bind: advisoryLock))").run()
            }
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
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements + (postgres ? migration.postgres : migration.sqlite) {
                    // The one dialect difference in shared statements: how an auto-numbered key is spelled.
                    let statement = postgres
                        ? statement.replacingOccurrences(of: "INTEGER PRIMARY KEY AUTOINCREMENT", with: "BIGSERIAL PRIMARY KEY")
                        : statement
                    try await database.raw(SQLQueryString(statement)).run()
                }
                try await database.raw(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (\(bind: migration.version), \(bind: Date().timeIntervalSince1970))"
                ).run()
            }
        }
    }

    /// The key of the advisory lock migrations hold on PostgreSQL ("sbmigr" in ASCII).
    static let advisoryLock: Int64 = 0x7362_6D69_6772

    struct Migration {
        var version: Int
        var statements: [String]
        /// Run after `statements`, on that database only (full-text search differs).
        var sqlite: [String] = []
        var postgres: [String] = []
    }

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
        Migration(version: 5, statements: [
            // Answers served by the response cache, and what each saved.
            "ALTER TABLE request_log ADD COLUMN cache_hit INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE request_log ADD COLUMN cost_saved_usd DOUBLE PRECISION",
        ]),
        Migration(version: 6, statements: [
            // A key's own response-cache settings (JSON: enabled, ttl_s, scope).
            "ALTER TABLE api_keys ADD COLUMN cache_settings TEXT",
        ]),
        Migration(
            version: 7,
            statements: [
                // Conversations as message trees. Names seed 003's users query by hand stay:
                // conversations(id, provider, created_at), messages(id, conversation_id, role,
                // content, timestamp), tool_calls(id, message_id, tool_name, arguments, result, timestamp).
                """
                CREATE TABLE IF NOT EXISTS conversations (
                    id TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    provider TEXT,
                    title TEXT,
                    system_prompt TEXT,
                    model TEXT,
                    settings TEXT,
                    archived INTEGER NOT NULL DEFAULT 0,
                    active_branch_id TEXT NOT NULL,
                    message_count INTEGER NOT NULL DEFAULT 0,
                    created_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL,
                    PRIMARY KEY (owner, id)
                )
                """,
                "CREATE INDEX IF NOT EXISTS conversations_updated ON conversations (owner, updated_at)",
                """
                CREATE TABLE IF NOT EXISTS messages (
                    id TEXT PRIMARY KEY,
                    owner TEXT NOT NULL,
                    conversation_id TEXT NOT NULL,
                    parent_id TEXT,
                    branch_id TEXT NOT NULL,
                    depth INTEGER NOT NULL,
                    role TEXT NOT NULL,
                    content TEXT NOT NULL,
                    body TEXT NOT NULL,
                    tool_call_id TEXT,
                    model TEXT,
                    provider TEXT,
                    prompt_tokens INTEGER,
                    completion_tokens INTEGER,
                    cost_usd DOUBLE PRECISION,
                    latency_ms DOUBLE PRECISION,
                    request_id TEXT,
                    incomplete INTEGER NOT NULL DEFAULT 0,
                    merged_from TEXT,
                    timestamp DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX IF NOT EXISTS messages_conversation ON messages (owner, conversation_id, timestamp)",
                """
                CREATE TABLE IF NOT EXISTS branches (
                    id TEXT PRIMARY KEY,
                    owner TEXT NOT NULL,
                    conversation_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    head_id TEXT,
                    fork_id TEXT,
                    parent_branch_id TEXT,
                    created_at DOUBLE PRECISION NOT NULL,
                    updated_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX IF NOT EXISTS branches_conversation ON branches (owner, conversation_id)",
                """
                CREATE TABLE IF NOT EXISTS tool_calls (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    call_id TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    owner TEXT NOT NULL,
                    conversation_id TEXT NOT NULL,
                    tool_name TEXT NOT NULL,
                    arguments TEXT NOT NULL,
                    result TEXT,
                    timestamp DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX IF NOT EXISTS tool_calls_conversation ON tool_calls (owner, conversation_id, call_id)",
            ],
            sqlite: [
                // FTS5 is compiled into sqlite-nio's SQLite; rows are written with their messages.
                "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content, message_id UNINDEXED, owner UNINDEXED, conversation_id UNINDEXED)",
            ],
            postgres: [
                "ALTER TABLE messages ADD COLUMN IF NOT EXISTS search tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED",
                "CREATE INDEX IF NOT EXISTS messages_search ON messages USING GIN (search)",
            ]
        ),
        Migration(version: 8, statements: [
            // What callers keep about themselves (PATCH /v1/users/me).
            """
            CREATE TABLE IF NOT EXISTS user_profiles (
                owner TEXT PRIMARY KEY,
                display_name TEXT,
                default_model TEXT,
                preferences TEXT,
                updated_at DOUBLE PRECISION NOT NULL
            )
            """,
        ]),
        Migration(version: 9, statements: [
            // An answer made through the Responses API: what the response echoes of its request
            // (JSON); cleared when the response is deleted, the message staying in its conversation.
            "ALTER TABLE messages ADD COLUMN response TEXT",
        ]),
        Migration(version: 10, statements: [
            // The Conversations API's `metadata` (a JSON object of at most 16 string pairs).
            "ALTER TABLE conversations ADD COLUMN metadata TEXT",
        ]),
    ]

}
