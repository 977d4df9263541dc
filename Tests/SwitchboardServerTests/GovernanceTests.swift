import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardServer
import SwitchboardTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

@Suite struct VirtualKeyTests {
    @Test func adminCreatesAKeyThatWorksAndIsStoredOnlyAsAHash() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let created = try await gateway.post(
                "/admin/keys",
                #"{"name":"ci-bot","user_id":"alice","team":"ml","role":"user","models":["gpt-*"],"rpm":100,"tpm":100000,"max_budget_usd":5,"budget_period":"daily","expires_at":"2099-01-01T00:00:00Z","metadata":{"env":"ci"}}"#,
                headers: authHeaders
            )
            #expect(created.status == 201)
            let json = try created.json()
            let secret = try #require(json["key"]?.stringValue)
            let id = try #require(json["id"]?.stringValue)
            #expect(secret.hasPrefix("sk-sb-") && secret.count == 54)
            #expect(json["prefix"]?.stringValue == String(secret.prefix(12)))
            #expect(json["user_id"] == "alice" && json["team"] == "ml" && json["role"] == "user")
            #expect(json["models"] == ["gpt-*"] && json["rpm"] == 100 && json["max_budget_usd"]?.doubleValue == 5)
            #expect(json["budget_period"] == "daily" && json["expires_at"] == "2099-01-01T00:00:00Z")
            #expect(json["metadata"]?["env"] == "ci" && json["status"] == "active")
            #expect(created.header("cache-control") == "no-store")

            let chat = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(secret))
            #expect(chat.status == 200)
            #expect(chat.header("x-ratelimit-limit") == "100")
            #expect(chat.header("x-ratelimit-remaining") == "99")
            #expect(chat.header("x-ratelimit-limit-tokens") == "100000")

            // Listed and fetched without the secret or its hash.
            let list = try await gateway.get("/admin/keys", headers: authHeaders)
            #expect(list.status == 200)
            #expect(!list.body.contains(secret) && !list.body.contains(KeySecret.hash(secret)))
            let one = try await gateway.get("/admin/keys/\(id)", headers: authHeaders)
            #expect(one.status == 200 && !one.body.contains(secret))
            #expect(try one.json()["spend"]?["max_budget_usd"]?.doubleValue == 5)

            // The store holds the hash; the secret appears nowhere in it.
            let stored = try #require(try await gateway.gateway.governance.key(hash: KeySecret.hash(secret)))
            #expect(stored.id == id && stored.hash != secret)
            await gateway.flushRecords()
            let rows = try await gateway.gateway.governance.records(UsageQuery(keyID: id), limit: 10)
            #expect(rows.count == 1 && rows.first?.userID == "alice" && rows.first?.team == "ml")
        }
    }

    @Test func editsAndRevocationTakeEffectOnTheNextRequest() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let key = try await gateway.createKey(#"{"name":"editable"}"#)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret)).status == 200)

            let patched = try await gateway.request(.PATCH, "/admin/keys/\(key.id)", body: #"{"models":["other"],"rpm":7}"#, headers: authHeaders)
            #expect(patched.status == 200)
            #expect(try patched.json()["rpm"] == 7)
            let denied = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret))
            #expect(denied.status == 403)
            let listed = try await gateway.get("/v1/models", headers: bearer(key.secret)).json()["data"]
            #expect(listed?.arrayCount == 1 && listed?[0]?["id"] == "other")
            #expect(try denied.json()["error"]?["code"] == "PERMISSION_DENIED")
            #expect(try denied.json()["error"]?["message"]?.stringValue?.contains("gpt-test") == true)
            let allowed = try await gateway.post(
                "/v1/chat/completions", #"{"model":"other","messages":[{"role":"user","content":"hi"}]}"#, headers: bearer(key.secret)
            )
            #expect(allowed.status == 200 && allowed.header("x-ratelimit-limit") == "7")

            let revoked = try await gateway.request(.DELETE, "/admin/keys/\(key.id)", headers: authHeaders)
            #expect(revoked.status == 200)
            #expect(try revoked.json()["status"] == "revoked")
            let refused = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret))
            #expect(refused.status == 401)
            #expect(try refused.json()["error"]?["code"] == "AUTHENTICATION_ERROR")
        }
    }

    @Test func expiredAndUnknownKeysGetTheSameAnswerAsNoKey() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let expired = try await gateway.createKey(#"{"name":"old","expires_at":"2020-01-01T00:00:00Z"}"#)
            let answers = [
                try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(expired.secret)),
                try await gateway.post("/v1/chat/completions", chatBody, headers: bearer("sk-sb-" + String(repeating: "0", count: 48))),
                try await gateway.post("/v1/chat/completions", chatBody, headers: bearer("not-a-key")),
                try await gateway.post("/v1/chat/completions", chatBody),
            ]
            let bodies = try answers.map { try $0.json()["error"]?["message"] }
            for answer in answers { #expect(answer.status == 401) }
            #expect(Set(bodies.map { "\(String(describing: $0))" }).count == 1)
        }
    }

    @Test(arguments: [
        (#"{}"#, "name", "Missing required field `name`"),
        (#"{"name":"x","role":"root"}"#, "role", "`role` must be one of admin, user, viewer"),
        (#"{"name":"x","rpm":-1}"#, "rpm", "`rpm` must be a whole number"),
        (#"{"name":"x","budget_period":"weekly"}"#, "budget_period", "daily, monthly, total"),
        (#"{"name":"x","expires_at":"soon"}"#, "expires_at", "ISO 8601"),
        (#"{"name":"x","models":"gpt-4o"}"#, "models", "list of model names"),
        (#"{"name":"x","colour":"red"}"#, "colour", "Unknown field `colour`"),
    ])
    func badKeyFieldsAreRefusedByName(body: String, param: String, message: String) async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let response = try await gateway.post("/admin/keys", body, headers: authHeaders)
            #expect(response.status == 400)
            let error = try response.json()["error"]
            #expect(error?["code"] == "VALIDATION_ERROR")
            #expect(error?["param"]?.stringValue == param)
            #expect(error?["message"]?.stringValue?.contains(message) == true, "\(response.body)")
            let missing = try await gateway.get("/admin/keys/key_0000000000000000", headers: authHeaders)
            #expect(missing.status == 404)
        }
    }
}

/// Every `/admin` and `/api` endpoint, for each kind of caller.
@Suite struct RoleTests {
    enum Caller: String, CaseIterable, Sendable {
        case master, admin, user, viewer, none, wrong
    }

    static let endpoints: [(method: String, path: String, body: String?, area: String)] = [
        ("POST", "/admin/keys", #"{"name":"made-by-test"}"#, "admin"),
        ("GET", "/admin/keys", nil, "admin"),
        ("GET", "/admin/keys/KEY_ID", nil, "admin"),
        ("PATCH", "/admin/keys/KEY_ID", #"{"team":"t"}"#, "admin"),
        ("DELETE", "/admin/keys/KEY_ID", nil, "admin"),
        ("PUT", "/admin/users/bob", #"{"rpm":5}"#, "admin"),
        ("GET", "/admin/users/bob", nil, "admin"),
        ("GET", "/api/costs", nil, "usage"),
        ("GET", "/api/costs/KEY_ID", nil, "usage"),
        ("GET", "/api/prompt-log?limit=5", nil, "usage"),
        ("GET", "/api/v1/usage?group_by=model", nil, "usage"),
        ("GET", "/api/v1/usage/costs?group_by=day", nil, "usage"),
        ("GET", "/v1/users/me", nil, "me"),
        ("GET", "/v1/users/me/usage", nil, "me"),
        ("GET", "/v1/users/me/balance", nil, "me"),
        ("GET", "/v1/users/me/api-keys", nil, "me"),
        ("POST", "/v1/chat/completions", chatBody, "model"),
    ]

    static func expected(_ caller: Caller, area: String) -> Int {
        switch (caller, area) {
        case (.none, _), (.wrong, _): return 401
        case (.master, _), (.admin, _): return 200
        case (.user, "admin"), (.user, "usage"): return 403
        case (.viewer, "admin"), (.viewer, "model"): return 403
        default: return 200
        }
    }

    @Test(arguments: Caller.allCases)
    func everyEndpointForEachRole(caller: Caller) async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let admin = try await gateway.createKey(#"{"name":"an-admin","role":"admin"}"#)
            let user = try await gateway.createKey(#"{"name":"a-user","role":"user","user_id":"u1"}"#)
            let viewer = try await gateway.createKey(#"{"name":"a-viewer","role":"viewer"}"#)
            let credential: String?
            switch caller {
            case .master: credential = "sk-test-master"
            case .admin: credential = admin.secret
            case .user: credential = user.secret
            case .viewer: credential = viewer.secret
            case .none: credential = nil
            case .wrong: credential = "sk-sb-000000000000000000000000000000000000000000000000"
            }
            for endpoint in Self.endpoints {
                // A fresh target key per call, so DELETE and PATCH always have one.
                let target = try await gateway.createKey(#"{"name":"target"}"#)
                let path = endpoint.path.replacingOccurrences(of: "KEY_ID", with: target.id)
                var headers: [(String, String)] = [("content-type", "application/json")]
                if let credential { headers.append(("authorization", "Bearer \(credential)")) }
                let method: HTTPMethod = switch endpoint.method {
                case "POST": .POST
                case "PATCH": .PATCH
                case "DELETE": .DELETE
                case "PUT": .PUT
                default: .GET
                }
                let response = try await gateway.request(method, path, body: endpoint.body, headers: headers)
                let want = Self.expected(caller, area: endpoint.area)
                let got = endpoint.method == "POST" && endpoint.path == "/admin/keys" && response.status == 201 ? 200 : response.status
                #expect(got == want, "\(caller) \(endpoint.method) \(endpoint.path): \(response.status) \(response.body)")
                if want == 403 {
                    #expect(try response.json()["error"]?["code"] == "PERMISSION_DENIED")
                }
            }
        }
    }

    @Test func usersCreateKeysOnlyWithinTheirOwnLimits() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let user = try await gateway.createKey(#"{"name":"u","user_id":"carol","rpm":10,"max_budget_usd":2,"models":["gpt-test"]}"#)
            let tooFast = try await gateway.post("/v1/users/me/api-keys", #"{"name":"fast","rpm":11}"#, headers: bearer(user.secret))
            #expect(tooFast.status == 403 && tooFast.body.contains("rpm"))
            let tooRich = try await gateway.post("/v1/users/me/api-keys", #"{"name":"rich","max_budget_usd":3}"#, headers: bearer(user.secret))
            #expect(tooRich.status == 403)
            let promoted = try await gateway.post("/v1/users/me/api-keys", #"{"name":"boss","role":"admin"}"#, headers: bearer(user.secret))
            #expect(promoted.status == 403)
            let otherModel = try await gateway.post("/v1/users/me/api-keys", #"{"name":"m","models":["other"]}"#, headers: bearer(user.secret))
            #expect(otherModel.status == 403)
            let someoneElse = try await gateway.post("/v1/users/me/api-keys", #"{"name":"x","user_id":"mallory"}"#, headers: bearer(user.secret))
            #expect(someoneElse.status == 403)

            let made = try await gateway.post("/v1/users/me/api-keys", #"{"name":"mine","rpm":5}"#, headers: bearer(user.secret))
            #expect(made.status == 201)
            let json = try made.json()
            // The child's own limits are what it asked for; the maker's budget is not copied into
            // a fresh scope (it would multiply): the child draws on the maker's scope instead.
            #expect(json["user_id"] == "carol" && json["rpm"] == 5 && json["max_budget_usd"] == .null && json["models"] == ["gpt-test"])
            #expect(json["created_by"]?.stringValue == "key:\(user.id)")
            let list = try await gateway.get("/v1/users/me/api-keys", headers: bearer(user.secret))
            #expect(try list.json()["data"]?.arrayCount == 2)
            let me = try await gateway.get("/v1/users/me", headers: bearer(try #require(json["key"]?.stringValue)))
            #expect(try me.json()["user_id"] == "carol" && me.json()["kind"] == "key")
        }
    }
}


@Suite struct RateLimitTests {
    @Test func requestsPastTheKeysRPMGet429WithHeaders() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let key = try await gateway.createKey(#"{"name":"slowpoke","rpm":2}"#)
            let first = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret))
            let second = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret))
            #expect(first.status == 200 && second.status == 200)
            #expect(first.header("x-ratelimit-remaining") == "1" && second.header("x-ratelimit-remaining") == "0")
            #expect(Int(second.header("x-ratelimit-reset-ms") ?? "") ?? 0 > 0)
            let third = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret))
            #expect(third.status == 429)
            let error = try third.json()["error"]
            #expect(error?["code"] == "RATE_LIMIT_EXCEEDED")
            #expect(error?["message"]?.stringValue?.contains("key `slowpoke`: 2 requests per minute") == true)
            #expect(Int(third.header("retry-after") ?? "") ?? 0 >= 1)
            #expect(third.header("x-ratelimit-limit") == "2" && third.header("x-ratelimit-remaining") == "0")
            // Another key is not affected.
            let other = try await gateway.createKey(#"{"name":"other","rpm":2}"#)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(other.secret)).status == 200)
            // A limit of 0 admits nothing, ever: a 429 that says to come back in a minute (not a crash on an infinite wait).
            let blocked = try await gateway.createKey(#"{"name":"blocked","rpm":0}"#)
            let none = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(blocked.secret))
            #expect(none.status == 429)
            #expect(none.header("retry-after") == "60")
            #expect(try none.json()["error"]?["message"] == "Rate limit exceeded for key `blocked`: 0 requests per minute. Retry in 60 s.")
            // The Anthropic door answers in its own shape.
            let messages = try await gateway.post(
                "/v1/messages", #"{"model":"gpt-test","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#,
                headers: bearer(key.secret)
            )
            #expect(messages.status == 429)
            #expect(try messages.json()["error"]?["type"] == "rate_limit_error")
        }
    }

    @Test func tokensPerMinuteCountRealUsage() async throws {
        // The fake upstream reports 18 tokens per call.
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let key = try await gateway.createKey(#"{"name":"tokens","tpm":30}"#)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret)).status == 200)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret)).status == 200)
            let refused = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret))
            #expect(refused.status == 429)
            #expect(refused.body.contains("30 tokens per minute"))
        }
    }

    @Test func defaultLimitsApplyToKeysWithoutTheirOwn() async throws {
        try await withGateway(config: governanceConfig("limits:\n  default_rpm: 1"), transport: .router) { gateway in
            let key = try await gateway.createKey(#"{"name":"defaulted"}"#)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret)).status == 200)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret)).status == 429)
            // The master key has no limits.
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: authHeaders).status == 200)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: authHeaders).status == 200)
        }
    }

    @Test func failedSignInsAreLimitedPerAddress() async throws {
        try await withGateway(config: governanceConfig("limits:\n  ip_rpm: 3")) { gateway in
            var statuses: [Int] = []
            for _ in 0..<5 {
                statuses.append(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer("sk-sb-wrong")).status)
            }
            #expect(statuses == [401, 401, 401, 429, 429])
            // Once throttled, the address gets 429 before any credential is looked at, a valid
            // one included: the answers tell a guesser nothing (HardeningTests, finding 11).
            let held = try await gateway.post("/v1/chat/completions", chatBody, headers: authHeaders)
            #expect(held.status == 429 && Int(held.header("retry-after") ?? "") ?? 0 >= 1)
        }
    }
}

@Suite struct BudgetTests {
    /// A route whose target is the fake's `slow` model (3 s), priced at a dollar per token.
    static let metered = """
          - name: metered
            targets: [{ provider: fake, model: slow }]
            price: { input_per_mtok: 1000000, output_per_mtok: 1000000, cached_input_per_mtok: 500000 }
        """

    @Test func aHundredParallelRequestsCannotOvershootABudgetWithRoomForTen() async throws {
        let prompt = String(repeating: "budget test words ", count: 8)
        let body = #"{"model":"metered","max_tokens":7,"messages":[{"role":"user","content":"\#(prompt)"}]}"#
        // What the gateway reserves per call: the prompt estimate plus max_tokens, a dollar each.
        let reservation = Double(TokenEstimator.estimatePrompt([ChatMessage(role: .user, content: .text(prompt))]) + 7)
        // The fake answers 11 prompt tokens (3 cached) and 7 completion tokens: $16.50 a call.
        let actual = 8.0 + 1.5 + 7.0
        #expect(reservation >= actual)
        let budget = reservation * 10.5
        try await withGateway(config: governanceConfig(models: Self.metered)) { gateway in
            let key = try await gateway.createKey(#"{"name":"capped","max_budget_usd":\#(budget),"budget_period":"monthly"}"#)
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 200)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        var request = HTTPClientRequest(url: gateway.baseURL + "/v1/chat/completions")
                        request.method = .POST
                        request.headers.add(name: "content-type", value: "application/json")
                        request.headers.add(name: "authorization", value: "Bearer \(key.secret)")
                        request.body = .bytes(ByteBuffer(string: body))
                        let response = try await client.execute(request, timeout: .seconds(60))
                        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                        return (Int(response.status.code), text)
                    }
                }
                var results: [(Int, String)] = []
                for try await result in group { results.append(result) }
                return results
            }
            try await client.shutdown()
            let served = statuses.filter { $0.0 == 200 }.count
            let refused = statuses.filter { $0.0 == 429 }
            #expect(served == 10, "served \(served)")
            #expect(refused.count == 90)
            #expect(refused.allSatisfy { $0.1.contains("BUDGET_EXCEEDED") && $0.1.contains("key `capped`") && $0.1.contains("resets at") })

            await gateway.flushRecords()
            let spent = try await gateway.gateway.governance.spend(scope: "key:\(key.id)", since: 0)
            #expect(abs(spent - Double(served) * actual) < 1e-6)
            #expect(spent <= budget)
            let rows = try await gateway.gateway.governance.records(UsageQuery(keyID: key.id), limit: 1000)
            let ledger = rows.compactMap(\.costUSD).reduce(0, +)
            #expect(abs(ledger - spent) < 1e-6, "spend table and ledger disagree")

            let balance = try await gateway.get("/v1/users/me/balance", headers: bearer(key.secret))
            let remaining = try #require(try balance.json()["remaining_usd"]?.doubleValue)
            #expect(abs(remaining - (budget - spent)) < 1e-6)
        }
    }

    @Test func jwtUsersGetTheDefaultBudgetUnlessOverridden() async throws {
        let config = governanceConfig(
            """
            limits:
              default_budget_usd: 0
              default_budget_period: daily
            auth:
              jwt:
                hs256_secret: test-secret-that-is-long-enough-32b
            """
        )
        try await withGateway(config: config, transport: .router) { gateway in
            let token = JWTTestTokens.hs256(["sub": "dora", "exp": .double(Date().timeIntervalSince1970 + 600)], secret: "test-secret-that-is-long-enough-32b")
            let refused = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(token))
            #expect(refused.status == 429)
            #expect(try refused.json()["error"]?["code"] == "BUDGET_EXCEEDED")
            #expect(refused.body.contains("user `dora`: daily budget of $0.00"))
            let balance = try await gateway.get("/v1/users/me/balance", headers: bearer(token))
            #expect(try balance.json()["remaining_usd"]?.doubleValue == 0)
            // An override for the user lifts the cap and sets their own rate.
            let put = try await gateway.request(.PUT, "/admin/users/dora", body: #"{"max_budget_usd":50,"rpm":1}"#, headers: authHeaders)
            #expect(put.status == 200)
            let after = try await gateway.get("/v1/users/me/balance", headers: bearer(token))
            #expect(try after.json()["budgets"]?[0]?["max_budget_usd"]?.doubleValue == 50)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(token)).status == 200)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(token)).status == 429)
            let user = try await gateway.get("/admin/users/dora", headers: authHeaders)
            #expect(try user.json()["limits"]?["rpm"] == 1)
        }
    }
}

