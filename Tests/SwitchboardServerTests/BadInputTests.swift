import SwitchboardCore
import SwitchboardTesting
import Testing

/// Every bad input of the foundation issue: status, `error.code`, and a message naming the problem.
@Suite struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var headers: [(String, String)] = authHeaders
        var status: Int
        var code: String
        var messageContains: [String]

        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "not JSON", body: "{model: nope", status: 400, code: "VALIDATION_ERROR", messageContains: ["not valid JSON"]),
        Case(name: "JSON array instead of object", body: "[1,2]", status: 400, code: "VALIDATION_ERROR", messageContains: ["JSON object"]),
        Case(name: "messages missing", body: #"{"model":"gpt-test"}"#, status: 400, code: "VALIDATION_ERROR", messageContains: ["`messages`"]),
        Case(name: "model missing", body: #"{"messages":[{"role":"user","content":"x"}]}"#, status: 400, code: "VALIDATION_ERROR", messageContains: ["`model`"]),
        Case(name: "messages not an array", body: #"{"model":"gpt-test","messages":"hello"}"#, status: 400, code: "VALIDATION_ERROR", messageContains: ["`messages`", "array"]),
        Case(name: "message without role", body: #"{"model":"gpt-test","messages":[{"content":"x"}]}"#, status: 400, code: "VALIDATION_ERROR", messageContains: ["`messages[0].role`"]),
        Case(name: "unknown role", body: #"{"model":"gpt-test","messages":[{"role":"wizard","content":"x"}]}"#, status: 400, code: "VALIDATION_ERROR", messageContains: ["messages[0].role", "wizard"]),
        Case(name: "temperature of the wrong type", body: #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}],"temperature":"warm"}"#, status: 400, code: "VALIDATION_ERROR", messageContains: ["`temperature`", "number"]),
        Case(name: "temperature out of range", body: #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}],"temperature":7}"#, status: 400, code: "VALIDATION_ERROR", messageContains: ["`temperature`", "between 0 and 2"]),
        Case(name: "empty messages", body: #"{"model":"gpt-test","messages":[]}"#, status: 400, code: "VALIDATION_ERROR", messageContains: ["`messages`", "at least one"]),
        Case(name: "tool message without tool_call_id", body: #"{"model":"gpt-test","messages":[{"role":"tool","content":"x"}]}"#, status: 400, code: "VALIDATION_ERROR", messageContains: ["tool_call_id"]),
        Case(name: "content of the wrong type", body: #"{"model":"gpt-test","messages":[{"role":"user","content":42}]}"#, status: 400, code: "VALIDATION_ERROR", messageContains: ["messages[0].content"]),
        Case(name: "wrong content type", body: #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}"#, headers: [("content-type", "text/plain"), ("authorization", "Bearer sk-test-master")], status: 415, code: "VALIDATION_ERROR", messageContains: ["application/json", "text/plain"]),
        Case(name: "missing content type", body: #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}"#, headers: [("authorization", "Bearer sk-test-master")], status: 415, code: "VALIDATION_ERROR", messageContains: ["application/json", "missing"]),
        Case(name: "unknown model", body: #"{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}"#, status: 404, code: "MODEL_NOT_FOUND", messageContains: ["no-such-model", "gpt-test"]),
        Case(name: "missing bearer key", body: #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}"#, headers: [("content-type", "application/json")], status: 401, code: "AUTHENTICATION_ERROR", messageContains: ["Missing or invalid API key"]),
        Case(name: "wrong bearer key", body: #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}"#, headers: [("content-type", "application/json"), ("authorization", "Bearer sk-test-wrong")], status: 401, code: "AUTHENTICATION_ERROR", messageContains: ["Missing or invalid API key"]),
        Case(name: "malformed authorization", body: #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}"#, headers: [("content-type", "application/json"), ("authorization", "sk-test-master")], status: 401, code: "AUTHENTICATION_ERROR", messageContains: ["Missing or invalid API key"]),
    ]

    @Test(arguments: cases)
    func rejected(_ testCase: Case) async throws {
        try await withGateway(config: standardConfig(), transport: .router) { gateway in
            let response = try await gateway.post("/v1/chat/completions", testCase.body, headers: testCase.headers)
            #expect(response.status == testCase.status)
            #expect(response.header("content-type") == "application/json")
            let error = try #require(try response.json()["error"])
            #expect(error["code"]?.stringValue == testCase.code)
            #expect(error["request_id"]?.stringValue == response.header("x-request-id"))
            let message = try #require(error["message"]?.stringValue)
            for fragment in testCase.messageContains {
                #expect(message.contains(fragment), "message was: \(message)")
            }
            // Nothing reached the upstream.
            #expect(await gateway.upstream.recorder.requests.isEmpty)
        }
    }

    @Test func authFailuresGiveNoHint() async throws {
        try await withGateway(config: standardConfig(), transport: .router) { gateway in
            let body = #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}"#
            let missing = try await gateway.post("/v1/chat/completions", body)
            let wrong = try await gateway.post(
                "/v1/chat/completions", body, headers: [("content-type", "application/json"), ("authorization", "Bearer nope")]
            )
            #expect(try missing.json()["error"]?["message"] == (try wrong.json()["error"]?["message"]))
            #expect(!wrong.body.contains("sk-test-master"))
            // x-api-key is accepted as well (Anthropic-style clients).
            let viaHeader = try await gateway.post(
                "/v1/chat/completions", body, headers: [("content-type", "application/json"), ("x-api-key", "sk-test-master")]
            )
            #expect(viaHeader.status == 200)
            // Operational endpoints stay open.
            #expect(try await gateway.get("/health").status == 200)
            #expect(try await gateway.get("/v1/models").status == 401)
        }
    }

    @Test func bodyOverTheLimit() async throws {
        try await withGateway(config: standardConfig(extraServer: "  max_body_bytes: 2048"), transport: .router) { gateway in
            let big = String(repeating: "a", count: 4096)
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"gpt-test","messages":[{"role":"user","content":"\#(big)"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == 413)
            #expect(try response.json()["error"]?["code"] == "VALIDATION_ERROR")
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains("2048 bytes") == true)
            let small = try await gateway.post(
                "/v1/chat/completions", #"{"model":"gpt-test","messages":[{"role":"user","content":"ok"}]}"#,
                headers: authHeaders
            )
            #expect(small.status == 200)
        }
    }

    @Test func unknownEndpoint() async throws {
        try await withGateway(config: standardConfig(), transport: .router) { gateway in
            let response = try await gateway.get("/v1/nothing", headers: authHeaders)
            #expect(response.status == 404)
            #expect(try response.json()["error"]?["message"]?.stringValue?.contains("/v1/nothing") == true)
        }
    }
}
