/// A header value of an `application/vnd.amazon.eventstream` message.
package enum EventStreamHeaderValue: Sendable, Hashable {
    case bool(Bool)
    case byte(Int8)
    case short(Int16)
    case int(Int32)
    case long(Int64)
    case bytes([UInt8])
    case string(String)
    /// Milliseconds since the epoch.
    case timestamp(Int64)
    case uuid([UInt8])

    package var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// One decoded event-stream message.
package struct EventStreamMessage: Sendable, Hashable {
    package var headers: [String: EventStreamHeaderValue]
    package var payload: [UInt8]

    package init(headers: [String: EventStreamHeaderValue], payload: [UInt8]) {
        self.headers = headers
        self.payload = payload
    }

    /// `:message-type`: `event`, `exception` or `error`.
    package var messageType: String? { headers[":message-type"]?.stringValue }
    /// `:event-type` of an event (`messageStart`, `contentBlockDelta`, ...).
    package var eventType: String? { headers[":event-type"]?.stringValue }
    /// `:exception-type` of a modelled exception (`throttlingException`, ...).
    package var exceptionType: String? { headers[":exception-type"]?.stringValue }
}

/// Why a byte stream is not a valid event stream.
package struct EventStreamError: Error, Sendable, Hashable {
    package enum Kind: Sendable, Hashable {
        case preludeChecksumMismatch
        case messageChecksumMismatch
        case invalidLength
        case invalidHeader
        /// The stream ended in the middle of a message.
        case truncated
    }

    package var kind: Kind
    package var detail: String

    package init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }
}

/// Splits `application/vnd.amazon.eventstream` bytes into messages as they arrive; no I/O.
///
/// A message is: total length (u32 BE), headers length (u32 BE), CRC-32 of those eight bytes,
/// the headers, the payload, and a CRC-32 of everything before it. Any checksum or length that
/// does not add up is an error, and the decoder stays failed. When good messages precede the bad
/// bytes in one feed, they are returned and the error is thrown by the next `feed` or `finish`
/// (and is visible in ``failure`` at once), so a reader can pass on what arrived intact first.
package struct EventStreamDecoder: Sendable {
    /// Smallest possible message: the 12-byte prelude plus the 4-byte message checksum.
    static let overhead = 16
    /// Largest message accepted (AWS caps messages at 16 MiB).
    package var maxMessageLength = 16 * 1024 * 1024

    private var buffer: [UInt8] = []
    private var start = 0
    /// The error that stopped decoding, if any.
    package private(set) var failure: EventStreamError?

    package init() {}

    /// Whether bytes of an unfinished message are waiting.
    package var hasPartialMessage: Bool { start < buffer.count }

    /// Adds bytes and returns every message they complete.
    package mutating func feed(_ bytes: some Sequence<UInt8>) throws(EventStreamError) -> [EventStreamMessage] {
        if let failure { throw failure }
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start > 64 * 1024 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
        var messages: [EventStreamMessage] = []
        do {
            while let message = try nextMessage() { messages.append(message) }
        } catch {
            failure = error
            if messages.isEmpty { throw error }
        }
        return messages
    }

    /// Call when the byte stream ends; throws if it stopped inside a message.
    package func finish() throws(EventStreamError) {
        if let failure { throw failure }
        if hasPartialMessage {
            throw EventStreamError(.truncated, "the stream ended inside a message (\(buffer.count - start) bytes left over)")
        }
    }

    private mutating func nextMessage() throws(EventStreamError) -> EventStreamMessage? {
        let available = buffer.count - start
        guard available >= 12 else { return nil }
        let totalLength = Int(readUInt32(at: start))
        let headersLength = Int(readUInt32(at: start + 4))
        let preludeChecksum = readUInt32(at: start + 8)
        guard CRC32.checksum(buffer[start..<start + 8]) == preludeChecksum else {
            throw EventStreamError(.preludeChecksumMismatch, "the prelude checksum does not match")
        }
        guard totalLength >= Self.overhead, totalLength <= maxMessageLength else {
            throw EventStreamError(.invalidLength, "message length \(totalLength) is out of range")
        }
        guard headersLength <= totalLength - Self.overhead else {
            throw EventStreamError(.invalidLength, "headers length \(headersLength) exceeds the message")
        }
        guard available >= totalLength else { return nil }
        let end = start + totalLength
        let messageChecksum = readUInt32(at: end - 4)
        guard CRC32.checksum(buffer[start..<end - 4]) == messageChecksum else {
            throw EventStreamError(.messageChecksumMismatch, "the message checksum does not match")
        }
        let headersStart = start + 12
        let payloadStart = headersStart + headersLength
        let headers = try parseHeaders(buffer[headersStart..<payloadStart])
        let payload = Array(buffer[payloadStart..<end - 4])
        start = end
        return EventStreamMessage(headers: headers, payload: payload)
    }

    private func readUInt32(at index: Int) -> UInt32 {
        buffer[index..<index + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    private func parseHeaders(_ bytes: ArraySlice<UInt8>) throws(EventStreamError) -> [String: EventStreamHeaderValue] {
        var reader = ByteReader(bytes: bytes)
        var headers: [String: EventStreamHeaderValue] = [:]
        while !reader.isAtEnd {
            let nameLength = Int(try reader.integer(UInt8.self))
            guard nameLength > 0 else { throw EventStreamError(.invalidHeader, "a header has an empty name") }
            let name = String(decoding: try reader.take(nameLength), as: UTF8.self)
            let type = try reader.integer(UInt8.self)
            let value: EventStreamHeaderValue
            switch type {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2: value = .byte(Int8(bitPattern: try reader.integer(UInt8.self)))
            case 3: value = .short(Int16(bitPattern: try reader.integer(UInt16.self)))
            case 4: value = .int(Int32(bitPattern: try reader.integer(UInt32.self)))
            case 5: value = .long(Int64(bitPattern: try reader.integer(UInt64.self)))
            case 6: value = .bytes(Array(try reader.take(Int(try reader.integer(UInt16.self)))))
            case 7: value = .string(String(decoding: try reader.take(Int(try reader.integer(UInt16.self))), as: UTF8.self))
            case 8: value = .timestamp(Int64(bitPattern: try reader.integer(UInt64.self)))
            case 9: value = .uuid(Array(try reader.take(16)))
            default: throw EventStreamError(.invalidHeader, "header `\(name)` has unknown value type \(type)")
            }
            headers[name] = value
        }
        return headers
    }
}

/// Big-endian reads over a slice that throw instead of running past its end.
private struct ByteReader {
    let bytes: ArraySlice<UInt8>
    var index: Int

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    var isAtEnd: Bool { index >= bytes.endIndex }

    mutating func take(_ count: Int) throws(EventStreamError) -> ArraySlice<UInt8> {
        guard count >= 0, bytes.endIndex - index >= count else {
            throw EventStreamError(.invalidHeader, "a header runs past the end of the headers")
        }
        defer { index += count }
        return bytes[index..<index + count]
    }

    mutating func integer<T: FixedWidthInteger & UnsignedInteger>(_ type: T.Type) throws(EventStreamError) -> T {
        try take(MemoryLayout<T>.size).reduce(T.zero) { $0 << 8 | T($1) }
    }
}
