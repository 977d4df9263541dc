import SwitchboardProviders
import Testing

/// Builds one event-stream message by hand: string headers (type 7) plus any raw header bytes.
func eventStreamFrame(headers: [(String, String)], rawHeaders: [UInt8] = [], payload: [UInt8]) -> [UInt8] {
    var headerBytes: [UInt8] = []
    for (name, value) in headers {
        headerBytes.append(UInt8(name.utf8.count))
        headerBytes += Array(name.utf8)
        headerBytes.append(7)
        headerBytes += bigEndian(UInt16(value.utf8.count))
        headerBytes += Array(value.utf8)
    }
    headerBytes += rawHeaders
    let total = 16 + headerBytes.count + payload.count
    var message = bigEndian(UInt32(total)) + bigEndian(UInt32(headerBytes.count))
    message += bigEndian(CRC32.checksum(message))
    message += headerBytes + payload
    message += bigEndian(CRC32.checksum(message))
    return message
}

func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}

@Suite struct EventStreamDecoderTests {
    static let event = eventStreamFrame(
        headers: [(":message-type", "event"), (":event-type", "contentBlockDelta"), (":content-type", "application/json")],
        payload: Array(#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#.utf8)
    )

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        var running = CRC32()
        running.update(Array("1234".utf8))
        running.update(Array("56789".utf8))
        #expect(running.value == 0xCBF4_3926)
    }

    @Test func decodesAMessageFedOneByteAtATime() throws {
        var decoder = EventStreamDecoder()
        var messages: [EventStreamMessage] = []
        for byte in Self.event + Self.event {
            messages += try decoder.feed([byte])
        }
        #expect(messages.count == 2)
        #expect(messages[0].messageType == "event")
        #expect(messages[0].eventType == "contentBlockDelta")
        #expect(String(decoding: messages[0].payload, as: UTF8.self) == #"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#)
        #expect(!decoder.hasPartialMessage)
        try decoder.finish()
    }

    @Test func decodesSeveralMessagesInOneFeed() throws {
        var decoder = EventStreamDecoder()
        let empty = eventStreamFrame(headers: [], payload: [])
        #expect(empty.count == 16)
        let messages = try decoder.feed(Self.event + empty + Self.event)
        #expect(messages.count == 3)
        #expect(messages[1] == EventStreamMessage(headers: [:], payload: []))
    }

    @Test func readsAndSkipsEveryHeaderType() throws {
        var raw: [UInt8] = []
        func header(_ name: String, _ type: UInt8, _ value: [UInt8]) {
            raw += [UInt8(name.utf8.count)] + Array(name.utf8) + [type] + value
        }
        header("t", 0, [])
        header("f", 1, [])
        header("b", 2, [0xFF])
        header("s", 3, bigEndian(Int16(-2)))
        header("i", 4, bigEndian(Int32(70000)))
        header("l", 5, bigEndian(Int64(1) << 40))
        header("y", 6, bigEndian(UInt16(3)) + [1, 2, 3])
        header("ts", 8, bigEndian(Int64(1_700_000_000_000)))
        header("u", 9, Array(0..<16))
        let frame = eventStreamFrame(headers: [(":event-type", "metadata")], rawHeaders: raw, payload: Array("{}".utf8))
        var decoder = EventStreamDecoder()
        let message = try #require(try decoder.feed(frame).first)
        #expect(message.eventType == "metadata")
        #expect(message.headers["t"] == .bool(true))
        #expect(message.headers["f"] == .bool(false))
        #expect(message.headers["b"] == .byte(-1))
        #expect(message.headers["s"] == .short(-2))
        #expect(message.headers["i"] == .int(70000))
        #expect(message.headers["l"] == .long(1 << 40))
        #expect(message.headers["y"] == .bytes([1, 2, 3]))
        #expect(message.headers["ts"] == .timestamp(1_700_000_000_000))
        #expect(message.headers["u"] == .uuid(Array(0..<16)))
        #expect(message.payload == Array("{}".utf8))
    }

    /// Flipping one bit anywhere must be caught: in the prelude by its checksum, elsewhere by the message checksum.
    @Test(arguments: [
        (0, EventStreamError.Kind.preludeChecksumMismatch),  // total length
        (5, .preludeChecksumMismatch),  // headers length
        (9, .preludeChecksumMismatch),  // prelude checksum itself
        (14, .messageChecksumMismatch),  // a header name
        (60, .messageChecksumMismatch),  // a header value
        (110, .messageChecksumMismatch),  // the payload
        (-1, .messageChecksumMismatch),  // the message checksum itself
    ])
    func corruptionIsThrown(offset: Int, expected: EventStreamError.Kind) {
        var frame = Self.event
        let index = offset >= 0 ? offset : frame.count + offset
        frame[index] ^= 0x01
        var decoder = EventStreamDecoder()
        #expect(throws: EventStreamError.self) { _ = try decoder.feed(frame) }
        do {
            var fresh = EventStreamDecoder()
            _ = try fresh.feed(frame)
            Issue.record("no error for a corrupted byte at \(index)")
        } catch {
            #expect(error.kind == expected)
        }
        // The decoder stays failed: later good bytes do not resurrect it.
        #expect(throws: EventStreamError.self) { _ = try decoder.feed(Self.event) }
    }

    @Test func impossibleLengthsAreThrownEvenWithAValidPreludeChecksum() {
        func prelude(total: UInt32, headers: UInt32) -> [UInt8] {
            let lengths = bigEndian(total) + bigEndian(headers)
            return lengths + bigEndian(CRC32.checksum(lengths))
        }
        for (total, headers) in [(UInt32(8), UInt32(0)), (20, 10), (UInt32.max, 0)] {
            var decoder = EventStreamDecoder()
            do {
                _ = try decoder.feed(prelude(total: total, headers: headers))
                Issue.record("no error for total \(total), headers \(headers)")
            } catch {
                #expect(error.kind == .invalidLength)
            }
        }
    }

    @Test func aHeaderRunningPastItsSectionIsThrown() {
        // A string header claiming 200 bytes of value inside a 10-byte header section.
        let raw: [UInt8] = [1, 0x61, 7] + bigEndian(UInt16(200)) + [0x62, 0x63, 0x64, 0x65, 0x66]
        let frame = eventStreamFrame(headers: [], rawHeaders: raw, payload: [])
        var decoder = EventStreamDecoder()
        do {
            _ = try decoder.feed(frame)
            Issue.record("no error")
        } catch {
            #expect(error.kind == .invalidHeader)
        }
    }

    @Test func aStreamEndingInsideAMessageIsTruncated() throws {
        var decoder = EventStreamDecoder()
        #expect(try decoder.feed(Self.event.dropLast(3)).isEmpty)
        #expect(decoder.hasPartialMessage)
        do {
            try decoder.finish()
            Issue.record("no error")
        } catch {
            #expect(error.kind == .truncated)
        }
    }

    @Test func goodMessagesBeforeCorruptBytesAreReturnedThenTheErrorIsThrown() {
        var corrupt = Self.event
        corrupt[110] ^= 0xFF
        var decoder = EventStreamDecoder()
        let messages = try? decoder.feed(Self.event + corrupt)
        #expect(messages?.count == 1)
        #expect(decoder.failure?.kind == .messageChecksumMismatch)
        #expect(throws: EventStreamError.self) { _ = try decoder.feed([UInt8]()) }
        #expect(throws: EventStreamError.self) { try decoder.finish() }
    }
}
