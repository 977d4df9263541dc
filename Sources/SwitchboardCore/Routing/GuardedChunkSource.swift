/// Holds a chunk source while it moves between tasks.
///
/// `@unchecked Sendable` because the source inside is not Sendable: exactly one task owns it at
/// a time — the attempt that reads the first chunk, then the response writer — and a timed read
/// hands it to one child task that the owner awaits before touching it again.
final class SourceBox: @unchecked Sendable {
    var iterator: ChatStream.AsyncIterator

    init(_ iterator: ChatStream.AsyncIterator) {
        self.iterator = iterator
    }

    /// The next chunk, or a timeout error naming `what` when it takes longer than `timeout`.
    func next(within timeout: Duration?, provider: String, what: String) async throws -> ChatChunk? {
        // A chunk already received needs no timer (most chunks, when the provider sends
        // several per packet): a child task and a timer per chunk would cost more than the chunk.
        switch try iterator.nextIfReady() {
        case .chunk(let chunk): return chunk
        case .end: return nil
        case .mustWait: break
        }
        guard let timeout else { return try await iterator.next() }
        enum Outcome: Sendable {
            case chunk(ChatChunk?)
            case timedOut
        }
        let outcome = try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask { .chunk(try await self.iterator.next()) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return .timedOut
            }
            defer { group.cancelAll() }
            return try await group.next() ?? .timedOut
        }
        switch outcome {
        case .chunk(let chunk): return chunk
        case .timedOut: throw UpstreamError(.timeout, provider: provider, detail: "no \(what) within \(timeout)")
        }
    }
}

/// The stream the gateway hands to front doors: the first chunk already read, idle and total
/// timeouts enforced, and the call settled on the health board when the stream ends.
struct GuardedChunkSource: ChatChunkSource {
    let box: SourceBox
    var first: ChatChunk?
    let lease: CallLease
    let slot: SlotRelease
    let idle: Duration?
    let deadline: ContinuousClock.Instant
    let provider: String
    let firstByteLatency: Duration
    private var done = false

    init(
        box: SourceBox, first: ChatChunk, lease: CallLease, slot: SlotRelease, idle: Duration?,
        deadline: ContinuousClock.Instant, provider: String, firstByteLatency: Duration
    ) {
        self.box = box
        self.first = first
        self.lease = lease
        self.slot = slot
        self.idle = idle
        self.deadline = deadline
        self.provider = provider
        self.firstByteLatency = firstByteLatency
    }

    mutating func nextIfReady() throws -> ReadyChunk {
        if let chunk = first {
            first = nil
            return .chunk(chunk)
        }
        guard !done else { return .end }
        do {
            let ready = try box.iterator.nextIfReady()
            if case .end = ready { ended() }
            return ready
        } catch {
            throw failed(error)
        }
    }

    mutating func next() async throws -> ChatChunk? {
        if let chunk = first {
            first = nil
            return chunk
        }
        guard !done else { return nil }
        let remaining = deadline - .now
        let limit = idle.map { min($0, remaining) } ?? remaining
        do {
            let chunk = try await box.next(
                within: limit, provider: provider, what: limit == idle ? "chunk within the idle timeout" : "end of stream within the total timeout"
            )
            if chunk == nil { ended() }
            return chunk
        } catch {
            throw failed(error)
        }
    }

    /// The stream ended cleanly: the call succeeded.
    private mutating func ended() {
        done = true
        lease.succeed(latency: firstByteLatency)
        slot.release()
    }

    /// The stream failed (a provider error) or was abandoned (cancelled); hands the error back.
    private mutating func failed(_ error: any Error) -> any Error {
        done = true
        if let error = error as? UpstreamError {
            lease.fail(error, cooldown: nil)
        } else {
            lease.abandon()
        }
        slot.release()
        return error
    }
}

/// What a second reader of a single-use stream gets.
struct ConsumedChunkSource: ChatChunkSource {
    let provider: String

    mutating func next() async throws -> ChatChunk? {
        throw UpstreamError(.streamInterrupted, provider: provider, detail: "the stream was already being read")
    }
}
