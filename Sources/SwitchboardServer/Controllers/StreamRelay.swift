import Hummingbird
import Logging
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Forwards a core chunk stream to the client as OpenAI SSE, chunk by chunk, and accounts for it.
///
/// - The usage-only chunk is passed on only if the client asked for it (`include_usage`).
/// - An upstream failure after the first byte becomes an SSE `error` event in OpenAI's shape
///   and the response ends cleanly, so a broken answer never looks like a finished one.
/// - A client that goes away makes the next write fail; leaving the loop drops the upstream
///   iterator, which cancels the upstream request. The record is written either way.
struct StreamRelay: Sendable {
    let stream: ChatStream
    let ledger: StreamLedger
    let logger: Logger

    private var gateway: Gateway { ledger.gateway }

    private enum Outcome {
        case completed
        case upstreamFailed(GatewayError)
        case clientGone
    }

    func run(_ writer: inout any ResponseBodyWriter) async throws {
        let clientWantsUsage = ledger.request.streamOptions?.includeUsage == true
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        var tally = ledger.makeTally()
        var outcome = Outcome.clientGone
        gateway.metrics.streamOpened()
        defer {
            gateway.metrics.streamClosed()
            finish(outcome, tally: tally)
        }
        var iterator = stream.makeAsyncIterator()
        // Chunks that are already at hand go out in one write; the buffer is flushed before
        // waiting on the provider, so nothing is held back.
        var pending = ByteBuffer()
        var sentFirst = false
        while true {
            let ready: ReadyChunk
            do {
                ready = try iterator.nextIfReady()
            } catch {
                let failure = failed(error)
                outcome = .upstreamFailed(failure)
                try await end(with: failure, after: pending, encoder: encoder, writer: &writer)
                return
            }
            let next: ChatChunk?
            switch ready {
            case .chunk(let chunk):
                next = chunk
            case .end:
                next = nil
            case .mustWait:
                if pending.readableBytes > 0 {
                    try await writer.write(pending)
                    pending = ByteBuffer()
                }
                do {
                    next = try await iterator.next()
                } catch {
                    let failure = failed(error)
                    outcome = .upstreamFailed(failure)
                    try await end(with: failure, after: pending, encoder: encoder, writer: &writer)
                    return
                }
            }
            guard var chunk = next else { break }
            tally.observe(chunk)
            if !clientWantsUsage {
                if chunk.isUsageOnly { continue }
                if chunk.usage != nil {
                    chunk.usage = nil
                    chunk.upstreamBody = .empty
                }
            }
            try Self.appendEvent(chunk, to: &pending, encoder: encoder)
            // The first chunk leaves at once (time to first byte); later ones that are already
            // at hand are gathered into one write.
            if !sentFirst || pending.readableBytes >= 64 * 1024 {
                sentFirst = true
                try await writer.write(pending)
                pending = ByteBuffer()
            }
        }
        pending.writeString("data: [DONE]\n\n")
        try await writer.write(pending)
        outcome = .completed
        try await writer.finish(nil)
    }

    /// Counts and logs a mid-stream failure.
    private func failed(_ error: any Error) -> GatewayError {
        let failure = gateway.scrubber.scrub(Self.gatewayError(error))
        gateway.metrics.error(code: failure.code.rawValue)
        logger.warning("stream failed mid-way", metadata: ["error": "\(failure.message)"])
        return failure
    }

    /// Sends what is pending, then the error event, and ends the response (no `[DONE]`).
    private func end(
        with failure: GatewayError, after pending: ByteBuffer, encoder: JSONEncoder, writer: inout any ResponseBodyWriter
    ) async throws {
        var buffer = pending
        buffer.writeImmutableBuffer(Self.errorEvent(failure, requestID: ledger.requestID, encoder: encoder))
        try await writer.write(buffer)
        try await writer.finish(nil)
    }

    private func finish(_ outcome: Outcome, tally: StreamTally) {
        switch outcome {
        case .completed: ledger.record(status: 200, errorCode: nil, tally: tally)
        case .upstreamFailed(let error): ledger.record(status: error.status, errorCode: error.code.rawValue, tally: tally)
        // 499: the client closed the connection before the answer was complete.
        case .clientGone: ledger.record(status: 499, errorCode: nil, tally: tally)
        }
    }

    /// Appends one `data:` event: an OpenAI-format provider's chunk as it came, others encoded.
    static func appendEvent(_ chunk: ChatChunk, to buffer: inout ByteBuffer, encoder: JSONEncoder) throws {
        buffer.writeString("data: ")
        if chunk.upstreamBody.isEmpty {
            buffer.writeBytes(try encoder.encode(chunk))
        } else {
            buffer.writeBytes(chunk.upstreamBody.bytes)
        }
        buffer.writeString("\n\n")
    }

    static func errorEvent(_ error: GatewayError, requestID: String, encoder: JSONEncoder) -> ByteBuffer {
        let data = (try? encoder.encode(OpenAIErrorBody(error, requestID: requestID)))
            ?? Data(#"{"error":{"message":"stream failed","type":"upstream_error","code":"UPSTREAM_ERROR"}}"#.utf8)
        var buffer = ByteBuffer()
        buffer.writeString("event: error\ndata: ")
        buffer.writeBytes(data)
        buffer.writeString("\n\n")
        return buffer
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

/// Counts what passed through a stream, so usage is known even when the provider never reported it.
struct StreamTally {
    private let promptEstimate: Int
    private var completionBytes = 0
    private(set) var reportedUsage: Usage?
    private let captureLimit: Int
    /// The answer's text, up to `captureLimit` characters, for the request log.
    private(set) var capturedText: String?

    init(request: ChatRequest, captureLimit: Int = 0) {
        self.promptEstimate = TokenEstimator.estimatePrompt(request.messages)
        self.captureLimit = captureLimit
        self.capturedText = captureLimit > 0 ? "" : nil
    }

    mutating func observe(_ chunk: ChatChunk) {
        if let usage = chunk.usage { reportedUsage = usage }
        for choice in chunk.choices {
            if captureLimit > 0, let content = choice.delta.content, let captured = capturedText, captured.utf8.count < captureLimit * 4 {
                capturedText = captured + content
            }
            completionBytes += choice.delta.content?.utf8.count ?? 0
            for call in choice.delta.toolCalls ?? [] {
                completionBytes += call.function?.arguments?.utf8.count ?? 0
            }
        }
    }

    var usage: Usage {
        if let reportedUsage { return reportedUsage }
        return Usage(promptTokens: promptEstimate, completionTokens: completionBytes == 0 ? 0 : max(1, (completionBytes + 3) / 4))
    }
}
