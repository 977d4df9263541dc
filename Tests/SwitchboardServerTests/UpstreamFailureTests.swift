import SwitchboardCore
import SwitchboardTesting
import Testing

/// Upstream failures are mapped, sanitized, never forwarded raw.
@Suite struct UpstreamFailureTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var model: String
        var status: Int
        var code: String
        var messageContains: [String]
        var retryAfter: String? = nil

        var testDescription: String { model }
    }

    static let cases: [Case] = [
        Case(model: "fail-400", status: 400, code: "VALIDATION_ERROR", messageContains: ["HTTP 400", "context_length_exceeded", "`fake`"]),
        Case(model: "fail-401", status: 502, code: "UPSTREAM_ERROR", messageContains: ["credentials", "HTTP 401"]),
        Case(model: "fail-404", status: 404, code: "MODEL_NOT_FOUND", messageContains: ["HTTP 404"]),
        Case(model: "fail-429", status: 429, code: "RATE_LIMIT_EXCEEDED", messageContains: ["HTTP 429"], retryAfter: "7"),
        Case(model: "fail-500", status: 502, code: "UPSTREAM_ERROR", messageContains: ["HTTP 500"]),
        Case(model: "fail-503", status: 502, code: "UPSTREAM_ERROR", messageContains: ["HTTP 503"]),
        Case(model: "invalid-json", status: 502, code: "UPSTREAM_ERROR", messageContains: ["invalid response"]),
    ]

    @Test(arguments: cases)
    func mapped(_ testCase: Case) async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"fake/\#(testCase.model)","messages":[{"role":"user","content":"x"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == testCase.status)
            let error = try #require(try response.json()["error"])
            #expect(error["code"]?.stringValue == testCase.code)
            let message = try #require(error["message"]?.stringValue)
            for fragment in testCase.messageContains {
                #expect(message.contains(fragment), "message was: \(message)")
            }
            #expect(response.header("retry-after") == testCase.retryAfter)
            // The upstream's own body never reaches the client.
            #expect(!response.body.contains(FakeOpenAIUpstream.secretMarker))
            #expect(!response.body.contains("sk-live-"))
            #expect(!response.body.contains("Upstream says no"))
            // And the failure is in the ledger.
            await gateway.flushRecords()
            let record = try #require(try await gateway.gateway.store.recent(limit: 1).first)
            #expect(record.status == testCase.status)
            #expect(record.errorCode == testCase.code)
        }
    }

    @Test func upstreamUnreachable() async throws {
        let config = standardConfig(
            extraProviders: """
                  - name: dead
                    type: openai-compatible
                    base_url: http://127.0.0.1:1/v1
                """,
            extraModels: """
                  - name: nowhere
                    targets: [{ provider: dead, model: m }]
                """
        )
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"nowhere","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(response.status == 502)
            #expect(try response.json()["error"]?["code"] == "UPSTREAM_ERROR")
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains("could not be reached") == true)
        }
    }

    @Test func upstreamTooSlow() async throws {
        let config = standardConfig(extraModels: """
              - name: impatient
                targets: [{ provider: fake, model: slow }]
                timeout_s: 0.3
            """)
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"impatient","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(response.status == 504)
            #expect(try response.json()["error"]?["code"] == "UPSTREAM_TIMEOUT")
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains("in time") == true)
        }
    }

    @Test func failsOverToTheNextTarget() async throws {
        let config = standardConfig(extraModels: """
              - name: sturdy
                targets:
                  - { provider: fake, model: fail-503 }
                  - { provider: fake, model: fake-model }
            """)
        try await withGateway(config: config) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"sturdy","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(response.status == 200)
            #expect(response.header("x-switchboard-model") == "fake-model")
            #expect(response.header("x-switchboard-attempts") == "2")
        }
    }
}
