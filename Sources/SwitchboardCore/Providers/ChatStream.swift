/// A source of streamed chunks; not shared between tasks.
package protocol ChatChunkSource {
    mutating func next() async throws -> ChatChunk?

    /// The next chunk if it can be had without waiting on the network (the source already
    /// holds the bytes), so callers can skip arming a timeout for it.
    mutating func nextIfReady() throws -> ReadyChunk
}

extension ChatChunkSource {
    package mutating func nextIfReady() throws -> ReadyChunk { .mustWait }
}

/// What ``ChatChunkSource/nextIfReady()`` found.
package enum ReadyChunk {
    case chunk(ChatChunk)
    /// The stream ended cleanly.
    case end
    /// The next chunk has to be awaited with ``ChatChunkSource/next()``.
    case mustWait
}

/// The chunks of one streamed answer, in order.
///
/// Sendable so it can be handed from the handler to the response writer; the iterator it makes
/// is used by one task only. Dropping the iterator before the end cancels the upstream call.
package struct ChatStream: AsyncSequence, Sendable {
    package typealias Element = ChatChunk

    private let makeSource: @Sendable () -> any ChatChunkSource

    package init(_ makeSource: @escaping @Sendable () -> any ChatChunkSource) {
        self.makeSource = makeSource
    }

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: makeSource())
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        var source: any ChatChunkSource

        package mutating func next() async throws -> ChatChunk? {
            try await source.next()
        }

        package mutating func nextIfReady() throws -> ReadyChunk {
            try source.nextIfReady()
        }
    }
}

extension ChatStream {
    /// A stream of chunks already at hand (a stage's own answer).
    /// - Parameter delay: the pause before each chunk after the first (`nil`: none).
    package static func replaying(_ chunks: [ChatChunk], delay: Duration? = nil) -> ChatStream {
        ChatStream { ReplayedChunkSource(chunks: chunks, delay: delay) }
    }
}

struct ReplayedChunkSource: ChatChunkSource {
    let chunks: [ChatChunk]
    let delay: Duration?
    var index = 0

    mutating func nextIfReady() throws -> ReadyChunk {
        guard index < chunks.count else { return .end }
        if delay != nil, index > 0 { return .mustWait }
        defer { index += 1 }
        return .chunk(chunks[index])
    }

    mutating func next() async throws -> ChatChunk? {
        guard index < chunks.count else { return nil }
        if let delay, index > 0 { try await Task.sleep(for: delay) }
        defer { index += 1 }
        return chunks[index]
    }
}
