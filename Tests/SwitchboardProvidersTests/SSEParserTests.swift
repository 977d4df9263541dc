import SwitchboardProviders
import Testing

@Suite struct SSEParserTests {
    @Test func parsesEventsSplitAtEveryByte() {
        let stream = "data: {\"a\":1}\n\nevent: message_start\ndata: {\"b\":2}\n\ndata: [DONE]\n\n"
        var parser = SSEParser()
        var events: [SSEEvent] = []
        for byte in stream.utf8 {
            events += parser.feed([byte])
        }
        #expect(events == [
            SSEEvent(data: #"{"a":1}"#),
            SSEEvent(event: "message_start", data: #"{"b":2}"#),
            SSEEvent(data: "[DONE]"),
        ])
        #expect(parser.finish() == nil)
    }

    @Test func handlesCRLFAndCRLineEndings() {
        var parser = SSEParser()
        // CRLF split across two feeds must not produce an extra blank line.
        var events = parser.feed(Array("data: one\r".utf8))
        events += parser.feed(Array("\n\r\ndata: two\r\r".utf8))
        #expect(events == [SSEEvent(data: "one"), SSEEvent(data: "two")])
    }

    @Test func joinsMultipleDataLinesAndSkipsComments() {
        var parser = SSEParser()
        let events = parser.feed(Array(": keep-alive\ndata: first\ndata:second\nid: 7\nretry: 100\n\n".utf8))
        #expect(events == [SSEEvent(data: "first\nsecond", id: "7")])
    }

    @Test func fieldWithoutColonAndEmptyData() {
        var parser = SSEParser()
        let events = parser.feed(Array("data\n\nevent: ping\n\n".utf8))
        // `data` with no colon is an empty data line; an event with no data is not dispatched.
        #expect(events == [SSEEvent(data: "")])
    }

    @Test func finishFlushesAnUnterminatedEvent() {
        var parser = SSEParser()
        #expect(parser.feed(Array("data: tail".utf8)).isEmpty)
        #expect(parser.finish() == SSEEvent(data: "tail"))
    }

    @Test func largeEventAcrossChunks() {
        let payload = String(repeating: "x", count: 100_000)
        var parser = SSEParser()
        let bytes = Array("data: \(payload)\n\n".utf8)
        var events: [SSEEvent] = []
        for start in stride(from: 0, to: bytes.count, by: 4096) {
            events += parser.feed(bytes[start..<min(start + 4096, bytes.count)])
        }
        #expect(events.count == 1)
        #expect(events.first?.data.count == 100_000)
    }
}
