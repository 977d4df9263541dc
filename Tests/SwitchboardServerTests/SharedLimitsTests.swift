import Foundation
import SwitchboardCore
import SwitchboardRedis
import SwitchboardTesting
import Testing

/// Rate limits counted in Redis (`limits.shared: redis`): one limit across replicas, and the
/// configured failure mode while Redis is away.
@Suite(.enabled(if: RedisServer.isAvailable), .serialized) struct SharedLimitsTests {
    static func config(failure: String = "fail_open", timeoutMilliseconds: Int = 1000) -> String {
        standardConfig() + """

            limits:
              shared: redis
              redis_url: ${REDIS}
              redis_failure: \(failure)
              redis_timeout_ms: \(timeoutMilliseconds)
            """
    }

    static let body = #"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}]}"#

    static func waitForBackend(up: Bool, _ gateway: GatewayTestContext) async throws {
        let line = #"rate_limiter_backend_up{backend="redis"} \#(up ? 1 : 0)"#
        for _ in 0..<400 {
            if try await gateway.get("/metrics", headers: authHeaders).body.contains(line) { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("the shared rate limiter never became \(up ? "up" : "down")")
    }

    @Test func twoReplicasCountOneLimit() async throws {
        try await withRedisServer { server in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-limits-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            // One database for both (the key is known to each), one Redis (the count is shared).
            let database = "sqlite://" + directory.appendingPathComponent("shared.db").path
            let environment = ["REDIS": server.url]
            try await withGateway(config: Self.config(), environment: environment, database: database) { first in
                let key = try await first.createKey(#"{"name":"five","rpm":5}"#)
                try await withGateway(config: Self.config(), environment: environment, database: database) { second in
                    var remaining: [String?] = []
                    for gateway in [first, first, first, second, second] {
                        let answer = try await gateway.post("/v1/chat/completions", Self.body, headers: bearer(key.secret))
                        #expect(answer.status == 200)
                        remaining.append(answer.header("x-ratelimit-remaining"))
                    }
                    // Each replica reports the shared count.
                    #expect(remaining == ["4", "3", "2", "1", "0"])
                    for gateway in [second, first] {
                        let refused = try await gateway.post("/v1/chat/completions", Self.body, headers: bearer(key.secret))
                        #expect(refused.status == 429)
                        #expect(try refused.json()["error"]?["code"] == "RATE_LIMIT_EXCEEDED")
                        #expect(Int(refused.header("retry-after") ?? "") ?? 0 >= 1)
                    }
                    #expect(await first.upstream.recorder.calls(model: "fake-model") + second.upstream.recorder.calls(model: "fake-model") == 5)
                    // Many at once across both: the script admits exactly the limit (one more
                    // only if a whole refill, 3 s at 20 a minute, passes meanwhile).
                    let twenty = try await first.createKey(#"{"name":"twenty","rpm":20}"#)
                    let burst = ContinuousClock.now
                    let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                        for index in 0..<60 {
                            let gateway = index.isMultiple(of: 2) ? first : second
                            group.addTask { try await gateway.post("/v1/chat/completions", Self.body, headers: bearer(twenty.secret)).status }
                        }
                        var statuses: [Int] = []
                        for try await status in group { statuses.append(status) }
                        return statuses
                    }
                    let admitted = statuses.filter { $0 == 200 }.count
                    // The bucket refills one request every 3 s while the burst runs.
                    let refilled = Int((ContinuousClock.now - burst).components.seconds / 3) + 1
                    #expect(admitted >= 20 && admitted <= 20 + refilled, "admitted \(admitted)")
                    #expect(statuses.allSatisfy { $0 == 200 || $0 == 429 })
                    // A limit of 0 admits nothing through Redis either.
                    let blocked = try await first.createKey(#"{"name":"blocked","rpm":0}"#)
                    let none = try await second.post("/v1/chat/completions", Self.body, headers: bearer(blocked.secret))
                    #expect(none.status == 429)
                    #expect(none.header("retry-after") == "60")
                    // The buckets are Redis's, under the configured prefix, and expire on their own.
                    let redis = server.client()
                    let ttl = try await redis.send(RedisCommand("TTL", [RESPArgument("switchboard:limits:key:\(key.id):rpm")])).integer
                    #expect((1...125).contains(ttl ?? 0))
                    await redis.shutdown()
                }
            }
        }
    }

    @Test(arguments: ["fail_open", "fail_closed"])
    func aRedisThatIsGoneFollowsTheFailureMode(_ failure: String) async throws {
        let server = try await RedisServer.start()
        let lines = LogLines()
        try await withGateway(
            config: Self.config(failure: failure, timeoutMilliseconds: 1000), environment: ["REDIS": server.url], logLevel: .info, log: lines.append
        ) { gateway in
            let key = try await gateway.createKey(#"{"name":"limited","rpm":1000}"#)
            #expect(try await gateway.post("/v1/chat/completions", Self.body, headers: bearer(key.secret)).status == 200)
            server.stop()
            for _ in 0..<3 {
                let answer = try await gateway.post("/v1/chat/completions", Self.body, headers: bearer(key.secret))
                if failure == "fail_open" {
                    #expect(answer.status == 200)
                } else {
                    #expect(answer.status == 503, "\(answer.body)")
                    #expect(answer.header("retry-after") == "1")
                    #expect(try answer.json()["error"]?["message"] == "The shared rate limiter cannot be reached; retry shortly.")
                }
            }
            // A caller without limits is never refused for it.
            #expect(try await gateway.post("/v1/chat/completions", Self.body, headers: authHeaders).status == 200)
            try await Self.waitForBackend(up: false, gateway)
            #expect(lines.all.filter { $0.contains("shared rate limiter unreachable") }.count == 1)

            let again = try await RedisServer.start(port: server.port)
            defer { again.stop() }
            try await Self.waitForBackend(up: true, gateway)
            #expect(lines.all.contains { $0.contains("shared rate limiter answers again") })
            #expect(try await gateway.post("/v1/chat/completions", Self.body, headers: bearer(key.secret)).status == 200)
        }
    }

    /// Waits until `count` replicas listen for key invalidations.
    static func waitForSubscribers(_ count: Int, _ redis: RedisClient) async throws {
        for _ in 0..<200 {
            let answer = try await redis.send(RedisCommand("PUBSUB", ["NUMSUB", "switchboard:limits:key-invalidations"]))
            if case .array(let parts?) = answer, parts.count == 2, (parts[1].integer ?? 0) >= Int64(count) { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("\(count) replicas never subscribed to key invalidations")
    }

    @Test func aKeyRevokedOnOneReplicaStopsWorkingOnTheOthersAtOnce() async throws {
        try await withRedisServer { server in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchboard-revoke-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = "sqlite://" + directory.appendingPathComponent("shared.db").path
            // Keys trusted for a minute: only the broadcast can make the second replica forget in time.
            let config = Self.config() + "\nauth:\n  key_cache_ttl_s: 60"
            let environment = ["REDIS": server.url]
            let redis = server.client()
            try await withGateway(config: config, environment: environment, database: database) { first in
                try await withGateway(config: config, environment: environment, database: database) { second in
                    try await Self.waitForSubscribers(2, redis)
                    let key = try await first.createKey(#"{"name":"soon-gone"}"#)
                    let edited = try await first.createKey(#"{"name":"narrowed"}"#)
                    for secret in [key.secret, edited.secret] {
                        #expect(try await second.post("/v1/chat/completions", Self.body, headers: bearer(secret)).status == 200)
                    }
                    let revoked = try await first.request(.DELETE, "/admin/keys/\(key.id)", headers: authHeaders)
                    #expect(revoked.status == 200)
                    let narrowed = try await first.request(.PATCH, "/admin/keys/\(edited.id)", body: #"{"models":["no-such-model"]}"#, headers: authHeaders)
                    #expect(narrowed.status == 200)
                    let started = ContinuousClock.now
                    var statuses: (Int, Int) = (200, 200)
                    while ContinuousClock.now - started < .seconds(1) {
                        statuses = (
                            try await second.post("/v1/chat/completions", Self.body, headers: bearer(key.secret)).status,
                            try await second.post("/v1/chat/completions", Self.body, headers: bearer(edited.secret)).status
                        )
                        if statuses == (401, 403) { break }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    // Revoked: the same 401 as no key; narrowed: the model is no longer this key's.
                    #expect(statuses.0 == 401)
                    #expect(statuses.1 == 403)
                }
            }
            await redis.shutdown()
        }
    }
}
