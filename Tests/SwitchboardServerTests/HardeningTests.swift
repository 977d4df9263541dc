import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardServer
import SwitchboardTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The hardening issue, one finding per test, each over real HTTP: what an attacker holding a
/// valid low-privilege key tried, and what the gateway must answer now.
@Suite struct HardeningTests {
    /// A dollar per token on the fake's model: each call costs $18 (11 prompt + 7 completion
    /// tokens); a call with `max_tokens: 7` reserves less than that, so a $20 budget admits one.
    static let priced = """
          - name: priced
            targets: [{ provider: fake, model: fake-model }]
            price: { input_per_mtok: 1000000, output_per_mtok: 1000000 }
        """
    static let pricedBody = #"{"model":"priced","max_tokens":7,"messages":[{"role":"user","content":"hello"}]}"#

    func mint(_ gateway: GatewayTestContext, _ body: String, as secret: String) async throws -> TestResponse {
        try await gateway.post("/v1/users/me/api-keys", body, headers: bearer(secret))
    }

    // MARK: 1. Role escalation through self-service keys

    @Test func aUserKeyCannotMintAViewerKeyAndAViewerCannotMintAUserKey() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let user = try await gateway.createKey(#"{"name":"u","user_id":"ursula","role":"user"}"#)
            let escalated = try await mint(gateway, #"{"name":"x","role":"viewer"}"#, as: user.secret)
            #expect(escalated.status == 403)
            #expect(try escalated.json()["error"]?["code"] == "PERMISSION_DENIED")
            #expect(try escalated.json()["error"]?["param"] == "role")
            // The maker itself still gets 403 for the prompt log, and no viewer key exists.
            #expect(try await gateway.get("/api/prompt-log", headers: bearer(user.secret)).status == 403)
            let keys = try await gateway.gateway.governance.keys(userID: "ursula")
            #expect(keys.count == 1 && keys.allSatisfy { $0.role == .user })

            let viewer = try await gateway.createKey(#"{"name":"v","user_id":"vera","role":"viewer"}"#)
            let caller = try await mint(gateway, #"{"name":"y","role":"user"}"#, as: viewer.secret)
            #expect(caller.status == 403)
            let admin = try await mint(gateway, #"{"name":"z","role":"admin"}"#, as: user.secret)
            #expect(admin.status == 403)
            // Within the maker's permissions it works, and the role defaults to the maker's.
            let same = try await mint(gateway, #"{"name":"same"}"#, as: viewer.secret)
            #expect(same.status == 201)
            #expect(try same.json()["role"] == "viewer")
        }
    }

    // MARK: 2. Self-minted keys draw on their maker's budget and rate limits

    @Test func aChildKeySpendsItsMakersBudgetInsteadOfACopy() async throws {
        try await withGateway(config: governanceConfig(models: Self.priced), transport: .router) { gateway in
            let maker = try await gateway.createKey(#"{"name":"maker","user_id":"mo","max_budget_usd":20,"budget_period":"total"}"#)
            #expect(try await gateway.post("/v1/chat/completions", Self.pricedBody, headers: bearer(maker.secret)).status == 200)
            let spent = try await gateway.post("/v1/chat/completions", Self.pricedBody, headers: bearer(maker.secret))
            #expect(spent.status == 429 && spent.body.contains("BUDGET_EXCEEDED"))

            let child = try await mint(gateway, #"{"name":"child"}"#, as: maker.secret)
            #expect(child.status == 201)
            let childSecret = try #require(try child.json()["key"]?.stringValue)
            let refused = try await gateway.post("/v1/chat/completions", Self.pricedBody, headers: bearer(childSecret))
            #expect(refused.status == 429)
            #expect(try refused.json()["error"]?["code"] == "BUDGET_EXCEEDED")
            #expect(refused.body.contains("key `maker`"))
            // Nor can a grandchild get around it.
            let grandchild = try await mint(gateway, #"{"name":"grandchild"}"#, as: childSecret)
            #expect(grandchild.status == 201)
            let grandSecret = try #require(try grandchild.json()["key"]?.stringValue)
            #expect(try await gateway.post("/v1/chat/completions", Self.pricedBody, headers: bearer(grandSecret)).status == 429)
            // Only the maker's one call reached the upstream.
            #expect(await gateway.upstream.recorder.requests.count == 1)
        }
    }

    @Test func aChildsSpendIsBookedToItsMakerInTheSpendTable() async throws {
        try await withGateway(config: governanceConfig(models: Self.priced), transport: .router) { gateway in
            let maker = try await gateway.createKey(#"{"name":"maker","user_id":"mia","max_budget_usd":100,"budget_period":"total"}"#)
            let child = try await mint(gateway, #"{"name":"child"}"#, as: maker.secret)
            let childSecret = try #require(try child.json()["key"]?.stringValue)
            let childID = try #require(try child.json()["id"]?.stringValue)
            #expect(try await gateway.post("/v1/chat/completions", Self.pricedBody, headers: bearer(childSecret)).status == 200)
            await gateway.flushRecords()
            // A restart reads the maker's spend from this table: the child's call is in it.
            #expect(try await gateway.gateway.governance.spend(scope: "key:\(maker.id)", since: 0) == 18)
            #expect(try await gateway.gateway.governance.spend(scope: "key:\(childID)", since: 0) == 18)
            let balance = try await gateway.get("/v1/users/me/balance", headers: bearer(childSecret))
            #expect(try balance.json()["remaining_usd"]?.doubleValue == 82)
        }
    }

    @Test func aChildKeySharesItsMakersRequestsPerMinute() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let maker = try await gateway.createKey(#"{"name":"maker","user_id":"max","rpm":2}"#)
            let child = try await mint(gateway, #"{"name":"child"}"#, as: maker.secret)
            let childSecret = try #require(try child.json()["key"]?.stringValue)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(maker.secret)).status == 200)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(maker.secret)).status == 200)
            let refused = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(childSecret))
            #expect(refused.status == 429)
            #expect(refused.body.contains("RATE_LIMIT_EXCEEDED") && refused.body.contains("key `maker`"))
        }
    }

    @Test func aJWTUsersKeysAreBoundByThatUsersBudget() async throws {
        let secret = "test-secret-that-is-long-enough-32b"
        let config = governanceConfig(
            """
            limits:
              default_budget_usd: 20
              default_budget_period: total
            auth:
              jwt:
                hs256_secret: \(secret)
            """,
            models: Self.priced
        )
        try await withGateway(config: config, transport: .router) { gateway in
            let token = JWTTestTokens.hs256(["sub": "jo", "exp": .double(Date().timeIntervalSince1970 + 600)], secret: secret)
            #expect(try await gateway.post("/v1/chat/completions", Self.pricedBody, headers: bearer(token)).status == 200)
            let child = try await mint(gateway, #"{"name":"jo-key"}"#, as: token)
            #expect(child.status == 201)
            #expect(try child.json()["created_by"] == "user:jo")
            let childSecret = try #require(try child.json()["key"]?.stringValue)
            let refused = try await gateway.post("/v1/chat/completions", Self.pricedBody, headers: bearer(childSecret))
            #expect(refused.status == 429 && refused.body.contains("user `jo`"))
        }
    }

    @Test func minting_isCappedPerUserAndRateLimited() async throws {
        try await withGateway(config: governanceConfig("auth:\n  max_keys_per_user: 3\n  key_mint_per_minute: 100"), transport: .router) { gateway in
            let maker = try await gateway.createKey(#"{"name":"maker","user_id":"cap"}"#)
            #expect(try await mint(gateway, #"{"name":"one"}"#, as: maker.secret).status == 201)
            #expect(try await mint(gateway, #"{"name":"two"}"#, as: maker.secret).status == 201)
            let third = try await mint(gateway, #"{"name":"three"}"#, as: maker.secret)
            #expect(third.status == 403)
            #expect(third.body.contains("3 active keys"))
            // An admin is not capped.
            #expect(try await gateway.createKey(#"{"name":"by-admin","user_id":"cap"}"#).id.isEmpty == false)
        }
        try await withGateway(config: governanceConfig("auth:\n  key_mint_per_minute: 2"), transport: .router) { gateway in
            let maker = try await gateway.createKey(#"{"name":"maker","user_id":"fast"}"#)
            #expect(try await mint(gateway, #"{"name":"one"}"#, as: maker.secret).status == 201)
            #expect(try await mint(gateway, #"{"name":"two"}"#, as: maker.secret).status == 201)
            let third = try await mint(gateway, #"{"name":"three"}"#, as: maker.secret)
            #expect(third.status == 429)
            #expect(try third.json()["error"]?["code"] == "RATE_LIMIT_EXCEEDED")
            #expect(Int(third.header("retry-after") ?? "") ?? 0 >= 1)
        }
    }

    // MARK: 3. Child keys do not outlive their maker

    @Test func aChildExpiresWithItsMakerAndIsRevokedWithIt() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let tomorrow = Date().timeIntervalSince1970 + 86_400
            let maker = try await gateway.createKey(#"{"name":"maker","user_id":"eve","expires_at":\#(tomorrow)}"#)
            let child = try await mint(gateway, #"{"name":"child"}"#, as: maker.secret)
            #expect(child.status == 201)
            #expect(try child.json()["expires_at"] == .string(CivilDate.isoTimestamp(tomorrow)))
            let later = try await mint(gateway, #"{"name":"later","expires_at":"2099-01-01T00:00:00Z"}"#, as: maker.secret)
            #expect(later.status == 403)
            #expect(try later.json()["error"]?["param"] == "expires_at")

            let childSecret = try #require(try child.json()["key"]?.stringValue)
            let grandchild = try await mint(gateway, #"{"name":"grandchild"}"#, as: childSecret)
            let grandSecret = try #require(try grandchild.json()["key"]?.stringValue)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(grandSecret)).status == 200)

            let revoked = try await gateway.request(.DELETE, "/admin/keys/\(maker.id)", headers: authHeaders)
            #expect(revoked.status == 200)
            #expect(try revoked.json()["minted_keys_revoked"] == 2)
            for secret in [maker.secret, childSecret, grandSecret] {
                #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(secret)).status == 401)
            }
            let stored = try await gateway.gateway.governance.keys(userID: "eve")
            #expect(stored.count == 3 && stored.allSatisfy { $0.revokedAt != nil })
        }
    }

    @Test func narrowingOrExpiringAMakerNarrowsOrEndsWhatItMade() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let maker = try await gateway.createKey(#"{"name":"maker","user_id":"nia"}"#)
            let child = try await mint(gateway, #"{"name":"child"}"#, as: maker.secret)
            let childSecret = try #require(try child.json()["key"]?.stringValue)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(childSecret)).status == 200)
            // The maker is narrowed to another model: so is the child, whatever it holds itself.
            let narrowed = try await gateway.request(.PATCH, "/admin/keys/\(maker.id)", body: #"{"models":["other"]}"#, headers: authHeaders)
            #expect(narrowed.status == 200)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(childSecret)).status == 403)
            let listed = try await gateway.get("/v1/models", headers: bearer(childSecret))
            #expect(try listed.json()["data"]?.arrayCount == 1)
            // The maker becomes a viewer: the child can no longer call models at all.
            _ = try await gateway.request(.PATCH, "/admin/keys/\(maker.id)", body: #"{"models":null,"role":"viewer"}"#, headers: authHeaders)
            let demoted = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(childSecret))
            #expect(demoted.status == 403)
            #expect(try await gateway.get("/api/prompt-log", headers: bearer(childSecret)).status == 403)
            // The maker expires: the child stops working with it.
            _ = try await gateway.request(.PATCH, "/admin/keys/\(maker.id)", body: #"{"role":"user","expires_at":"2020-01-01T00:00:00Z"}"#, headers: authHeaders)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(childSecret)).status == 401)
        }
    }

    @Test func selfMadeKeysHaveBoundedLifetimesTeamsAndDepth() async throws {
        try await withGateway(config: governanceConfig("auth:\n  key_mint_per_minute: 100\n  max_keys_per_user: 100"), transport: .router) { gateway in
            let maker = try await gateway.createKey(#"{"name":"maker","user_id":"ola","team":"red"}"#)
            let child = try await mint(gateway, #"{"name":"child"}"#, as: maker.secret)
            // At most 90 days by default, even when the maker never expires.
            let expiresText = try #require(try child.json()["expires_at"]?.stringValue)
            let expires = try #require(CivilDate.parse(expiresText))
            #expect(abs(expires - (Date().timeIntervalSince1970 + 90 * 86_400)) < 120)
            #expect(try child.json()["team"] == "red")
            let tooLong = try await mint(gateway, #"{"name":"long","expires_at":"2099-01-01T00:00:00Z"}"#, as: maker.secret)
            #expect(tooLong.status == 403 && tooLong.body.contains("90 days"))
            let otherTeam = try await mint(gateway, #"{"name":"blue","team":"blue"}"#, as: maker.secret)
            #expect(otherTeam.status == 403)
            #expect(try otherTeam.json()["error"]?["param"] == "team")
            // Times nobody can render are refused, not stored.
            for bad in [#"1e300"#, #""inf""#, #""nan""#, #"-1e300"#] {
                let response = try await mint(gateway, #"{"name":"t","expires_at":\#(bad)}"#, as: maker.secret)
                #expect(response.status == 400, "\(bad): \(response.body)")
                #expect(try await gateway.post("/admin/keys", #"{"name":"t","expires_at":\#(bad)}"#, headers: authHeaders).status == 400)
            }
            // A chain of keys making keys ends at 16.
            var secret = maker.secret
            var depth = 0
            while depth < 20 {
                let next = try await mint(gateway, #"{"name":"level"}"#, as: secret)
                guard next.status == 201 else {
                    #expect(next.status == 403 && next.body.contains("16 deep"))
                    break
                }
                secret = try #require(try next.json()["key"]?.stringValue)
                depth += 1
            }
            #expect(depth == 15)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(secret)).status == 200)
            #expect(try await gateway.get("/admin/keys", headers: authHeaders).status == 200)
        }
    }

    @Test func recommendationsNameOnlyTheCallersModelsAndNoHealthDetail() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let narrow = try await gateway.createKey(#"{"name":"narrow","models":["gpt-*"]}"#)
            let answer = try await gateway.post("/v1/models/recommend", #"{"task":"chat"}"#, headers: bearer(narrow.secret))
            #expect(answer.status == 200)
            let models = try answer.json()["recommendations"]?.arrayValue?.compactMap { $0["model"]?.stringValue } ?? []
            #expect(models == ["gpt-test"], "\(models)")
            #expect(!answer.body.contains("success_rate") && !answer.body.contains("observed_requests"))
            let viewer = try await gateway.createKey(#"{"name":"v","role":"viewer"}"#)
            let detailed = try await gateway.post("/v1/models/recommend", #"{"task":"chat"}"#, headers: bearer(viewer.secret))
            #expect(detailed.body.contains("observed_requests"))
        }
    }

    @Test func metadataStoredBeforeTheBoundDoesNotBreakReads() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            var deep: JSONValue = "bottom"
            for _ in 0..<100 { deep = ["a": deep] }
            let secret = KeySecret.generate()
            try await gateway.gateway.governance.createKey(VirtualKey(
                id: "key_0123456789abcdef", name: "old", prefix: KeySecret.prefix(of: secret), hash: KeySecret.hash(secret),
                metadata: ["deep": deep], createdAt: Date().timeIntervalSince1970
            ))
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(secret)).status == 200)
            let keys = try await gateway.get("/admin/keys", headers: authHeaders)
            #expect(keys.status == 200 && keys.body.contains("key_0123456789abcdef"))
        }
    }

    // MARK: 4. Budget reservations count `n`

    @Test func aReservationCountsEveryChoice() async throws {
        try await withGateway(config: governanceConfig(models: Self.priced), transport: .router) { gateway in
            let key = try await gateway.createKey(#"{"name":"n","max_budget_usd":100,"budget_period":"total"}"#)
            let many = #"{"model":"priced","max_tokens":7,"n":128,"messages":[{"role":"user","content":"hello"}]}"#
            let refused = try await gateway.post("/v1/chat/completions", many, headers: bearer(key.secret))
            #expect(refused.status == 429)
            #expect(try refused.json()["error"]?["code"] == "BUDGET_EXCEEDED")
            let bestOf = #"{"model":"priced","max_tokens":7,"best_of":50,"messages":[{"role":"user","content":"hello"}]}"#
            #expect(try await gateway.post("/v1/chat/completions", bestOf, headers: bearer(key.secret)).status == 429)
            #expect(await gateway.upstream.recorder.requests.isEmpty)
            // One choice fits.
            #expect(try await gateway.post("/v1/chat/completions", Self.pricedBody, headers: bearer(key.secret)).status == 200)
        }
    }

    // MARK: 5. Deep nesting is refused in one linear pass

    static func nested(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    @Test func deeplyNestedBodiesAreRefusedAndHealthKeepsAnswering() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let viewer = try await gateway.createKey(#"{"name":"v","role":"viewer","user_id":"v"}"#)
            let deep = #"{"model":"nope","messages":[{"role":"user","content":"x"}],"x":\#(Self.nested(510))}"#
            #expect(deep.utf8.count < 1200)
            let results = try await withThrowingTaskGroup(of: (String, TestResponse).self) { group in
                for _ in 0..<4 {
                    group.addTask { ("chat", try await gateway.post("/v1/chat/completions", deep, headers: authHeaders)) }
                }
                group.addTask { ("health", try await gateway.get("/health")) }
                group.addTask { ("me", try await gateway.post("/v1/users/me/api-keys", #"{"name":"k","metadata":\#(Self.nested(300))}"#, headers: bearer(viewer.secret))) }
                var all: [(String, TestResponse)] = []
                for try await result in group { all.append(result) }
                return all
            }
            for (what, response) in results {
                switch what {
                case "health": #expect(response.status == 200)
                default:
                    #expect(response.status == 400, "\(what): \(response.status) \(response.body)")
                    #expect(try response.json()["error"]?["code"] == "VALIDATION_ERROR")
                    #expect(response.body.contains("nested deeper than 64 levels"), "\(response.body)")
                }
            }
            // The Anthropic door answers in its own shape.
            let messages = try await gateway.post(
                "/v1/messages", #"{"model":"gpt-test","max_tokens":5,"messages":[{"role":"user","content":\#(Self.nested(100))}]}"#,
                headers: authHeaders
            )
            #expect(messages.status == 400)
            #expect(try messages.json()["error"]?["type"] == "invalid_request_error")
            // Within the limit, many nested values are decoded (cost linear in the body) and the
            // request goes on to its ordinary answer.
            let wide = "[" + Array(repeating: Self.nested(60), count: 2000).joined(separator: ",") + "]"
            let body = #"{"model":"nope","messages":[{"role":"user","content":"x"}],"x":\#(wide)}"#
            let answered = try await gateway.post("/v1/chat/completions", body, headers: authHeaders)
            #expect(answered.status == 404)
            #expect(try await gateway.get("/health").status == 200)
        }
    }

    // MARK: 6. Stored free-form JSON is bounded

    @Test func keyMetadataIsBoundedInDepthAndSize() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let deep = try await gateway.post("/admin/keys", #"{"name":"deep","metadata":{"a":\#(Self.nested(505))}}"#, headers: authHeaders)
            #expect(deep.status == 400)
            #expect(deep.body.contains("nested deeper than 64 levels"))
            let big = String(repeating: "x", count: 20_000)
            let large = try await gateway.post("/admin/keys", #"{"name":"large","metadata":{"note":"\#(big)"}}"#, headers: authHeaders)
            #expect(large.status == 400)
            #expect(try large.json()["error"]?["param"] == "metadata")
            #expect(large.body.contains("16384"))
            let patched = try await gateway.createKey(#"{"name":"ok","metadata":{"team":"ml","tags":["a","b"]}}"#)
            let grow = try await gateway.request(.PATCH, "/admin/keys/\(patched.id)", body: #"{"metadata":{"note":"\#(big)"}}"#, headers: authHeaders)
            #expect(grow.status == 400)
            // Nothing was stored: the key authenticates and lists as it was.
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(patched.secret)).status == 200)
            let keys = try await gateway.get("/admin/keys", headers: authHeaders)
            #expect(keys.status == 200 && !keys.body.contains(big))
        }
    }

    // MARK: 7. count_tokens is governed like a model call

    @Test func countTokensChecksRoleModelsRateAndIsLogged() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let body = #"{"model":"gpt-test","messages":[{"role":"user","content":"how many tokens is this"}]}"#
            let viewer = try await gateway.createKey(#"{"name":"v","role":"viewer"}"#)
            let asViewer = try await gateway.post("/v1/messages/count_tokens", body, headers: bearer(viewer.secret))
            #expect(asViewer.status == 403)
            #expect(try asViewer.json()["error"]?["type"] == "permission_error")
            let narrow = try await gateway.createKey(#"{"name":"narrow","models":["other"]}"#)
            #expect(try await gateway.post("/v1/messages/count_tokens", body, headers: bearer(narrow.secret)).status == 403)
            let slow = try await gateway.createKey(#"{"name":"slow","rpm":1}"#)
            let first = try await gateway.post("/v1/messages/count_tokens", body, headers: bearer(slow.secret))
            #expect(first.status == 200)
            #expect(try first.json()["input_tokens"]?.intValue ?? 0 > 0)
            let second = try await gateway.post("/v1/messages/count_tokens", body, headers: bearer(slow.secret))
            #expect(second.status == 429)
            #expect(try second.json()["error"]?["type"] == "rate_limit_error")
            await gateway.flushRecords()
            let rows = try await gateway.gateway.governance.records(UsageQuery(keyID: slow.id), limit: 10)
            #expect(rows.map(\.endpoint) == ["count_tokens", "count_tokens"])
            #expect(rows.map(\.status).sorted() == [200, 429])
        }
    }

    // MARK: 8. Upstream identifiers are never quoted unfiltered

    @Test func anUpstreamEchoingItsCredentialLeaksItNowhere() async throws {
        let lines = LogLines()
        let config = governanceConfig(
            "request_log:\n  mode: bodies",
            models: """
                  - name: leaky
                    targets: [{ provider: fake, model: fail-echo-key }]
                """
        )
        let key = FakeOpenAIUpstream.apiKey
        try await withGateway(config: config, transport: .router, logLevel: .debug, log: lines.append) { gateway in
            let failed = try await gateway.post(
                "/v1/chat/completions", #"{"model":"leaky","messages":[{"role":"user","content":"hi"}]}"#, headers: authHeaders
            )
            #expect(failed.status == 502)
            #expect(!failed.body.contains(key) && failed.body.contains("HTTP 500"))
            let detailed = try await gateway.get("/health/detailed", headers: authHeaders)
            #expect(detailed.body.contains("fail-echo-key") && detailed.body.contains("HTTP 500"))
            #expect(!detailed.body.contains(key))
            // A prompt that quotes the provider's key (which looks like no known key shape) is
            // logged with the key replaced.
            let quoting = #"{"model":"gpt-test","messages":[{"role":"user","content":"my key is \#(key) ok"}]}"#
            #expect(try await gateway.post("/v1/chat/completions", quoting, headers: authHeaders).status == 200)
            await gateway.flushRecords()
            let log = try await gateway.get("/api/prompt-log?limit=5", headers: authHeaders)
            #expect(log.body.contains("[REDACTED:secret]"))
            #expect(!log.body.contains(key))
        }
        #expect(lines.all.contains { $0.contains("upstream attempt failed") })
        #expect(!lines.all.contains { $0.contains(key) }, "\(lines.all.filter { $0.contains(key) })")
    }

    // MARK: 9. Metrics label only configured names

    @Test func madeUpModelNamesDoNotBecomeMetricSeries() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            for index in 0..<30 {
                let body = #"{"model":"fake/made-up-\#(index)","messages":[{"role":"user","content":"hi"}]}"#
                #expect(try await gateway.post("/v1/chat/completions", body, headers: authHeaders).status == 200)
            }
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: authHeaders).status == 200)
            let metrics = try await gateway.get("/metrics", headers: authHeaders).body
            #expect(!metrics.contains("made-up"))
            #expect(metrics.contains(#"chat_completions_total{model="other",provider="fake",status="200"} 30"#))
            #expect(metrics.contains(#"chat_completions_total{model="fake-model",provider="fake",status="200"} 1"#))
        }
    }

    // MARK: 10. Operational detail needs the viewer permission

    @Test func operationalEndpointsNeedReadOperationsUnlessOpened() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let viewer = try await gateway.createKey(#"{"name":"v","role":"viewer"}"#)
            let user = try await gateway.createKey(#"{"name":"u","role":"user"}"#)
            for path in ["/health/detailed", "/info", "/metrics"] {
                let anonymous = try await gateway.get(path)
                #expect(anonymous.status == 401, "\(path)")
                #expect(!anonymous.body.contains("fake-model") && !anonymous.body.contains("\"fake\""))
                #expect(try await gateway.get(path, headers: bearer(user.secret)).status == 403, "\(path)")
                #expect(try await gateway.get(path, headers: bearer(viewer.secret)).status == 200, "\(path)")
            }
            for path in ["/health", "/health/live", "/live", "/health/ready", "/ready"] {
                #expect(try await gateway.get(path).status == 200, "\(path)")
            }
        }
        try await withGateway(config: governanceConfig(server: "  public_ops_endpoints: true"), transport: .router) { (gateway: GatewayTestContext) async throws in
            for path in ["/health/detailed", "/info", "/metrics"] {
                #expect(try await gateway.get(path).status == 200, "\(path)")
            }
        }
    }

    // MARK: 11. Failed sign-ins are throttled by default

    /// Over a socket: the throttle is per client address.
    @Test func failedSignInsAreThrottledByDefault() async throws {
        try await withGateway(config: governanceConfig()) { gateway in
            var statuses: [Int] = []
            var retryAfter: String?
            for index in 0..<150 {
                let response = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer("sk-sb-guess-\(index)"))
                statuses.append(response.status)
                if response.status == 429 { retryAfter = retryAfter ?? response.header("retry-after") }
            }
            // 20 a minute by default: the first 20 are plain refusals, then (the bucket refilling
            // by one every 3 s) nearly all are throttled.
            #expect(statuses.prefix(20).allSatisfy { $0 == 401 })
            #expect(statuses.filter { $0 == 429 }.count >= 120, "\(statuses)")
            #expect(Set(statuses) == [401, 429])
            #expect(Int(retryAfter ?? "") ?? 0 >= 1)
            // While throttled, even the right key gets 429: a 200 would tell a guesser it guessed right.
            // (A slow run refills a guess every 3 s, and one may land between the last refused
            // guess and the right key: spend what refilled, as a guesser would, and ask again.)
            var rightKeyThrottled = false
            for attempt in 0..<3 where !rightKeyThrottled {
                for index in 0..<3 {
                    if try await gateway.post("/v1/chat/completions", chatBody, headers: bearer("sk-sb-again-\(attempt)-\(index)")).status == 429 { break }
                }
                rightKeyThrottled = try await gateway.post("/v1/chat/completions", chatBody, headers: authHeaders).status == 429
            }
            #expect(rightKeyThrottled)
            // Only the first 20 (and the odd refill) reached the key store.
            #expect(statuses.filter { $0 == 401 }.count < 30)
        }
    }

    // MARK: 12. A 404 lists only the models the key may use

    @Test func aRestrictedKeysNotFoundNamesOnlyItsModels() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let key = try await gateway.createKey(#"{"name":"narrow","models":["gpt-*"]}"#)
            let missing = try await gateway.post(
                "/v1/chat/completions", #"{"model":"gpt-nope","messages":[{"role":"user","content":"x"}]}"#, headers: bearer(key.secret)
            )
            #expect(missing.status == 404)
            let message = try #require(try missing.json()["error"]?["message"]?.stringValue)
            #expect(message.contains("gpt-test"))
            #expect(!message.contains("other") && !message.contains("fake"), "\(message)")
            let unlisted = try await gateway.get("/v1/models/other", headers: bearer(key.secret))
            #expect(unlisted.status == 404)
            #expect(try await gateway.get("/v1/models/gpt-test", headers: bearer(key.secret)).status == 200)
            // The master key still sees everything.
            let open = try await gateway.post(
                "/v1/chat/completions", #"{"model":"gpt-nope","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(open.body.contains("other"))
        }
    }

    // MARK: 13. The database is created owner-only

    @Test func theSQLiteDatabaseAndItsDirectoryAreCreatedOwnerOnly() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sb-perms-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = root.appendingPathComponent("data")
        let file = directory.appendingPathComponent("switchboard.db").path
        try await withGateway(config: governanceConfig(), database: "sqlite://\(file)", transport: .router) { (gateway: GatewayTestContext) async throws in
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: authHeaders).status == 200)
            await gateway.flushRecords()
            func mode(_ path: String) -> Int {
                var info = stat()
                guard stat(path, &info) == 0 else { return -1 }
                return Int(info.st_mode) & 0o777
            }
            #expect(mode(directory.path) == 0o700)
            for path in [file, file + "-wal", file + "-shm"] {
                #expect(FileManager.default.fileExists(atPath: path), "\(path)")
                #expect(mode(path) == 0o600, "\(path): \(String(mode(path), radix: 8))")
            }
        }
    }
}

/// Log lines collected from a gateway under test.
final class LogLines: Sendable {
    private let lines = LockedValue<[String]>([])

    @Sendable func append(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    var all: [String] { lines.withLock { $0 } }
}
