// Micro-benchmarks of the gateway's per-request and per-chunk work (issue #6), with
// ordo-one/benchmark. Built only when SWITCHBOARD_BENCHMARKS=1 (see the end of Package.swift):
//
//     SWITCHBOARD_BENCHMARKS=1 swift package benchmark
//
// Each benchmark's unit of work is one request or one stream chunk, so the reported time and
// malloc counts are per request / per chunk. `@testable` because the Bedrock translation is internal.

import AsyncHTTPClient
import Benchmark
import Foundation
import NIOCore
@testable import SwitchboardCore
@testable import SwitchboardProviders

// MARK: - Fixtures

/// A chat request as a client sends it: a system prompt, a short conversation, a tool, options.
let clientRequestJSON = Data(
    #"""
    {"model":"bench","stream":true,"temperature":0.2,"max_tokens":512,"stream_options":{"include_usage":true},
     "messages":[
      {"role":"system","content":"You are a concise assistant. Answer in one paragraph."},
      {"role":"user","content":"What is the capital of France, and what river runs through it?"},
      {"role":"assistant","content":"Paris; the Seine runs through it."},
      {"role":"user","content":"And how long is that river, roughly, in kilometres? Please cite a source."}],
     "tools":[{"type":"function","function":{"name":"lookup","description":"Look a fact up",
       "parameters":{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}}}],
     "user":"bench-user"}
    """#.utf8
)

/// What the fake upstream of bench/run.sh streams: 20 content chunks, a usage chunk, [DONE].
let sseEvents: [[UInt8]] = {
    var events: [[UInt8]] = []
    for index in 0..<20 {
        let delta = index == 0 ? #"{"role":"assistant","content":"w0 "}"# : #"{"content":"w\#(index) "}"#
        let finish = index == 19 ? #""stop""# : "null"
        events.append(Array(
            #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":\#(delta),"logprobs":null,"finish_reason":\#(finish)}]}"#
                .utf8) + Array("\n\n".utf8))
    }
    events.append(Array(
        #"data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":20,"total_tokens":29}}"#
            .utf8) + Array("\n\n".utf8))
    events.append(Array("data: [DONE]\n\n".utf8))
    return events
}()

/// The `data` of each chunk event (what the parser hands on), for decoding benchmarks.
let sseData: [Data] = sseEvents.dropLast().map { Data($0.dropFirst(6).dropLast(2)) }

/// A non-streamed answer as the fake upstream sends it.
let upstreamResponseJSON = Data(
    #"{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the benchmark upstream.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":8,"total_tokens":17}}"#
        .utf8
)

/// One Anthropic text stream: message_start, block start, 20 text deltas, block stop, message delta, stop.
let anthropicEvents: [Data] = {
    var events = [
        #"{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","model":"claude-3-5-haiku","content":[],"stop_reason":null,"usage":{"input_tokens":9,"output_tokens":1}}}"#,
        #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    ]
    for index in 0..<20 {
        events.append(#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"w\#(index) "}}"#)
    }
    events += [
        #"{"type":"content_block_stop","index":0}"#,
        #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":20}}"#,
        #"{"type":"message_stop"}"#,
    ]
    return events.map { Data($0.utf8) }
}()

/// The fake upstream's SSE answer as the network delivers it: one ByteBuffer per event.
let sseBuffers: [ByteBuffer] = sseEvents.map { ByteBuffer(bytes: $0) }

/// Hands the buffers out as an upstream body would, so the real chunk source can read them.
struct Buffers: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let buffers: [ByteBuffer]
    struct AsyncIterator: AsyncIteratorProtocol {
        var index = 0
        let buffers: [ByteBuffer]
        mutating func next() async -> ByteBuffer? {
            guard index < buffers.count else { return nil }
            defer { index += 1 }
            return buffers[index]
        }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffers: buffers) }
}

/// The encoder the stream relay (SwitchboardServer's StreamRelay.event) re-encodes chunks with.
func relayEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
    return encoder
}

/// "data: {json}\n\n", as StreamRelay.event frames a chunk.
@inline(__always)
func frame(_ data: Data) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(data.count + 8)
    out.append(contentsOf: "data: ".utf8)
    out.append(contentsOf: data)
    out.append(contentsOf: "\n\n".utf8)
    return out
}

// MARK: - Routing fixtures

let routingYAML = """
    providers:
      - { name: a, type: mock }
      - { name: b, type: mock }
      - { name: c, type: mock }
    models:
      - name: single
        targets: [{ provider: a, model: m }]
      - name: weighted
        strategy: weighted
        targets: [{ provider: a, model: m, weight: 3 }, { provider: b, model: m, weight: 1 }, { provider: c, model: m, weight: 1 }]
      - name: latency
        strategy: least-latency
        targets: [{ provider: a, model: m }, { provider: b, model: m }, { provider: c, model: m }]
      - name: cheapest
        strategy: cheapest
        targets: [{ provider: a, model: m }, { provider: b, model: m }, { provider: c, model: m }]
        price: { input_per_mtok: 0.15, output_per_mtok: 0.60 }
    """

func makeCatalog() -> ModelCatalog {
    let config = try! ConfigLoader(environment: [:], registry: BuiltInProviders.registry).load(yaml: routingYAML)
    let adapters: [any ProviderAdapter] = config.providers.map { MockAdapter(config: $0) }
    return ModelCatalog(providers: adapters, config: config)
}

// MARK: - Benchmarks

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        warmupIterations: 100,
        maxDuration: .seconds(2),
        maxIterations: 100_000
    )

    // SSE: per chunk.

    // The production path: FramedChunkSource with SSE frames and the OpenAI translator (SSEParser
    // specialised for ByteBufferView inside SwitchboardProviders, then decode) over one answer's 22 events.
    Benchmark("SSE read, per 20-chunk answer (FramedChunkSource: parse + decode)") { benchmark in
        for _ in benchmark.scaledIterations {
            let body = HTTPClientResponse.Body.stream(Buffers(buffers: sseBuffers))
            var source = FramedChunkSource(body: body, provider: "bench", decoder: SSEFrames(), translator: OpenAIStreamTranslator(provider: "bench"))
            while let chunk = try await source.next() { blackHole(chunk) }
        }
    }

    // SSEParser.feed called from outside SwitchboardProviders runs unspecialised (a generic
    // Sequence walked through witness tables): kept to show what that costs.
    Benchmark("SSE parse, per chunk (SSEParser.feed, unspecialised cross-module call)") { benchmark in
        var parser = SSEParser()
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(parser.feed(sseEvents[index]))
            index = index == 21 ? 0 : index + 1
        }
    }

    Benchmark("SSE chunk decode, per chunk (JSONDecoder → ChatChunk)") { benchmark in
        let decoder = JSONDecoder()
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(try decoder.decode(ChatChunk.self, from: sseData[index]))
            index = index == 20 ? 0 : index + 1
        }
    }

    let decodedChunks = sseData.map { try! JSONDecoder().decode(ChatChunk.self, from: $0) }
    Benchmark("SSE chunk re-encode, per chunk (JSONEncoder + data: framing)") { benchmark in
        let encoder = relayEncoder()
        var index = 0
        for _ in benchmark.scaledIterations {
            blackHole(frame(try encoder.encode(decodedChunks[index])))
            index = index == 20 ? 0 : index + 1
        }
    }

    Benchmark("SSE relay, per 20-chunk answer (read + decode + tally + re-encode + frame)") { benchmark in
        let encoder = relayEncoder()
        for _ in benchmark.scaledIterations {
            let body = HTTPClientResponse.Body.stream(Buffers(buffers: sseBuffers))
            var source = FramedChunkSource(body: body, provider: "bench", decoder: SSEFrames(), translator: OpenAIStreamTranslator(provider: "bench"))
            while var chunk = try await source.next() {
                blackHole(chunk.choices.first?.delta.content?.utf8.count)
                chunk.usage = nil
                blackHole(frame(try encoder.encode(chunk)))
            }
        }
    }

    // What StreamRelay does now for an OpenAI-format provider: chunks already received are
    // taken without a timer (nextIfReady), sent as the provider's bytes, batched into one write.
    Benchmark("SSE relay pass-through, per 20-chunk answer (read + decode + tally + verbatim frame, one buffer)") { benchmark in
        for _ in benchmark.scaledIterations {
            let body = HTTPClientResponse.Body.stream(Buffers(buffers: sseBuffers))
            var source = FramedChunkSource(body: body, provider: "bench", decoder: SSEFrames(), translator: OpenAIStreamTranslator(provider: "bench"))
            var out = ByteBuffer()
            while let chunk = try await source.next() {
                blackHole(chunk.choices.first?.delta.content?.utf8.count)
                if chunk.isUsageOnly { continue }
                out.writeString("data: ")
                out.writeBytes(chunk.upstreamBody.bytes)
                out.writeString("\n\n")
            }
            blackHole(out)
        }
    }

    Benchmark("Anthropic stream event → chunk, per event (decode + translate)") { benchmark in
        let decoder = JSONDecoder()
        var translator = AnthropicStreamTranslator(created: 1_700_000_000)
        var index = 0
        for _ in benchmark.scaledIterations {
            if index == 0 { translator = AnthropicStreamTranslator(created: 1_700_000_000) }
            let event = try decoder.decode(AnthropicStreamEvent.self, from: anthropicEvents[index])
            blackHole(try translator.translate(event, provider: "anthropic"))
            index = index == anthropicEvents.count - 1 ? 0 : index + 1
        }
    }

    // Requests: decode the client's body, translate, encode the upstream body. Per request.

    Benchmark("Request decode (client JSON → ChatRequest)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONCoding.decodeRequest(ChatRequest.self, from: clientRequestJSON))
        }
    }

    Benchmark("Request decode + encode, OpenAI pass-through") { benchmark in
        for _ in benchmark.scaledIterations {
            var request = try JSONCoding.decodeRequest(ChatRequest.self, from: clientRequestJSON)
            request.model = "gpt-4o-mini"
            for index in request.messages.indices {
                for field in OpenAIAdapter.foreignMessageFields { request.messages[index].extra[field] = nil }
            }
            blackHole(try JSONCoding.encode(request))
        }
    }

    Benchmark("Request decode + translate + encode, Anthropic") { benchmark in
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        for _ in benchmark.scaledIterations {
            var request = try JSONCoding.decodeRequest(ChatRequest.self, from: clientRequestJSON)
            request.model = "claude-3-5-haiku"
            var wire = try AnthropicTranslation.request(from: request, defaultMaxTokens: 4096)
            wire.stream = true
            blackHole(try encoder.encode(wire))
        }
    }

    Benchmark("Request decode + translate + encode, Gemini") { benchmark in
        let encoder = JSONEncoder()
        for _ in benchmark.scaledIterations {
            var request = try JSONCoding.decodeRequest(ChatRequest.self, from: clientRequestJSON)
            request.model = "gemini-2.0-flash"
            blackHole(try encoder.encode(try GeminiTranslation.request(from: request)))
        }
    }

    Benchmark("Request decode + translate + encode, Bedrock Converse") { benchmark in
        for _ in benchmark.scaledIterations {
            var request = try JSONCoding.decodeRequest(ChatRequest.self, from: clientRequestJSON)
            request.model = "anthropic.claude-3-5-haiku-20241022-v1:0"
            blackHole(try JSONCoding.encode(try BedrockTranslation.converseRequest(request)))
        }
    }

    Benchmark("Response decode + re-encode, OpenAI non-streamed") { benchmark in
        for _ in benchmark.scaledIterations {
            let response = try JSONDecoder().decode(ChatResponse.self, from: upstreamResponseJSON)
            blackHole(try JSONCoding.encode(response))
        }
    }

    // Routing: resolve the model, order its targets, take and release a slot. Per request.

    let catalog = makeCatalog()
    let board = HealthBoard(targets: catalog.allTargets())
    let selector = TargetSelector()
    for name in ["single", "weighted", "latency", "cheapest"] {
        Benchmark("Route selection, \(name) (resolve + order + admit + finish)") { benchmark in
            var generator = SystemRandomNumberGenerator()
            for _ in benchmark.scaledIterations {
                let route = try catalog.resolve(name)
                let now = ContinuousClock.now
                let ordered = selector.order(
                    route.targets, strategy: route.strategy, board: board,
                    prices: { catalog.prices.price(for: $0.model) }, now: now, using: &generator
                )
                let first = ordered[0]
                blackHole(board.admit(first.id, maxConcurrent: first.maxConcurrent, now: now))
                board.finish(first.id, success: true, latency: .milliseconds(3), now: now)
            }
        }
    }

    Benchmark("HealthBoard admit + finish, one target") { benchmark in
        let id = TargetID(provider: "a", model: "m")
        for _ in benchmark.scaledIterations {
            let now = ContinuousClock.now
            blackHole(board.admit(id, maxConcurrent: nil, now: now))
            board.finish(id, success: true, latency: .milliseconds(3), now: now)
        }
    }

    // Governance: what a call with a virtual key pays before and after the upstream. Per request.

    // A key and its user, both with RPM, TPM and a budget far from exhausted, as in bench/run.sh.
    let governedScopes = [
        LimitScope(id: "key:bench", label: "key `bench`", rpm: 100_000_000, tpm: 1_000_000_000,
                   budget: Budget(maxUSD: 1_000_000, period: .monthly)),
        LimitScope(id: "user:bench", label: "user `bench`", rpm: 100_000_000, tpm: 1_000_000_000,
                   budget: Budget(maxUSD: 1_000_000, period: .daily)),
    ]

    Benchmark("Rate limiter admit + settle, key + user scopes (RPM and TPM)") { benchmark in
        let limiter = RateLimiter()
        for _ in benchmark.scaledIterations {
            let now = limiter.seconds()
            blackHole(limiter.admit(governedScopes, promptTokens: 40, now: now))
            limiter.settleTokens(governedScopes, difference: 12, now: now)
        }
    }

    Benchmark("Budget reserve + settle, key + user budgets") { benchmark in
        let book = BudgetBook(loader: { _, _ in 0 }, clock: { Date().timeIntervalSince1970 })
        for _ in benchmark.scaledIterations {
            let hold = try await book.reserve(governedScopes, amount: 0.0004)
            book.settle(hold, actual: 0.0001)
        }
    }

    Benchmark("Governor admit + settle (model glob, limits, budget priced from the route)") { benchmark in
        let governor = Governor(
            limiter: RateLimiter(),
            budgets: BudgetBook(loader: { _, _ in 0 }, clock: { Date().timeIntervalSince1970 }),
            catalog: catalog, defaultMaxTokens: 4096
        )
        let principal = Principal(
            kind: .virtualKey, id: "key:bench", role: .user, keyID: "bench", userID: "bench",
            allowedModels: ["cheap*", "single"], scopes: governedScopes
        )
        let usage = Usage(promptTokens: 40, completionTokens: 12)
        for _ in benchmark.scaledIterations {
            let admission = try await governor.admit(principal, model: "cheapest", promptTokens: 40, maxTokens: 256)
            governor.settle(admission, usage: usage, cost: 0.00001)
        }
    }
}
