/// One Server-Sent Event.
package struct SSEEvent: Sendable, Hashable {
    package var event: String?
    package var data: String
    package var id: String?

    package init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// An incremental Server-Sent Events parser, as a value type with no I/O.
///
/// Feed it bytes as they arrive, in pieces of any size; it returns each event once its blank
/// line has been seen. Lines may end in LF, CRLF or CR (also split across feeds), comments are
/// skipped, and multiple `data:` lines join with a newline, per the WHATWG specification.
package struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType: String?
    private var lastEventID: String?
    /// The previous byte was a CR, so an LF right after it belongs to the same line end.
    private var pendingCR = false

    package init() {
        line.reserveCapacity(256)
    }

    /// Consumes bytes and returns the events they completed.
    package mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [SSEEvent] where Bytes.Element == UInt8 {
        var events: [SSEEvent] = []
        for byte in bytes {
            if pendingCR {
                pendingCR = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0A:
                if let event = endLine() { events.append(event) }
            case 0x0D:
                pendingCR = true
                if let event = endLine() { events.append(event) }
            default:
                line.append(byte)
            }
        }
        return events
    }

    /// The event left when the stream ended without a final blank line, if any.
    package mutating func finish() -> SSEEvent? {
        var event: SSEEvent?
        if !line.isEmpty { event = endLine() }
        if event == nil, hasData { event = dispatch() }
        return event
    }

    private mutating func endLine() -> SSEEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            return hasData ? dispatch() : resetWithoutData()
        }
        if line[0] == 0x3A { return nil }  // ":" comment
        let field: ArraySlice<UInt8>
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: 0x3A) {
            field = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == 0x20 { value = value.dropFirst() }
        } else {
            field = line[...]
            value = []
        }
        switch String(decoding: field, as: UTF8.self) {
        case "data":
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        case "event":
            eventType = String(decoding: value, as: UTF8.self)
        case "id":
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        default:
            break  // `retry` and unknown fields are ignored by design
        }
        return nil
    }

    private mutating func dispatch() -> SSEEvent {
        let event = SSEEvent(event: eventType, data: String(decoding: data, as: UTF8.self), id: lastEventID)
        data.removeAll(keepingCapacity: true)
        hasData = false
        eventType = nil
        return event
    }

    private mutating func resetWithoutData() -> SSEEvent? {
        eventType = nil
        return nil
    }
}
