import Logging
import SwitchboardCore
import SwitchboardStorage
import Testing

@Suite struct RecordWriterTests {
    static func row(_ id: String, status: Int, cost: Double?, body: String?) -> RequestRecord {
        var record = RequestRecord(
            requestID: id, timestamp: 1_700_000_000, principal: "key:k", endpoint: "chat", modelRequested: "m", status: status,
            latencyMilliseconds: 1, costUSD: cost
        )
        record.keyID = "k"
        record.requestBody = body
        return record
    }

    @Test func aFullQueueShedsOptionalRowsAndBodiesButNeverSpend() async throws {
        let store = MemoryRequestLogStore()
        let writer = RecordWriter(store: store, capacity: 2, logger: Logger(label: "writer-test"))
        writer.record(Self.row("spend-1", status: 200, cost: 0.1, body: "a"))
        writer.record(Self.row("spend-2", status: 200, cost: 0.2, body: "b"))
        // Full from here on.
        writer.record(Self.row("spend-3", status: 200, cost: 0.3, body: "c"))
        writer.record(Self.row("failed-1", status: 502, cost: nil, body: "d"))
        writer.record(Self.row("cut-stream", status: 499, cost: 0.05, body: "e"))
        #expect(writer.pending == 4)
        #expect(writer.dropped == 1)
        #expect(writer.bodiesShed == 2)
        await writer.drain()
        let stored = try await store.recent(limit: 10)
        #expect(Set(stored.map(\.requestID)) == ["spend-1", "spend-2", "spend-3", "cut-stream"])
        #expect(stored.first { $0.requestID == "spend-1" }?.requestBody == "a")
        #expect(stored.first { $0.requestID == "spend-3" }?.requestBody == nil)
        #expect(writer.written == 4)
    }

    @Test func bodiesAreRedactedAndCutBeforeTheyAreStored() async throws {
        let store = MemoryRequestLogStore()
        let writer = RecordWriter(store: store, redactor: Redactor(), previewLimit: 30, logger: Logger(label: "writer-test"))
        writer.record(Self.row("r", status: 200, cost: nil, body: "write to ann@example.org " + String(repeating: "x", count: 100)))
        await writer.flush()
        let body = try #require(try await store.recent(limit: 1).first?.requestBody)
        #expect(body.hasPrefix("write to [REDACTED:email] xxxx"))
        #expect(body.contains("…[truncated"))
    }
}

extension RecordWriterTests {
    @Test func aBackloggedWriterSaysSo() {
        let writer = RecordWriter(store: MemoryRequestLogStore(), capacity: 2, logger: Logger(label: "writer-test"))
        for index in 0..<7 { writer.record(Self.row("r\(index)", status: 200, cost: 0.1, body: nil)) }
        #expect(!writer.isBacklogged)
        writer.record(Self.row("r7", status: 200, cost: 0.1, body: nil))
        #expect(writer.isBacklogged && writer.pending == 8)
    }
}
