import AsyncHTTPClient
import NIOCore
@testable import SwitchboardProviders
import SwitchboardCore
import Testing

/// Every provider's stream translator on its own (no I/O), then the shared chunk source over
/// bodies split at awkward places.
@Suite struct StreamTranslatorTests {
    static func sse(_ data: String, event: String? = nil) -> SSEEvent { SSEEvent(event: event, data: data) }

    // MARK: OpenAI

    @Test func openAIChunksKeepTheirBytesAndDoneEndsTheStream() throws {
        var translator = OpenAIStreamTranslator(provider: "o")
        let line = #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}"#
        let chunks = try translator.translate(Self.sse(line))
        #expect(chunks.first?.choices.first?.delta.content == "hi")
        #expect(chunks.first?.upstreamBody.bytes == Array(line.utf8))
        #expect(throws: UpstreamError.self) { try translator.bodyEnded() }
        #expect(try translator.translate(Self.sse("[DONE]")).isEmpty)
        #expect(translator.isFinished)
        #expect(try translator.bodyEnded().isEmpty)
    }

    @Test func openAIErrorsMidStreamAndBadChunksAreUpstreamErrors() {
        var translator = OpenAIStreamTranslator(provider: "o")
        do {
            _ = try translator.translate(Self.sse(#"{"id":"c","object":"x","created":1,"model":"m","choices":[],"error":{"type":"server_error","code":"sk-leaked-key-value"}}"#))
            Issue.record("no error")
        } catch {
            #expect(error.kind == .streamInterrupted && error.errorType == "server_error" && error.errorCode == nil)
        }
        #expect(throws: UpstreamError.self) { try translator.translate(Self.sse("not json")) }
        // A finish reason without [DONE] is a clean end for servers that close early.
        var lenient = OpenAIStreamTranslator(provider: "o")
        _ = try? lenient.translate(Self.sse(#"{"id":"c","object":"x","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#))
        #expect((try? lenient.bodyEnded()) != nil)
    }

    // MARK: Anthropic

    @Test func anthropicEventsBecomeChunksWithToolsThinkingAndUsage() throws {
        var translator = AnthropicStreamTranslator(created: 7, provider: "a")
        var chunks: [ChatChunk] = []
        for data in [
            #"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}"#,
            #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
            #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}"#,
            #"{"type":"content_block_stop","index":0}"#,
            #"{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
            #"{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hello"}}"#,
            #"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"t1","name":"f","input":{}}}"#,
            #"{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}}"#,
            #"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":9}}"#,
            #"{"type":"message_stop"}"#,
        ] {
            chunks += try translator.translate(Self.sse(data))
        }
        #expect(translator.isFinished)
        #expect(chunks.first?.choices.first?.delta.role == .assistant)
        #expect(chunks.compactMap { $0.choices.first?.delta.content }.joined() == "Hello")
        #expect(chunks.contains { $0.choices.first?.delta.extra["reasoning_content"] == "hmm" })
        #expect(chunks.contains { $0.choices.first?.delta.extra["thinking_blocks"]?.arrayValue?.first?["signature"] == "sig" })
        let tool = chunks.flatMap { $0.choices.first?.delta.toolCalls ?? [] }
        #expect(tool.first?.id == "t1" && tool.last?.function?.arguments == #"{"a":1}"#)
        #expect(chunks.contains { $0.choices.first?.finishReason == "tool_calls" })
        #expect(chunks.last?.usage?.promptTokens == 10 && chunks.last?.usage?.completionTokens == 9)
        #expect(try translator.bodyEnded().isEmpty)
    }

    @Test func anthropicBreaksOffWithoutMessageStopAndReportsErrors() {
        var translator = AnthropicStreamTranslator(created: 0, provider: "a")
        #expect(throws: UpstreamError.self) { try translator.bodyEnded() }
        do {
            _ = try translator.translate(Self.sse(#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#))
            Issue.record("no error")
        } catch {
            #expect(error.errorType == "overloaded_error")
        }
    }

    // MARK: Gemini

    @Test func geminiEventsBecomeChunksAndTheUsageComesLast() throws {
        var translator = GeminiStreamTranslator(provider: "g", model: "gemini-x", created: 3)
        var chunks = try translator.translate(Self.sse(
            #"{"responseId":"r1","candidates":[{"content":{"role":"model","parts":[{"text":"thinking…","thought":true},{"text":"Hel"}]}}],"usageMetadata":{"promptTokenCount":4}}"#
        ))
        chunks += try translator.translate(Self.sse(
            #"{"candidates":[{"content":{"parts":[{"text":"lo"},{"functionCall":{"name":"f","args":{"b":2}},"thoughtSignature":"ts"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":6,"thoughtsTokenCount":2}}"#
        ))
        #expect(chunks.first?.choices.first?.delta.role == .assistant)
        #expect(chunks.compactMap { $0.choices.first?.delta.content }.joined() == "Hello")
        #expect(chunks.contains { $0.choices.first?.delta.extra["reasoning_content"] == "thinking…" })
        let calls = chunks.flatMap { $0.choices.first?.delta.toolCalls ?? [] }
        let call = try #require(calls.first)
        #expect(call.function?.name == "f" && call.function?.arguments == #"{"b":2}"# && call.id?.hasSuffix("__thought__ts") == true)
        #expect(chunks.last?.choices.first?.finishReason == "tool_calls")
        let end = try translator.bodyEnded()
        #expect(end.first?.isUsageOnly == true && end.first?.usage?.completionTokens == 8)
    }

    @Test func geminiBlockedPromptsErrorsAndEarlyEnds() {
        var blocked = GeminiStreamTranslator(provider: "g", model: "m", created: 0)
        do {
            _ = try blocked.translate(Self.sse(#"{"promptFeedback":{"blockReason":"SAFETY"}}"#))
            Issue.record("no error")
        } catch {
            #expect(error.kind == .status(400) && error.errorCode == "SAFETY")
        }
        var failing = GeminiStreamTranslator(provider: "g", model: "m", created: 0)
        do {
            _ = try failing.translate(Self.sse(#"{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}"#))
            Issue.record("no error")
        } catch {
            #expect(error.kind == .streamInterrupted && error.errorType == "UNAVAILABLE")
        }
        let early = GeminiStreamTranslator(provider: "g", model: "m", created: 0)
        #expect(throws: UpstreamError.self) { try early.bodyEnded() }
    }

    @Test func geminiRejectedKeysAreCredentialFailures() throws {
        let body = #"{"error":{"code":400,"message":"API key not valid.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#
        let info = ErrorBodyDecoder.google.decode(ByteBuffer(string: body))
        #expect(info.status == 401 && info.type == "INVALID_ARGUMENT" && info.code == "API_KEY_INVALID")
        let plain = ErrorBodyDecoder.google.decode(ByteBuffer(string: #"{"error":{"code":400,"status":"INVALID_ARGUMENT"}}"#))
        #expect(plain.status == nil)
    }

    // MARK: The shared chunk source

    struct Buffers: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let buffers: [ByteBuffer]

        struct AsyncIterator: AsyncIteratorProtocol {
            var remaining: [ByteBuffer]
            mutating func next() async throws -> ByteBuffer? { remaining.isEmpty ? nil : remaining.removeFirst() }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: buffers) }
    }

    /// The body cut into pieces of `size` bytes.
    static func body(_ text: String, size: Int) -> HTTPClientResponse.Body {
        let bytes = Array(text.utf8)
        let buffers = stride(from: 0, to: bytes.count, by: size).map { ByteBuffer(bytes: bytes[$0..<min($0 + size, bytes.count)]) }
        return .stream(Buffers(buffers: buffers))
    }

    @Test(arguments: [1, 7, 64, 4096])
    func theSharedSourceReadsBodiesSplitAnywhere(size: Int) async throws {
        let text = [
            #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a"}}]}"#,
            #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"stop"}]}"#,
            "data: [DONE]", "data: ignored after the end",
        ].joined(separator: "\n\n") + "\n\n"
        var source = FramedChunkSource(
            body: Self.body(text, size: size), provider: "o", decoder: SSEFrames(), translator: OpenAIStreamTranslator(provider: "o")
        )
        var contents: [String] = []
        while let chunk = try await source.next() {
            contents += chunk.choices.compactMap(\.delta.content)
        }
        #expect(contents == ["a", "b"])
    }

    @Test func chunksBeforeAFailureStillComeOutFirst() async throws {
        let text = #"data: {"id":"c","object":"x","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"kept"}}]}"# + "\n\ndata: broken\n\n"
        var source = FramedChunkSource(
            body: Self.body(text, size: 4096), provider: "o", decoder: SSEFrames(), translator: OpenAIStreamTranslator(provider: "o")
        )
        #expect(try await source.next()?.choices.first?.delta.content == "kept")
        await #expect(throws: UpstreamError.self) { _ = try await source.next() }
    }

    @Test func aBodyThatEndsEarlyBreaksOff() async throws {
        var source = FramedChunkSource(
            body: Self.body(#"data: {"type":"ping"}"# + "\n\n", size: 5), provider: "a", decoder: SSEFrames(),
            translator: AnthropicStreamTranslator(created: 0, provider: "a")
        )
        do {
            while try await source.next() != nil {}
            Issue.record("no error")
        } catch let error as UpstreamError {
            #expect(error.kind == .streamInterrupted && error.detail.contains("message_stop"))
        }
    }
}
