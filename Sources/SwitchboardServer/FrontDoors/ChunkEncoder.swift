import NIOCore
import SwitchboardCore

/// Writes one streamed answer in a front door's wire format. One value per stream.
protocol ChunkEncoder: Sendable {
    /// Appends the events for one chunk (possibly none: a usage chunk the client did not ask for).
    mutating func append(_ chunk: ChatChunk, to buffer: inout ByteBuffer) throws
    /// Appends the stream's terminator after the last chunk (`[DONE]`, `message_stop`).
    mutating func finish(into buffer: inout ByteBuffer) throws
    /// Appends an error event for a provider failure after the first byte; no terminator follows,
    /// so a broken answer never looks finished.
    func failure(_ error: GatewayError, requestID: String, into buffer: inout ByteBuffer)
}
