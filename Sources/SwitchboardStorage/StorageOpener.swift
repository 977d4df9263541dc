package import Logging
package import ServiceLifecycle
package import SwitchboardCore

/// The request-log store named by a storage URL, migrated, with what it needs to run and close.
package struct OpenedStorage: Sendable {
    package let store: any RequestLogStore
    package let governance: any GovernanceStore
    package let conversations: any ConversationStore
    package let profiles: any UserProfileStore
    /// Services the store needs running (PostgreSQL's connection pool).
    package let services: [any Service]
    package let close: @Sendable () async throws -> Void
}

/// Opens `sqlite:` or `postgres://` storage and runs the migrations.
///
/// For PostgreSQL a short-lived pool runs the migrations (a client runs once); the returned
/// service is a fresh pool the application runs.
package func openStorage(_ url: String, logger: Logger) async throws -> OpenedStorage {
    if url.hasPrefix("sqlite:") {
        let sqlite = try await SQLiteDatabase.open(url: url, logger: logger)
        let store = SQLRequestLogStore(provider: sqlite)
        do {
            try await store.migrate()
        } catch {
            try? await sqlite.close()
            throw ConfigError("the SQLite database at \(url) could not be prepared: \(error)")
        }
        return OpenedStorage(
            store: store, governance: SQLGovernanceStore(provider: sqlite), conversations: SQLConversationStore(provider: sqlite),
            profiles: SQLConversationStore(provider: sqlite), services: [],
            close: { try await sqlite.close() }
        )
    }
    let migrator: PostgresStorage
    let postgres: PostgresStorage
    do {
        migrator = try PostgresStorage(url: url, logger: logger)
        postgres = try PostgresStorage(url: url, logger: logger)
    } catch {
        throw ConfigError("`storage.url` \(StorageURL.redacted(url)) is not a usable PostgreSQL URL: \(error)")
    }
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await migrator.client.run() }
        group.addTask {
            do {
                try await SQLRequestLogStore(provider: migrator).migrate()
            } catch {
                throw ConfigError("the PostgreSQL database at \(StorageURL.redacted(url)) could not be prepared: \(String(reflecting: error))")
            }
        }
        group.addTask {
            // postgres-nio keeps retrying a connection it cannot make; don't wait for it forever.
            try await Task.sleep(for: .seconds(20))
            throw ConfigError("the PostgreSQL database at \(StorageURL.redacted(url)) could not be reached within 20 s")
        }
        defer { group.cancelAll() }
        // The migration finishing (or any task failing) decides; the pool and timer are then cancelled.
        _ = try await group.next()
    }
    return OpenedStorage(
        store: SQLRequestLogStore(provider: postgres), governance: SQLGovernanceStore(provider: postgres),
        conversations: SQLConversationStore(provider: postgres), profiles: SQLConversationStore(provider: postgres), services: [postgres],
        close: {}
    )
}

/// Opens the configured storage, runs `body` with its governance store, and closes it: for
/// command-line tools (`switchboard keys`) that work on the database without serving.
package func withGovernanceStore<Result: Sendable>(
    _ url: String,
    logger: Logger,
    _ body: @escaping @Sendable (any GovernanceStore) async throws -> Result
) async throws -> Result {
    let storage = try await openStorage(url, logger: logger)
    let result: Result
    do {
        result = try await run(body, on: storage)
    } catch {
        try? await storage.close()
        throw error
    }
    try await storage.close()
    return result
}

private func run<Result: Sendable>(
    _ body: @escaping @Sendable (any GovernanceStore) async throws -> Result,
    on storage: OpenedStorage
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        for service in storage.services {
            group.addTask {
                try await service.run()
                return nil
            }
        }
        group.addTask { try await body(storage.governance) }
        defer { group.cancelAll() }
        while let next = try await group.next() {
            if let next { return next }
        }
        throw CancellationError()
    }
}


/// Storage URLs as logs and errors may show them.
package enum StorageURL {
    /// The URL with its credentials replaced (`postgres://***@host/db`).
    package static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].firstIndex(of: "@") else {
            return url
        }
        return String(url[..<schemeEnd.upperBound]) + "***" + String(url[at...])
    }
}
