import AsyncHTTPClient
import NIOCore
import SwitchboardCore
import SwitchboardTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Splits an SSE body into its `data:` payloads (and `event:` names, prefixed).
func sseEvents(_ body: String) -> [String] {
    body.components(separatedBy: "\n\n").compactMap { block in
        let lines = block.split(separator: "\n")
        guard !lines.isEmpty else { return nil }
        var event: String?
        var data: [String] = []
        for line in lines {
            if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { data.append(String(line.dropFirst(6))) }
        }
        let payload = data.joined(separator: "\n")
        return event.map { "\($0)|\(payload)" } ?? payload
    }
}

func decode(_ payload: String) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(payload.utf8))
}

@Suite struct StreamingTests {
    @Test func streamsChunksAndStripsUsageWhenNotAsked() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"one two three"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            #expect(response.header("x-switchboard-provider") == "fake")
            let events = sseEvents(response.body)
            #expect(events.last == "[DONE]")
            let chunks = try events.dropLast().map(decode)
            #expect(chunks.allSatisfy { $0["object"] == "chat.completion.chunk" })
            #expect(chunks.allSatisfy { $0["usage"] == nil })
            #expect(chunks.allSatisfy { ($0["choices"]?.arrayValue?.count ?? 0) == 1 })
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "echo: one two three")
            #expect(chunks.last?["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
            // The gateway always asked the upstream for usage.
            let sent = try #require(await gateway.upstream.recorder.last)
            #expect(sent.body["stream"] == true)
            #expect(sent.body["stream_options"]?["include_usage"] == true)

            // Usage was counted even though the client never saw it.
            await gateway.flushRecords()
            let record = try #require(try await gateway.gateway.store.recent(limit: 1).first)
            #expect(record.stream)
            #expect(record.status == 200)
            #expect(record.promptTokens == 11)
            #expect(record.completionTokens == 7)
            #expect(!record.usageEstimated)
        }
    }

    @Test func keepsUsageChunkWhenAsked() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"gpt-test","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#,
                headers: authHeaders
            )
            let events = sseEvents(response.body)
            #expect(events.last == "[DONE]")
            let last = try decode(events[events.count - 2])
            #expect(last["choices"] == [])
            #expect(last["usage"]?["total_tokens"] == 18)
        }
    }

    @Test func toolCallArgumentsSplitAcrossDeltas() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                """
                {"model":"gpt-test","stream":true,"messages":[{"role":"user","content":"weather?"}],
                 "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}],
                 "tool_choice":{"type":"function","function":{"name":"get_weather"}}}
                """,
                headers: authHeaders
            )
            let chunks = try sseEvents(response.body).dropLast().map(decode)
            let deltas = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["tool_calls"]?.arrayValue?.first }
            #expect(deltas.count > 5)
            #expect(deltas.first?["id"] == "call_abc123")
            #expect(deltas.first?["function"]?["name"] == "get_weather")
            let arguments = deltas.compactMap { $0["function"]?["arguments"]?.stringValue }.joined()
            #expect(arguments == #"{"city":"Paris","units":"celsius","days":[1,2,3]}"#)
            #expect(deltas.allSatisfy { $0["index"] == 0 })
            #expect(chunks.last?["choices"]?.arrayValue?.first?["finish_reason"] == "tool_calls")
        }
    }

    @Test func chunksAreForwardedAsTheyArrive() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            var request = HTTPClientRequest(url: gateway.baseURL + "/v1/chat/completions")
            request.method = .POST
            for (name, value) in authHeaders { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(string: #"{"model":"fake/slow-stream","stream":true,"messages":[{"role":"user","content":"a b c d e f g h"}]}"#))
            let response = try await gateway.client.execute(request, timeout: .seconds(30))
            var firstPiece: String?
            var received = ""
            for try await buffer in response.body {
                let piece = String(buffer: buffer)
                if firstPiece == nil {
                    firstPiece = piece
                    // The upstream is still producing: it has not finished the stream yet.
                    #expect(await gateway.upstream.recorder.completedStreams == 0)
                }
                received += piece
            }
            #expect(firstPiece?.contains("[DONE]") == false)
            #expect(received.hasSuffix("data: [DONE]\n\n"))
            #expect(await gateway.upstream.recorder.completedStreams == 1)
        }
    }

    @Test func clientDisconnectCancelsUpstream() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let client = gateway.client
            let url = gateway.baseURL + "/v1/chat/completions"
            let reader = Task {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                for (name, value) in authHeaders { request.headers.add(name: name, value: value) }
                request.body = .bytes(ByteBuffer(string: #"{"model":"fake/endless-stream","stream":true,"messages":[{"role":"user","content":"go"}]}"#))
                let response = try await client.execute(request, timeout: .seconds(60))
                var count = 0
                for try await _ in response.body {
                    count += 1
                    if count >= 3 { break }
                }
                // Leaving the loop early drops the body: the client's connection is closed.
            }
            _ = try? await reader.value
            // The fake upstream sees its stream's connection go away.
            var disconnected = 0
            for _ in 0..<500 {
                disconnected = await gateway.upstream.recorder.disconnectedStreams
                if disconnected > 0 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(disconnected == 1)
            #expect(await gateway.upstream.recorder.completedStreams == 0)

            // The gateway recorded the stream as cut short by the client, with estimated usage.
            var record: RequestRecord?
            for _ in 0..<200 {
                await gateway.flushRecords()
                record = try await gateway.gateway.store.recent(limit: 1).first
                if record != nil { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(record?.status == 499)
            #expect(record?.usageEstimated == true)
            #expect((record?.completionTokens ?? 0) > 0)
        }
    }

    @Test func upstreamDyingMidStreamEndsWithErrorEvent() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"fake/die-mid-stream","stream":true,"messages":[{"role":"user","content":"go"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == 200)
            let events = sseEvents(response.body)
            #expect(!events.contains("[DONE]"))
            let last = try #require(events.last)
            #expect(last.hasPrefix("error|"))
            let error = try decode(String(last.dropFirst("error|".count)))["error"]
            #expect(error?["code"] == "UPSTREAM_ERROR")
            #expect(error?["type"] == "upstream_error")
            #expect(error?["message"]?.stringValue?.contains("fake") == true)
            // What did arrive was forwarded first.
            #expect(events.contains { $0.contains("partial") })
        }
    }

    @Test func streamErrorsBeforeFirstByteAreHTTPErrors() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"fake/fail-503","stream":true,"messages":[{"role":"user","content":"go"}]}"#,
                headers: authHeaders
            )
            #expect(response.status == 502)
            #expect(response.header("content-type") == "application/json")
            #expect(try response.json()["error"]?["code"] == "UPSTREAM_ERROR")
        }
    }

    @Test func mockStreams() async throws {
        try await withGateway(config: standardConfig()) { gateway in
            let response = try await gateway.post(
                "/v1/chat/completions",
                #"{"model":"mock/echo","stream":true,"messages":[{"role":"user","content":"abcdefgh"}]}"#,
                headers: authHeaders
            )
            let chunks = try sseEvents(response.body).dropLast().map(decode)
            let text = chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == "abcdefgh")
            #expect(chunks.count == 6)  // role, 4 pieces, finish
        }
    }
}
