import CoreMetrics
import Logging
import SwitchboardCore
import Synchronization
import Testing

/// The pipeline and its stage seam, in process: a recording provider, no sockets.
@Suite struct CallPipelineTests {
    /// Answers with how many messages it got and what the first one said; counts its calls.
    final class RecordingAdapter: ProviderAdapter {
        let name = "rec"
        let type = ProviderType("stub")
        let knownModels = ["m"]
        let calls = Mutex(0)

        func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse {
            calls.withLock { $0 += 1 }
            let text = "\(request.messages.count) messages, first: \(request.messages.first?.content?.text ?? "")"
            return ChatResponse(
                id: "r", created: 0, model: request.model,
                choices: [.init(index: 0, message: ChatMessage(role: .assistant, content: .text(text)), finishReason: "stop")],
                usage: Usage(promptTokens: 5, completionTokens: 3)
            )
        }

        func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream {
            calls.withLock { $0 += 1 }
            let chunks = try await chat(request, call: call).streamChunks(usage: Usage(promptTokens: 5, completionTokens: 3))
            return ChatStream.replaying(chunks)
        }

        func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse { throw CancellationError() }
    }

    /// Remembers how each call ended, in order of finishing.
    final class Journal: Sendable {
        let entries = Mutex<[String]>([])
        func add(_ entry: String) { entries.withLock { $0.append(entry) } }
        var all: [String] { entries.withLock { $0 } }
    }

    struct Note: CallObserver {
        let name: String
        let journal: Journal
        var chunks = 0

        mutating func observe(_ chunk: ChatChunk) { chunks += 1 }

        func finish(_ settlement: CallSettlement) {
            journal.add("\(name): \(settlement.status) after \(chunks) chunks, \(settlement.usage.completionTokens) out")
        }
    }

    struct Prepend: CallStage {
        let journal: Journal
        func prepare(_ call: inout ModelCall) async throws(GatewayError) -> StagePlan {
            guard case .chat(var chat) = call.request else { return .proceed }
            chat.messages.insert(ChatMessage(role: .system, content: .text("be brief")), at: 0)
            call.request = .chat(chat)
            return .observe(Note(name: "prepend", journal: journal))
        }
    }

    struct Answer: CallStage {
        let journal: Journal
        func prepare(_ call: inout ModelCall) async throws(GatewayError) -> StagePlan {
            let response = ChatResponse(
                id: "cached", created: 0, model: "m",
                choices: [.init(index: 0, message: ChatMessage(role: .assistant, content: .text("from the stage")), finishReason: "stop")],
                usage: nil
            )
            return StagePlan(
                answer: StageAnswer(response: response, servedBy: ServedBy(provider: "cache", model: "m", upstreamDuration: .zero, attempts: 0), usage: Usage(promptTokens: 1, completionTokens: 2)),
                observer: Note(name: "answer", journal: journal)
            )
        }
    }

    struct Refuse: CallStage {
        func prepare(_ call: inout ModelCall) async throws(GatewayError) -> StagePlan {
            throw GatewayError(.rateLimitExceeded, "no")
        }
    }

    static func pipeline(_ stages: [any CallStage], adapter: RecordingAdapter) -> CallPipeline {
        let catalog = ModelCatalog(providers: [adapter], config: GatewayConfig())
        let gateway = Gateway(catalog: catalog, metrics: GatewayMetrics(factory: NOOPMetricsHandler.instance))
        return CallPipeline(gateway: gateway, stages: stages)
    }

    static func call(stream: Bool = false) -> ModelCall {
        var chat = ChatRequest(model: "rec/m", messages: [ChatMessage(role: .user, content: .text("hi"))])
        chat.stream = stream
        return ModelCall(.chat(chat), context: CallContext(principal: .master, requestID: "req", started: .now, logger: Logger(label: "test")), stream: stream)
    }

    @Test func aStageRewritesTheRequestAndObservesTheEnd() async throws {
        let journal = Journal()
        let adapter = RecordingAdapter()
        let answer = try await Self.pipeline([Prepend(journal: journal)], adapter: adapter).chat(Self.call())
        #expect(answer.response.choices.first?.message.content?.text == "2 messages, first: be brief")
        #expect(journal.all == ["prepend: 200 after 0 chunks, 3 out"])
    }

    @Test func aStageCanAnswerItselfAndTheUpstreamIsNotCalled() async throws {
        let journal = Journal()
        let adapter = RecordingAdapter()
        let pipeline = Self.pipeline([Prepend(journal: journal), Answer(journal: journal)], adapter: adapter)
        let answer = try await pipeline.chat(Self.call())
        #expect(answer.servedBy.provider == "cache" && answer.response.id == "cached")
        #expect(adapter.calls.withLock { $0 } == 0)
        // Observers finish in reverse order: the later stage's first.
        #expect(journal.all == ["answer: 200 after 0 chunks, 2 out", "prepend: 200 after 0 chunks, 2 out"])

        // Streamed, the stage's answer is replayed as chunks, usage last.
        let stream = try await pipeline.stream(Self.call(stream: true))
        var iterator = stream.makeIterator()
        var texts: [String] = []
        var sawUsage = false
        while let chunk = try await iterator.next() {
            texts += chunk.choices.compactMap(\.delta.content)
            if chunk.isUsageOnly { sawUsage = true }
        }
        iterator.finish(.completed)
        #expect(texts.joined() == "from the stage" && sawUsage)
        #expect(journal.all.suffix(2) == ["answer: 200 after 4 chunks, 2 out", "prepend: 200 after 4 chunks, 2 out"])
    }

    @Test func aRefusalFinishesTheObserversBeforeIt() async throws {
        let journal = Journal()
        let adapter = RecordingAdapter()
        let pipeline = Self.pipeline([Prepend(journal: journal), Refuse(), Answer(journal: journal)], adapter: adapter)
        await #expect(throws: GatewayError.self) { try await pipeline.chat(Self.call()) }
        #expect(journal.all == ["prepend: 429 after 0 chunks, 0 out"])
        #expect(adapter.calls.withLock { $0 } == 0)
    }

    @Test func aStreamIsSettledOnceAndAsClientGoneWhenLeftUnfinished() async throws {
        let journal = Journal()
        let adapter = RecordingAdapter()
        let pipeline = Self.pipeline([Prepend(journal: journal)], adapter: adapter)
        do {
            let stream = try await pipeline.stream(Self.call(stream: true))
            var iterator = stream.makeIterator()
            _ = try await iterator.next()
            _ = try iterator.nextIfReady()
            // The writer's task goes away without saying how the stream ended (the usage is then estimated).
        }
        #expect(journal.all == ["prepend: 499 after 2 chunks, 7 out"])

        let stream = try await pipeline.stream(Self.call(stream: true))
        var iterator = stream.makeIterator()
        while try await iterator.next() != nil {}
        iterator.finish(.completed)
        iterator.finish(.clientGone)
        #expect(journal.all.count == 2 && journal.all[1] == "prepend: 200 after 4 chunks, 3 out")
    }

    @Test func theLedgerWritesOneRowPerCallRefusalsIncluded() async throws {
        let sink = MemoryRecordSink()
        let adapter = RecordingAdapter()
        let ledger = LedgerStage(sink: sink, metrics: GatewayMetrics(factory: NOOPMetricsHandler.instance), captureLimit: 100, backlogged: { false })
        let pipeline = Self.pipeline([ledger, Refuse()], adapter: adapter)
        await #expect(throws: GatewayError.self) { try await pipeline.chat(Self.call()) }
        pipeline.refuse(Self.call(), GatewayError.validation("bad"))
        #expect(sink.records.map(\.status) == [429, 400])
        #expect(sink.records.allSatisfy { $0.endpoint == "chat" && $0.modelRequested == "rec/m" })

        let served = Self.pipeline([ledger], adapter: adapter)
        _ = try await served.chat(Self.call())
        let row = try #require(sink.records.last)
        #expect(row.status == 200 && row.provider == "rec" && row.promptTokens == 5 && row.completionTokens == 3)
        #expect(row.responseBody?.contains("2 messages") == false && row.responseBody?.contains("1 messages") == true)

        let backlogged = LedgerStage(sink: sink, metrics: GatewayMetrics(factory: NOOPMetricsHandler.instance), captureLimit: nil, backlogged: { true })
        await #expect(throws: GatewayError.self) { try await Self.pipeline([backlogged], adapter: adapter).chat(Self.call()) }
    }
}
