import AsyncHTTPClient
import NIOCore
import SwitchboardCore

/// Reads an upstream's SSE body in batches of events, for the adapters' chunk sources.
struct SSEBodyReader {
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var parser = SSEParser()
    let provider: String
    /// The body has ended (and the parser was flushed).
    private(set) var atEnd = false

    init(_ iterator: HTTPClientResponse.Body.AsyncIterator, provider: String) {
        self.iterator = iterator
        self.provider = provider
    }

    /// The events the next piece of the body completes (possibly none), or, at the end of the
    /// body, whatever event was left unterminated. Transport failures become ``UpstreamError``.
    mutating func nextEvents() async throws -> [SSEEvent] {
        let buffer: ByteBuffer?
        do {
            buffer = try await iterator.next()
        } catch {
            throw UpstreamHTTP.classify(error, provider: provider)
        }
        guard let buffer else {
            atEnd = true
            return parser.finish().map { [$0] } ?? []
        }
        return parser.feed(buffer.readableBytesView)
    }
}
