import AsyncHTTPClient
import NIOCore
import SwitchboardCore
import SwitchboardServer
import SwitchboardStorage
import Logging
import SwitchboardTesting
import Testing

@Suite struct OperationsTests {
    @Test func healthReadinessAndInfo() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            for path in ["/health", "/health/live", "/live"] {
                let response = try await gateway.get(path)
                #expect(response.status == 200)
                #expect(try response.json()["status"] == "ok")
            }
            for path in ["/health/ready", "/ready"] {
                let response = try await gateway.get(path)
                #expect(response.status == 200)
                #expect(try response.json()["status"] == "ready")
                #expect(try response.json()["storage"] == "ok")
            }
            let info = try await gateway.get("/info", headers: authHeaders)
            #expect(try info.json()["name"] == "switchboard")
            #expect(try info.json()["version"]?.stringValue == SwitchboardVersion.current)
            #expect(try info.json()["providers"] == ["fake", "mock"])
            #expect(try info.json()["auth"] == true)
        }
    }

    @Test func requestIDIsKeptOrMade() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let body = #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}"#
            let kept = try await gateway.post("/v1/chat/completions", body, headers: authHeaders + [("x-request-id", "client-req-42")])
            #expect(kept.header("x-request-id") == "client-req-42")
            #expect(await gateway.upstream.recorder.last?.requestID == "client-req-42")
            let made = try await gateway.post("/v1/chat/completions", body, headers: authHeaders)
            #expect(made.header("x-request-id")?.hasPrefix("req_") == true)
            // An id with control characters is replaced, not echoed.
            let unsafe = try await gateway.post("/v1/chat/completions", body, headers: authHeaders + [("x-request-id", String(repeating: "x", count: 300))])
            #expect(unsafe.header("x-request-id")?.hasPrefix("req_") == true)
            let error = try await gateway.post("/v1/chat/completions", "{", headers: authHeaders + [("x-request-id", "bad-one")])
            #expect(error.header("x-request-id") == "bad-one")
            #expect(try error.json()["error"]?["request_id"] == "bad-one")
        }
    }

    @Test func metricsInPrometheusText() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            _ = try await gateway.post("/v1/chat/completions", #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders)
            _ = try await gateway.post("/v1/chat/completions", #"{"model":"nope","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders)
            _ = try await gateway.post("/v1/chat/completions", #"{"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders)
            let metrics = try await gateway.get("/metrics", headers: authHeaders)
            #expect(metrics.status == 200)
            #expect(metrics.header("content-type")?.hasPrefix("text/plain") == true)
            let text = metrics.body
            #expect(text.contains(#"http_requests_total{method="POST",path="/v1/chat/completions",status="200"} 2"#))
            #expect(text.contains(#"http_requests_total{method="POST",path="/v1/chat/completions",status="404"} 1"#))
            #expect(text.contains("# TYPE http_request_duration_seconds histogram"))
            #expect(text.contains(#"chat_completions_total{model="fake-model",provider="fake",status="200"} 2"#))
            #expect(text.contains(#"chat_tokens_total{model="fake-model",provider="fake",direction="input"} 22"#))
            #expect(text.contains(#"chat_tokens_total{model="fake-model",provider="fake",direction="output"} 14"#))
            #expect(text.contains("active_streams_current 0"))
            #expect(text.contains(#"errors_total{code="MODEL_NOT_FOUND"} 1"#))
        }
    }

    @Test func requestsAreRecordedInSQLite() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let ok = try await gateway.post("/v1/chat/completions", #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders)
            _ = try await gateway.post("/v1/chat/completions", #"{"model":"fake/fail-500","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders)
            await gateway.flushRecords()
            let records = try await gateway.gateway.store.recent(limit: 10)
            #expect(records.count == 2)
            let success = try #require(records.first { $0.status == 200 })
            #expect(success.requestID == ok.header("x-request-id"))
            #expect(success.principal == "master")
            #expect(success.modelRequested == "gpt-test")
            #expect(success.provider == "fake")
            #expect(success.modelServed == "fake-model")
            #expect(success.promptTokens == 11)
            #expect(success.completionTokens == 7)
            #expect(success.attempts == 1)
            #expect(success.latencyMilliseconds >= success.upstreamMilliseconds)
            let failure = try #require(records.first { $0.status == 502 })
            #expect(failure.errorCode == "UPSTREAM_ERROR")
        }
    }

    @Test func costIsReportedAndRecorded() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            // gpt-4o-mini: $0.15 in, $0.60 out per million tokens; the mock reports 5 + 1 tokens.
            let response = try await gateway.post(
                "/v1/chat/completions", #"{"model":"mock/gpt-4o-mini","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders
            )
            #expect(response.header("x-cost-usd") == "0.00000135")
            let stream = try await gateway.post(
                "/v1/chat/completions", #"{"model":"mock/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"x"}]}"#,
                headers: authHeaders
            )
            #expect(stream.header("x-cost-usd") == nil)
            // A model without a price has no cost header.
            let unpriced = try await gateway.post("/v1/chat/completions", #"{"model":"gpt-test","messages":[{"role":"user","content":"x"}]}"#, headers: authHeaders)
            #expect(unpriced.header("x-cost-usd") == nil)
            await gateway.flushRecords()
            let records = try await gateway.gateway.store.recent(limit: 3)
            let costs = records.filter { $0.modelServed == "gpt-4o-mini" }.compactMap(\.costUSD)
            #expect(costs.count == 2)
            #expect(costs.allSatisfy { abs($0 - 0.00000135) < 1e-12 })
            #expect(records.first { $0.modelServed == "fake-model" }?.costUSD == nil)
        }
    }

    @Test func gracefulShutdownLetsStreamsFinish() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            var request = HTTPClientRequest(url: gateway.baseURL + "/v1/chat/completions")
            request.method = .POST
            for (name, value) in authHeaders { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(string: #"{"model":"fake/slow-stream","stream":true,"messages":[{"role":"user","content":"a b c d e f g h"}]}"#))
            let response = try await gateway.client.execute(request, timeout: .seconds(30))
            var received = ""
            var triggered = false
            for try await buffer in response.body {
                received += String(buffer: buffer)
                if !triggered {
                    triggered = true
                    await gateway.serviceGroup?.triggerGracefulShutdown()
                }
            }
            // The stream that was in flight ran to its end.
            #expect(received.hasSuffix("data: [DONE]\n\n"))
            #expect(received.contains("h"))
            // New connections are refused once the server has stopped.
            var refused = false
            for _ in 0..<100 {
                do {
                    _ = try await gateway.get("/health")
                    try await Task.sleep(for: .milliseconds(20))
                } catch {
                    refused = true
                    break
                }
            }
            #expect(refused)
            // The stream's record was written before the writer stopped: read the file afresh.
            let database = try await SQLiteDatabase.open(url: gateway.gateway.config.storage.url, logger: Logger(label: "test"))
            let records = try await SQLRequestLogStore(provider: database).recent(limit: 5)
            try await database.close()
            #expect(records.contains { $0.stream && $0.status == 200 })
        }
    }
}
