import AsyncHTTPClient
import NIOCore
import SwitchboardCore

/// Splits a streamed response body into the provider's frames (SSE events, AWS event-stream
/// messages), in pieces of any size; a value with no I/O.
protocol FrameDecoder: Sendable {
    associatedtype Frame
    /// The frames the bytes complete.
    mutating func feed(_ bytes: ByteBufferView) throws(UpstreamError) -> [Frame]
    /// The body ended: whatever frame was left unterminated, or the error if it was cut inside one.
    mutating func finish() throws(UpstreamError) -> [Frame]
    /// A failure met after the frames the last ``feed(_:)`` returned: raised once they are through.
    var pendingFailure: UpstreamError? { get }
}

extension FrameDecoder {
    var pendingFailure: UpstreamError? { nil }
}

/// Turns one provider's frames into core chunks; a value with no I/O, tested on its own.
protocol StreamTranslator: Sendable {
    associatedtype Frame
    /// The chunks one frame produces (often none); throws when the frame reports an error.
    mutating func translate(_ frame: Frame) throws(UpstreamError) -> [ChatChunk]
    /// The stream's terminator was seen: nothing after it is read.
    var isFinished: Bool { get }
    /// The body ended: the last chunks (a final usage chunk), or the error if the stream broke off early.
    mutating func bodyEnded() throws(UpstreamError) -> [ChatChunk]
}

/// The one chunk source every streaming adapter uses: the HTTP body, a frame decoder and a
/// stream translator. Chunks already decoded are handed over without waiting
/// (``nextIfReady()``); a failure is raised after the chunks that came before it.
struct FramedChunkSource<Decoder: FrameDecoder, Translator: StreamTranslator>: ChatChunkSource
where Decoder.Frame == Translator.Frame {
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private let provider: String
    private var decoder: Decoder
    private var translator: Translator
    private var ready: [ChatChunk] = []
    private var readyIndex = 0
    /// A failure met while decoding, raised once the chunks before it are out.
    private var deferred: (any Error)?
    private var atEnd = false

    init(body: HTTPClientResponse.Body, provider: String, decoder: Decoder, translator: Translator) {
        self.iterator = body.makeAsyncIterator()
        self.provider = provider
        self.decoder = decoder
        self.translator = translator
    }

    mutating func nextIfReady() throws -> ReadyChunk {
        if readyIndex < ready.count {
            defer { readyIndex += 1 }
            return .chunk(ready[readyIndex])
        }
        if let deferred { throw deferred }
        if atEnd || translator.isFinished { return .end }
        return .mustWait
    }

    mutating func next() async throws -> ChatChunk? {
        while true {
            switch try nextIfReady() {
            case .chunk(let chunk): return chunk
            case .end: return nil
            case .mustWait: break
            }
            let buffer: ByteBuffer?
            do {
                buffer = try await iterator.next()
            } catch {
                throw UpstreamHTTP.classify(error, provider: provider)
            }
            ready.removeAll(keepingCapacity: true)
            readyIndex = 0
            do throws(UpstreamError) {
                guard let buffer else {
                    atEnd = true
                    try translate(decoder.finish())
                    ready += try translator.bodyEnded()
                    continue
                }
                try translate(decoder.feed(buffer.readableBytesView))
                if let failure = decoder.pendingFailure { throw failure }
            } catch {
                deferred = error
            }
        }
    }

    private mutating func translate(_ frames: [Decoder.Frame]) throws(UpstreamError) {
        for frame in frames where !translator.isFinished {
            ready += try translator.translate(frame)
        }
    }
}

/// SSE frames: `data:` events, for the OpenAI, Anthropic and Gemini streams.
struct SSEFrames: FrameDecoder {
    private var parser = SSEParser()

    mutating func feed(_ bytes: ByteBufferView) throws(UpstreamError) -> [SSEEvent] {
        parser.feed(bytes)
    }

    mutating func finish() throws(UpstreamError) -> [SSEEvent] {
        parser.finish().map { [$0] } ?? []
    }
}
