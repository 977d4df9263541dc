import Logging
import SQLKit
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
                    for table in ["request_log", "schema_migrations", "api_keys", "user_limits", "spend", "conversations", "messages", "branches", "tool_calls", "user_profiles"] {
                        try await database.raw(SQLQueryString("DROP TABLE IF EXISTS \(table)")).run()
                    }
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
            try await withGateway(config: standardConfig(), database: url) { gateway in
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

    @Test(arguments: backends)
    func governanceStoreKeepsKeysLimitsSpendAndReports(_ backend: String) async throws {
        try await withStore(backend) { open in
            let storage = try await open()
            try await running(storage) {
                let store = storage.governance
                var key = VirtualKey(
                    id: "key_1", name: "one", prefix: "sk-sb-abcdef", hash: "hash-1", userID: "alice", team: "ml", role: .viewer,
                    models: ["gpt-*"], rpm: 5, tpm: nil, maxBudgetUSD: 2.5, budgetPeriod: .daily, expiresAt: 1_900_000_000,
                    metadata: ["env": "prod", "n": 3], createdAt: 1_700_000_000
                )
                try await store.createKey(key)
                try await store.createKey(VirtualKey(id: "key_2", name: "two", prefix: "sk-sb-zzzzzz", hash: "hash-2", createdAt: 1_700_000_001))
                #expect(try await store.key(hash: "hash-1") == key)
                #expect(try await store.key(id: "key_2")?.name == "two")
                #expect(try await store.keys(userID: nil).map(\.id) == ["key_2", "key_1"])
                #expect(try await store.keys(userID: "alice").map(\.id) == ["key_1"])
                key.revokedAt = 1_700_000_100
                key.models = []
                try await store.updateKey(key)
                #expect(try await store.key(id: "key_1") == key)
                // A second key with the same hash is refused by the database.
                await #expect(throws: (any Error).self) {
                    try await store.createKey(VirtualKey(id: "key_3", name: "dup", prefix: "p", hash: "hash-1", createdAt: 0))
                }
                // Self-made keys: the cap is checked in the same transaction as the insert, even
                // when many race; revoked and expired keys do not count; makers are found by `created_by`.
                let stored = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for index in 0..<8 {
                        group.addTask {
                            try await store.createKey(
                                VirtualKey(id: "key_c\(index)", name: "c", prefix: "p", hash: "hash-c\(index)", userID: "carl", createdAt: 1, createdBy: "key:key_2"),
                                ifUser: "carl", holdsFewerThan: 3, now: 10
                            )
                        }
                    }
                    var stored = 0
                    for try await ok in group where ok { stored += 1 }
                    return stored
                }
                #expect(stored == 3)
                #expect(try await store.keys(createdBy: "key:key_2").count == 3)
                #expect(try await store.createKey(
                    VirtualKey(id: "key_d", name: "d", prefix: "p", hash: "hash-d", userID: "dee", createdAt: 1, revokedAt: 2),
                    ifUser: "dee", holdsFewerThan: 1, now: 10
                ))
                #expect(try await store.createKey(
                    VirtualKey(id: "key_e", name: "e", prefix: "p", hash: "hash-e", userID: "dee", createdAt: 1),
                    ifUser: "dee", holdsFewerThan: 1, now: 10
                ))

                try await store.setUserLimits(UserLimits(userID: "alice", rpm: 1, updatedAt: 1))
                try await store.setUserLimits(UserLimits(userID: "alice", rpm: 9, maxBudgetUSD: 4, budgetPeriod: .total, updatedAt: 2))
                #expect(try await store.userLimits("alice") == UserLimits(userID: "alice", rpm: 9, maxBudgetUSD: 4, budgetPeriod: .total, updatedAt: 2))
                #expect(try await store.userLimits("nobody") == nil)

                let day = 1_764_633_600.0  // 2025-12-02T00:00:00Z
                func row(_ id: String, _ time: Double, key: String?, user: String?, model: String, status: Int, cost: Double?) -> RequestRecord {
                    var record = RequestRecord(
                        requestID: id, timestamp: time, principal: key.map { "key:\($0)" } ?? "master", endpoint: "chat",
                        modelRequested: model, provider: "fake", modelServed: model, status: status, promptTokens: 10,
                        completionTokens: 5, latencyMilliseconds: 1, costUSD: cost
                    )
                    record.keyID = key
                    record.userID = user
                    record.requestBody = "body \(id)"
                    return record
                }
                try await storage.store.insert([
                    row("a", day - 3600, key: "key_1", user: "alice", model: "m1", status: 200, cost: 0.25),
                    row("b", day + 60, key: "key_1", user: "alice", model: "m2", status: 200, cost: 0.5),
                    row("c", day + 120, key: "key_2", user: nil, model: "m1", status: 502, cost: nil),
                ])
                try await storage.store.insert([row("d", day + 180, key: "key_1", user: "alice", model: "m1", status: 200, cost: 1)])
                #expect(abs(try await store.spend(scope: "key:key_1", since: 0) - 1.75) < 1e-9)
                #expect(abs(try await store.spend(scope: "key:key_1", since: day) - 1.5) < 1e-9)
                #expect(abs(try await store.spend(scope: "user:alice", since: day) - 1.5) < 1e-9)
                #expect(try await store.spend(scope: "key:key_2", since: 0) == 0)

                let byDay = try await store.usage(UsageQuery(groupBy: .day))
                #expect(byDay.map(\.group) == ["2025-12-01", "2025-12-02"])
                #expect(byDay.map(\.requests) == [1, 3])
                #expect(byDay.last?.errors == 1)
                let byModel = try await store.usage(UsageQuery(from: day, groupBy: .model))
                #expect(byModel.map(\.group) == ["m1", "m2"] && abs(byModel[0].costUSD - 1) < 1e-9)
                let byKey = try await store.usage(UsageQuery(groupBy: .key))
                #expect(byKey.map(\.group) == ["key_1", "key_2"])
                let total = try #require(try await store.usage(UsageQuery(userID: "alice", model: "m1")).first)
                #expect(total.requests == 2 && total.promptTokens == 20 && abs(total.costUSD - 1.25) < 1e-9)
                let logged = try await store.records(UsageQuery(keyID: "key_1"), limit: 2)
                #expect(logged.map(\.requestID) == ["d", "b"] && logged.first?.requestBody == "body d" && logged.first?.userID == "alice")

                // Retention removes old rows; spend totals stay.
                #expect(try await store.deleteRecords(before: day) == 1)
                #expect(try await store.records(UsageQuery(), limit: 10).count == 3)
                #expect(abs(try await store.spend(scope: "key:key_1", since: 0) - 1.75) < 1e-9)
            }
        }
    }

    /// A fresh database URL for `backend` that outlives one gateway run.
    func durableURL(_ backend: String, directory: URL) async throws -> String? {
        if backend == "postgres" {
            guard let url = Self.postgresURL else { return nil }
            try await withStore(backend) { _ in }
            return url
        }
        return "sqlite://" + directory.appendingPathComponent("durable.db").path
    }

    @Test(arguments: backends)
    func keysLimitsSpendAndLogsSurviveARestart(_ backend: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-restart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        guard let url = try await durableURL(backend, directory: directory) else { return }
        // A dollar per token: each call costs 18 (11 prompt + 7 completion tokens).
        let priced = """
              - name: priced
                targets: [{ provider: fake, model: fake-model }]
                price: { input_per_mtok: 1000000, output_per_mtok: 1000000 }
            """
        let config = governanceConfig(models: priced)
        let body = #"{"model":"priced","max_tokens":7,"messages":[{"role":"user","content":"hello"}]}"#
        let (id, secret, revokedSecret) = try await withGateway(config: config, database: url) { gateway in
            let key = try await gateway.createKey(#"{"name":"durable","user_id":"erin","max_budget_usd":40,"budget_period":"total"}"#)
            let revoked = try await gateway.createKey(#"{"name":"gone"}"#)
            #expect(try await gateway.request(.DELETE, "/admin/keys/\(revoked.id)", headers: authHeaders).status == 200)
            #expect(try await gateway.request(.PUT, "/admin/users/erin", body: #"{"tpm":100000}"#, headers: authHeaders).status == 200)
            #expect(try await gateway.post("/v1/chat/completions", body, headers: bearer(key.secret)).status == 200)
            #expect(try await gateway.post("/v1/chat/completions", body, headers: bearer(key.secret)).status == 200)
            let third = try await gateway.post("/v1/chat/completions", body, headers: bearer(key.secret))
            #expect(third.status == 429 && third.body.contains("BUDGET_EXCEEDED"))
            await gateway.flushRecords()
            return (key.id, key.secret, revoked.secret)
        }
        try await withGateway(config: config, database: url) { gateway in
            let me = try await gateway.get("/v1/users/me", headers: bearer(secret))
            #expect(me.status == 200)
            #expect(try me.json()["key_id"]?.stringValue == id)
            // The user's override came back with the key.
            #expect(try me.json()["limits"]?[1]?["tpm"] == 100000)
            #expect(try await gateway.get("/v1/users/me", headers: bearer(revokedSecret)).status == 401)
            // Spend was read back from the database: the budget is still spent.
            let again = try await gateway.post("/v1/chat/completions", body, headers: bearer(secret))
            #expect(again.status == 429 && again.body.contains("$36.00 spent"))
            let key = try await gateway.get("/admin/keys/\(id)", headers: authHeaders)
            #expect(try key.json()["spend"]?["spent_usd"]?.doubleValue == 36)
            await gateway.flushRecords()
            // Three rows from the first run, one (the refusal) from this one.
            let log = try await gateway.get("/api/prompt-log?limit=10", headers: authHeaders)
            #expect(try log.json()["data"]?.arrayCount == 4)
            let costs = try await gateway.get("/api/costs/\(id)", headers: authHeaders)
            #expect(try costs.json()["total_usd"]?.doubleValue == 36)
        }
    }
}
