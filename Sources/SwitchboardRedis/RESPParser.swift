package import NIOCore

/// Reads RESP2 values from bytes as they arrive. A value split over reads is left in the buffer
/// until it is whole; bytes that are not RESP, or that pass a bound, are an error (the caller
/// closes the connection: nothing after garbage can be trusted).
package struct RESPParser: Sendable {
    /// Longest line (simple string, error, integer or length header).
    package var maxLineLength = 64 * 1024
    /// Largest bulk string.
    package var maxBulkLength = 64 * 1024 * 1024
    package var maxArrayCount = 1_000_000
    package var maxDepth = 16

    package init() {}

    /// The next whole value in `buffer`, consuming its bytes; `nil` (consuming nothing) when
    /// more bytes are needed.
    package func next(from buffer: inout ByteBuffer) throws(RedisError) -> RESPValue? {
        var view = buffer
        guard let value = try parse(&view, depth: 0) else { return nil }
        buffer = view
        return value
    }

    private func parse(_ buffer: inout ByteBuffer, depth: Int) throws(RedisError) -> RESPValue? {
        guard let type: UInt8 = buffer.readInteger() else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            return try line(&buffer).map { .simpleString(String(decoding: $0, as: UTF8.self)) }
        case UInt8(ascii: "-"):
            return try line(&buffer).map { .error(String(decoding: $0, as: UTF8.self)) }
        case UInt8(ascii: ":"):
            return try integer(&buffer).map(RESPValue.integer)
        case UInt8(ascii: "$"):
            guard let length = try integer(&buffer) else { return nil }
            if length == -1 { return .bulkString(nil) }
            guard length >= 0, length <= maxBulkLength else { throw .protocolError("bulk length \(length)") }
            let count = Int(length)
            guard buffer.readableBytes >= count + 2 else { return nil }
            guard let bytes = buffer.readBytes(length: count), let end: UInt16 = buffer.readInteger(), end == 0x0D0A else {
                throw .protocolError("bulk string not ended by CRLF")
            }
            return .bulkString(bytes)
        case UInt8(ascii: "*"):
            guard let length = try integer(&buffer) else { return nil }
            if length == -1 { return .array(nil) }
            guard length >= 0, length <= maxArrayCount else { throw .protocolError("array length \(length)") }
            guard depth < maxDepth else { throw .protocolError("arrays nested deeper than \(maxDepth)") }
            var elements: [RESPValue] = []
            elements.reserveCapacity(min(Int(length), 1024))
            for _ in 0..<length {
                guard let element = try parse(&buffer, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            throw .protocolError("unknown type byte \(type)")
        }
    }

    /// The bytes up to the next CRLF (consumed with it); `nil` when the line is not whole yet.
    private func line(_ buffer: inout ByteBuffer) throws(RedisError) -> [UInt8]? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: 0x0D) else {
            if view.count > maxLineLength { throw .protocolError("line longer than \(maxLineLength)") }
            return nil
        }
        let length = cr - view.startIndex
        guard length <= maxLineLength else { throw .protocolError("line longer than \(maxLineLength)") }
        guard view.count > length + 1 else { return nil }
        guard view[cr + 1] == 0x0A else { throw .protocolError("CR not followed by LF") }
        let bytes = buffer.readBytes(length: length) ?? []
        buffer.moveReaderIndex(forwardBy: 2)
        return bytes
    }

    private func integer(_ buffer: inout ByteBuffer) throws(RedisError) -> Int64? {
        guard let bytes = try line(&buffer) else { return nil }
        guard let value = Int64(String(decoding: bytes, as: UTF8.self)) else { throw .protocolError("not an integer") }
        return value
    }
}
