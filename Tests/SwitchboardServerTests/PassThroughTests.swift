import SwitchboardCore
import SwitchboardTesting
import Testing

/// An OpenAI-format provider's answers reach an OpenAI-format client as the provider sent them
/// (like a reverse proxy), while usage, cost and the other front doors still see the decoded answer.
@Suite struct PassThroughTests {
    static let config = standardConfig(extraModels: """
          - name: exact
            targets: [{ provider: fake, model: verbatim }]
            price: { input_per_mtok: 1000, output_per_mtok: 2000 }
          - name: stalled
            targets: [{ provider: fake, model: stall-body }]
            timeout_s: 1.0
          - name: stalled-then-fine
            targets: [{ provider: fake, model: stall-body }, { provider: fake, model: fake-model }]
            timeout_s: 1.0
        """)

    static func body(_ model: String, stream: Bool = false, usage: Bool = false) -> String {
        let options = usage ? #","stream_options":{"include_usage":true}"# : ""
        return #"{"model":"\#(model)","stream":\#(stream)\#(options),"messages":[{"role":"user","content":"hi"}]}"#
    }

    @Test func nonStreamedAnswerIsTheProvidersBytes() async throws {
        try await withGateway(config: Self.config) { gateway in
            let response = try await gateway.post("/v1/chat/completions", Self.body("exact"), headers: authHeaders)
            #expect(response.status == 200)
            #expect(response.body == FakeOpenAIUpstream.verbatimBody)
            // Usage was still read: 3 prompt + 2 completion tokens at 1000/2000 $ per million.
            #expect(response.header("x-cost-usd").flatMap(Double.init) == 0.007)
            #expect(response.header("x-switchboard-model") == "verbatim")
        }
    }

    @Test func streamedChunksAreTheProvidersBytes() async throws {
        try await withGateway(config: Self.config) { gateway in
            let expected = FakeOpenAIUpstream.verbatimStream.map { "data: \($0)\n\n" }.joined() + "data: [DONE]\n\n"
            let withUsage = try await gateway.post("/v1/chat/completions", Self.body("exact", stream: true, usage: true), headers: authHeaders)
            #expect(withUsage.status == 200)
            #expect(withUsage.body == expected)

            // The gateway asked for usage itself; a client that did not ask gets no usage chunk.
            let withoutUsage = try await gateway.post("/v1/chat/completions", Self.body("exact", stream: true), headers: authHeaders)
            let withoutUsageChunk = FakeOpenAIUpstream.verbatimStream.dropLast().map { "data: \($0)\n\n" }.joined() + "data: [DONE]\n\n"
            #expect(withoutUsage.body == withoutUsageChunk)
        }
    }

    @Test func otherFrontDoorsStillTranslateTheDecodedAnswer() async throws {
        try await withGateway(config: Self.config) { gateway in
            let message = try await gateway.post(
                "/v1/messages", #"{"model":"exact","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#,
                headers: authHeaders
            )
            #expect(message.status == 200)
            let json = try message.json()
            #expect(json["type"] == "message")
            #expect(json["content"]?.arrayValue?.first?["text"] == "exact bytes")
            #expect(json["usage"]?["input_tokens"] == 3)
            #expect(!message.body.contains("x_extension"))

            let streamed = try await gateway.post(
                "/v1/messages", #"{"model":"exact","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
                headers: authHeaders
            )
            #expect(streamed.status == 200)
            #expect(streamed.body.contains("event: message_start"))
            #expect(streamed.body.contains(#""text":"exact ""#))
            #expect(streamed.body.contains("event: message_stop"))
            #expect(!streamed.body.contains("x_score"))
        }
    }

    /// The non-streamed deadline covers the body, not just the head.
    @Test func aBodyThatStallsTimesOutAndFailsOver() async throws {
        try await withGateway(config: Self.config) { gateway in
            let failed = try await gateway.post("/v1/chat/completions", Self.body("stalled"), headers: authHeaders)
            #expect(failed.status == 504)
            #expect(try failed.json()["error"]?["code"] == "UPSTREAM_TIMEOUT")

            let served = try await gateway.post("/v1/chat/completions", Self.body("stalled-then-fine"), headers: authHeaders)
            #expect(served.status == 200)
            #expect(served.header("x-switchboard-model") == "fake-model")
        }
    }
}
