import Logging
import SwitchboardCore
import SwitchboardServer
import SwitchboardStorage
import SwitchboardTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The same store tests against SQLite and PostgreSQL. PostgreSQL runs when
/// `SWITCHBOARD_TEST_POSTGRES_URL` names a database (`.ci/run` starts one and sets it).
@Suite(.serialized) struct StorageTests {
    static let postgresURL = ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_POSTGRES_URL"]

    static var backends: [String] {
        ["sqlite"] + (postgresURL == nil ? [] : ["postgres"])
    }

    /// Opens the backend (fresh SQLite file or the test database, emptied), runs `body`, closes.
    func withStore<Result: Sendable>(
        _ backend: String,
        _ body: @Sendable (_ open: @Sendable () async throws -> OpenedStorage) async throws -> Result
    ) async throws -> Result {
        let logger = Logger(label: "storage-test")
        if backend == "postgres", let url = Self.postgresURL {
            let storage = try PostgresStorage(url: url, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await storage.client.run() }
                try await storage.withDatabase { database in
                    try await database.raw("DROP TABLE IF EXISTS request_log").run()
                    try await database.raw("DROP TABLE IF EXISTS schema_migrations").run()
                }
                group.cancelAll()
            }
            return try await body { try await openStorage(url, logger: logger) }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = "sqlite://" + directory.appendingPathComponent("store.db").path
        return try await body { try await openStorage(url, logger: logger) }
    }

    /// Runs the storage's services (the PostgreSQL pool) around `body`.
    func running<Result: Sendable>(_ storage: OpenedStorage, _ body: @Sendable () async throws -> Result) async throws -> Result {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for service in storage.services {
                group.addTask { try await service.run() }
            }
            defer { group.cancelAll() }
            let result = try await body()
            try await storage.close()
            return result
        }
    }

    static func record(_ index: Int, status: Int = 200) -> RequestRecord {
        RequestRecord(
            requestID: "req-\(index)", timestamp: 1_700_000_000 + Double(index), principal: "key-\(index % 3)",
            endpoint: "chat", modelRequested: "fast", provider: "openai", modelServed: "gpt-4o-mini", status: status,
            errorCode: status == 200 ? nil : "UPSTREAM_ERROR", promptTokens: index, completionTokens: 2 * index,
            usageEstimated: index % 2 == 0, latencyMilliseconds: 12.5, upstreamMilliseconds: 11.25, attempts: 1 + index % 2,
            stream: index % 2 == 1, costUSD: index % 2 == 0 ? Double(index) / 1024 : nil
        )
    }

    @Test(arguments: backends)
    func migrationsAreIdempotentAndRowsSurviveARestart(_ backend: String) async throws {
        try await withStore(backend) { open in
            let first = try await open()
            try await running(first) {
                try await first.store.migrate()
                try await first.store.ping()
                // More rows than one INSERT carries, so batching is exercised.
                try await first.store.insert((0..<1203).map { Self.record($0) })
            }
            let second = try await open()
            try await running(second) {
                let recent = try await second.store.recent(limit: 3)
                #expect(recent.map(\.requestID) == ["req-1202", "req-1201", "req-1200"])
                let newest = try #require(recent.first)
                #expect(newest == Self.record(1202))
                #expect(try await second.store.recent(limit: 5000).count == 1203)
            }
        }
    }

    @Test(arguments: backends)
    func gatewayRecordsRequestsInTheStore(_ backend: String) async throws {
        guard backend == "postgres", let url = Self.postgresURL else { return }
        try await withStore(backend) { _ in
            let config = standardConfig().replacingOccurrences(of: "url: DB", with: "url: \(url)")
            try await withGateway(config: config) { gateway in
                let response = try await gateway.post(
                    "/v1/chat/completions", #"{"model":"gpt-test","messages":[{"role":"user","content":"pg"}]}"#, headers: authHeaders
                )
                #expect(response.status == 200)
                #expect(try await gateway.get("/health/ready").json()["storage"] == "ok")
                await gateway.flushRecords()
                let record = try #require(try await gateway.gateway.store.recent(limit: 1).first)
                #expect(record.requestID == response.header("x-request-id"))
                #expect(record.promptTokens == 11)
            }
        }
    }
}
