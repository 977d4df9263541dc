import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import SwitchboardCore
import Synchronization

/// Forwards a pipeline stream to the client in one front door's wire format, for every door.
///
/// - The first chunk is written at once (time to first byte); later chunks that are already at
///   hand are gathered into one write, and the buffer is flushed before any wait on the provider.
/// - An upstream failure after the first byte becomes the door's error event and the response
///   ends cleanly (no terminator).
/// - A client that goes away makes the next write fail; leaving the loop drops the upstream
///   iterator, which cancels the upstream request. The call is settled either way.
/// - A stream still open `shutdownCut` after the gateway was told to stop is broken off with
///   an error event at its next chunk, and settled as what was sent (a stored conversation's
///   answer marked incomplete) while the record writers still run.
struct StreamRelay<Encoder: ChunkEncoder>: Sendable {
    let stream: CallStream
    /// Copied into the writing task; the relay runs once.
    let encoder: Encoder
    let pipeline: CallPipeline
    let requestID: String
    let logger: Logger
    var shutdownCut: Duration = .seconds(28)

    private var gateway: Gateway { pipeline.gateway }

    func run(_ writer: inout any ResponseBodyWriter) async throws {
        let stopping = ShutdownMark()
        try await withGracefulShutdownHandler {
            try await relay(&writer, stopping: stopping)
        } onGracefulShutdown: {
            stopping.mark()
        }
    }

    private func relay(_ writer: inout any ResponseBodyWriter, stopping: ShutdownMark) async throws {
        var encoder = self.encoder
        var iterator = stream.makeIterator()
        var end = CallStream.End.clientGone
        gateway.metrics.streamOpened()
        defer {
            gateway.metrics.streamClosed()
            iterator.finish(end)
        }
        var pending = ByteBuffer()
        var sentFirst = false
        while true {
            let next: ChatChunk?
            do {
                switch try iterator.nextIfReady() {
                case .chunk(let chunk):
                    next = chunk
                case .end:
                    next = nil
                case .mustWait:
                    if pending.readableBytes > 0 {
                        try await write(&pending, to: &writer)
                    }
                    next = try await iterator.next()
                }
            } catch let error where !(error is WriteFailure) {
                let failure = failed(error)
                end = .brokeOff(failure)
                encoder.failure(failure, requestID: requestID, into: &pending)
                try await write(&pending, to: &writer)
                // Settled before the body ends: a client that reads the stream to its end and
                // then asks (its conversation, its usage) finds the call on record.
                iterator.finish(end)
                try await writer.finish(nil)
                return
            }
            guard let chunk = next else { break }
            if stopping.passed(shutdownCut) {
                let failure = GatewayError(.upstreamError, "The gateway is shutting down: the answer was cut short.")
                end = .brokeOff(failure)
                logger.warning("stream cut at shutdown")
                encoder.failure(failure, requestID: requestID, into: &pending)
                try await write(&pending, to: &writer)
                iterator.finish(end)
                try await writer.finish(nil)
                return
            }
            try encoder.append(chunk, to: &pending)
            if (!sentFirst && pending.readableBytes > 0) || pending.readableBytes >= 64 * 1024 {
                sentFirst = true
                try await write(&pending, to: &writer)
            }
        }
        try encoder.finish(into: &pending)
        try await write(&pending, to: &writer)
        end = .completed
        iterator.finish(end)
        try await writer.finish(nil)
    }

    /// A failed write (the client is gone), told apart from a failure of the provider.
    private struct WriteFailure: Error {}

    private func write(_ buffer: inout ByteBuffer, to writer: inout any ResponseBodyWriter) async throws {
        do {
            try await writer.write(buffer)
        } catch {
            throw WriteFailure()
        }
        buffer.clear()
    }

    /// Counts and logs a mid-stream failure of the provider.
    private func failed(_ error: any Error) -> GatewayError {
        let failure = gateway.scrubber.scrub(Self.gatewayError(error))
        gateway.metrics.error(code: failure.code.rawValue)
        logger.warning("stream failed mid-way", metadata: ["error": "\(failure.message)"])
        return failure
    }

    static func gatewayError(_ error: any Error) -> GatewayError {
        switch error {
        case let error as UpstreamError: return error.gatewayError
        case let error as GatewayError: return error
        case is CancellationError: return GatewayError(.upstreamError, "The stream was cancelled.")
        default: return GatewayError(.upstreamError, "The stream failed.")
        }
    }
}

/// When the gateway was told to stop, if it was.
final class ShutdownMark: Sendable {
    private let since = Mutex<ContinuousClock.Instant?>(nil)

    func mark() {
        since.withLock { if $0 == nil { $0 = .now } }
    }

    /// Whether the stop was asked for longer than `cut` ago.
    func passed(_ cut: Duration) -> Bool {
        since.withLock { $0.map { ContinuousClock.now - $0 >= cut } ?? false }
    }
}
