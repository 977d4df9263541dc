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

@Suite struct RequestLogTests {
    @Test func bodiesAreRedactedTruncatedAndAttributed() async throws {
        let config = governanceConfig(
            """
            request_log:
              mode: bodies
              preview_chars: 120
              redact: ["ORDER-\\\\d{5}"]
            """
        )
        try await withGateway(config: config, transport: .router) { gateway in
            let key = try await gateway.createKey(#"{"name":"logged","user_id":"fay"}"#)
            let content = "mail fay@example.com, card 4242 4242 4242 4242, order ORDER-12345, key sk-abcdefghijklmnopqrstuv. "
                + String(repeating: "padding ", count: 40)
            let body = #"{"model":"gpt-test","messages":[{"role":"user","content":"\#(content)"}]}"#
            let response = try await gateway.post("/v1/chat/completions", body, headers: bearer(key.secret))
            #expect(response.status == 200)
            let streamed = try await gateway.post(
                "/v1/chat/completions", #"{"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"stream fay@example.com"}]}"#,
                headers: bearer(key.secret)
            )
            #expect(streamed.status == 200)
            await gateway.flushRecords()
            let log = try await gateway.get("/api/prompt-log?limit=5", headers: authHeaders)
            #expect(log.status == 200)
            let entries = try log.json()["data"]
            let plain = try #require(entries?[1])
            let request = try #require(plain["request_body"]?.stringValue)
            for secret in ["fay@example.com", "4242 4242 4242 4242", "ORDER-12345", "sk-abcdefghijklmnopqrstuv"] {
                #expect(!request.contains(secret), "\(secret) was logged")
            }
            #expect(request.contains("[REDACTED:email]") && request.contains("[REDACTED]"))
            #expect(request.contains("…[truncated "))
            // The answer as the client got it (the provider's bytes, in its key order), redacted and cut.
            let answer = try #require(plain["response_body"]?.stringValue)
            #expect(answer.count > 20 && !answer.contains("fay@example.com"))
            #expect(response.body.hasPrefix(String(answer.prefix(20))))
            #expect(plain["key_id"]?.stringValue == key.id && plain["user_id"] == "fay")
            #expect(plain["cached_tokens"] == 3 && plain["prompt_tokens"] == 11 && plain["status"] == 200)
            let stream = try #require(entries?[0])
            #expect(stream["stream"] == true)
            #expect(stream["request_body"]?.stringValue?.contains("[REDACTED:email]") == true)
            #expect(stream["response_body"]?.stringValue?.isEmpty == false)
            // The log's own key filter.
            let filtered = try await gateway.get("/api/prompt-log?limit=5&key=\(key.id)", headers: authHeaders)
            #expect(try filtered.json()["data"]?.arrayCount == 2)
            let none = try await gateway.get("/api/prompt-log?key=key_none", headers: authHeaders)
            #expect(try none.json()["data"]?.arrayCount == 0)
        }
    }

    @Test func metadataModeKeepsNoBodiesAndOffModeKeepsOnlySpend() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            _ = try await gateway.post("/v1/chat/completions", chatBody, headers: authHeaders)
            await gateway.flushRecords()
            let rows = try await gateway.gateway.governance.records(UsageQuery(), limit: 5)
            #expect(rows.count == 1 && rows[0].requestBody == nil && rows[0].responseBody == nil)
        }
        try await withGateway(config: governanceConfig("request_log:\n  mode: off"), transport: .router) { gateway in
            let served = try await gateway.post("/v1/chat/completions", chatBody, headers: authHeaders)
            let failed = try await gateway.post(
                "/v1/chat/completions", #"{"model":"fake/fail-500","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(served.status == 200 && failed.status == 502)
            await gateway.flushRecords()
            let rows = try await gateway.gateway.governance.records(UsageQuery(), limit: 5)
            // The served call is usage and stays in the ledger; the failure is not kept.
            #expect(rows.map(\.status) == [200])
        }
    }

    @Test(arguments: [
        ("/api/prompt-log?limit=0", "limit"), ("/api/prompt-log?limit=abc", "limit"), ("/api/v1/usage?from=yesterday", "from"),
        ("/api/v1/usage?group_by=week", "group_by"), ("/api/costs?to=2026-02-30T99:00:00Z", "to"),
    ])
    func badQueriesAreRefusedByName(path: String, param: String) async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let response = try await gateway.get(path, headers: authHeaders)
            #expect(response.status == 400)
            #expect(try response.json()["error"]?["param"]?.stringValue == param)
        }
    }

    @Test func usageReportsGroupAndFilter() async throws {
        try await withGateway(config: governanceConfig(), transport: .router) { gateway in
            let key = try await gateway.createKey(#"{"name":"reported","user_id":"gus"}"#)
            for _ in 0..<3 { _ = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(key.secret)) }
            _ = try await gateway.post("/v1/chat/completions", #"{"model":"other","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders)
            await gateway.flushRecords()
            let byModel = try await gateway.get("/api/v1/usage?group_by=model", headers: authHeaders).json()
            #expect(byModel["data"]?.arrayCount == 2)
            #expect(byModel["total"]?["requests"] == 4)
            let byUser = try await gateway.get("/api/v1/usage?group_by=user&user=gus", headers: authHeaders).json()
            #expect(byUser["data"]?[0]?["group"] == "gus" && byUser["data"]?[0]?["total_tokens"] == 54)
            let today = CivilDate.isoDay(Date().timeIntervalSince1970)
            let byDay = try await gateway.get("/api/v1/usage/costs?group_by=day&from=\(today)", headers: authHeaders).json()
            #expect(byDay["data"]?[0]?["group"]?.stringValue == today)
            let mine = try await gateway.get("/v1/users/me/usage?group_by=model", headers: bearer(key.secret)).json()
            #expect(mine["total"]?["requests"] == 3)
            let costs = try await gateway.get("/api/costs", headers: authHeaders).json()
            #expect(costs["requests"] == 4 && costs["by_key"]?.arrayCount == 2)
        }
    }

    @Test func retentionSweepDeletesOldRowsButNotSpend() async throws {
        let config = governanceConfig("request_log:\n  retention_days: 30\n  sweep_interval_s: 1")
        try await withGateway(config: config, transport: .router) { gateway in
            var old = RequestRecord(
                requestID: "ancient", timestamp: Date().timeIntervalSince1970 - 40 * 86_400, principal: "key:k", endpoint: "chat",
                modelRequested: "gpt-test", status: 200, promptTokens: 1, completionTokens: 1, latencyMilliseconds: 1, costUSD: 0.5
            )
            old.keyID = "k"
            try await gateway.gateway.store.insert([old])
            _ = try await gateway.post("/v1/chat/completions", chatBody, headers: authHeaders)
            await gateway.flushRecords()
            let governance = gateway.gateway.governance
            // The background sweep (every second here) removes the 40-day-old row, and only it.
            var ids: [String] = []
            for _ in 0..<100 {
                ids = try await governance.records(UsageQuery(), limit: 10).map(\.requestID)
                if !ids.contains("ancient") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(ids.count == 1 && !ids.contains("ancient"))
            #expect(try await governance.spend(scope: "key:k", since: 0) == 0.5)
        }
    }
}
