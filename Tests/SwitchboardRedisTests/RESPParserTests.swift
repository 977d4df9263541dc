import NIOCore
import Testing

@testable import SwitchboardRedis

/// The RESP reader on bytes alone: every value type, values split at every byte, and garbage.
@Suite struct RESPParserTests {
    static let sample: [UInt8] = Array("+OK\r\n-ERR wrong\r\n:-42\r\n$5\r\nhe\r\nl\r\n$-1\r\n*2\r\n$1\r\na\r\n*1\r\n:7\r\n*-1\r\n$0\r\n\r\n".utf8)
    static let expected: [RESPValue] = [
        .simpleString("OK"), .error("ERR wrong"), .integer(-42), .bulkString(Array("he\r\nl".utf8)), .bulkString(nil),
        .array([.bulkString(Array("a".utf8)), .array([.integer(7)])]), .array(nil), .bulkString([]),
    ]

    static func parseAll(_ chunks: [[UInt8]]) throws -> [RESPValue] {
        let parser = RESPParser()
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while let value = try parser.next(from: &buffer) { values.append(value) }
        }
        #expect(buffer.readableBytes == 0)
        return values
    }

    @Test func readsEveryTypeInOneRead() throws {
        #expect(try Self.parseAll([Self.sample]) == Self.expected)
    }

    @Test func readsValuesSplitAtAnyByte() throws {
        for cut in 1..<Self.sample.count {
            let values = try Self.parseAll([Array(Self.sample[..<cut]), Array(Self.sample[cut...])])
            #expect(values == Self.expected, "split at \(cut)")
        }
        // One byte per read.
        #expect(try Self.parseAll(Self.sample.map { [$0] }) == Self.expected)
    }

    @Test(arguments: [
        "?what\r\n",  // unknown type byte
        ":12x\r\n",  // not an integer
        "$5\r\nhelloXY",  // bulk not ended by CRLF
        "$-7\r\n",  // negative length
        "$999999999999\r\n",  // over the bulk bound
        "+OK\rX",  // CR without LF
    ])
    func garbageIsAProtocolError(_ text: String) {
        var buffer = ByteBuffer(string: text)
        #expect(throws: RedisError.self) {
            _ = try RESPParser().next(from: &buffer)
        }
    }

    @Test func boundsLinesAndNesting() {
        var parser = RESPParser()
        parser.maxLineLength = 8
        var long = ByteBuffer(string: "+" + String(repeating: "a", count: 20))
        #expect(throws: RedisError.self) { _ = try parser.next(from: &long) }

        parser = RESPParser()
        parser.maxDepth = 3
        var deep = ByteBuffer(string: String(repeating: "*1\r\n", count: 5) + ":1\r\n")
        #expect(throws: RedisError.self) { _ = try parser.next(from: &deep) }
    }

    @Test func writesCommandsAsArraysOfBulkStrings() {
        var bytes: [UInt8] = []
        RedisCommand("SET", ["k", RESPArgument([0, 13, 10]), "PX", RESPArgument(1500)]).write(to: &bytes)
        #expect(bytes == Array("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\u{0}\r\n\r\n$2\r\nPX\r\n$4\r\n1500\r\n".utf8))
    }
}

@Suite struct RedisConfigurationTests {
    @Test func readsURLs() throws {
        let plain = try RedisConfiguration(url: "redis://127.0.0.1:6380/2")
        #expect(plain.host == "127.0.0.1" && plain.port == 6380 && plain.database == 2 && !plain.tls && plain.password == nil)

        let full = try RedisConfiguration(url: "rediss://app:p%40ss@cache.internal")
        #expect(full.tls && full.port == 6379 && full.username == "app" && full.password == "p@ss" && full.database == 0)
        #expect(!full.redacted.contains("p@ss") && full.redacted.contains("***"))

        let passwordOnly = try RedisConfiguration(url: "redis://:secret@localhost:1234")
        #expect(passwordOnly.username == nil && passwordOnly.password == "secret")

        let legacy = try RedisConfiguration(url: "redis://secret@localhost")
        #expect(legacy.password == "secret" && legacy.username == nil)
    }

    @Test(arguments: ["http://localhost:6379", "redis://", "redis://localhost/abc", "redis://localhost/1/2", "redis://localhost:0", "not a url"])
    func refusesWhatIsNotARedisURL(_ url: String) {
        #expect(throws: RedisError.self) { _ = try RedisConfiguration(url: url) }
    }

    @Test func reconnectDelayDoublesUpToTheCap() {
        let base = Duration.milliseconds(100)
        let cap = Duration.seconds(2)
        #expect(redisReconnectDelay(failures: 0, base: base, maximum: cap) == .zero)
        #expect(redisReconnectDelay(failures: 1, base: base, maximum: cap) == .milliseconds(100))
        #expect(redisReconnectDelay(failures: 2, base: base, maximum: cap) == .milliseconds(200))
        #expect(redisReconnectDelay(failures: 4, base: base, maximum: cap) == .milliseconds(800))
        #expect(redisReconnectDelay(failures: 6, base: base, maximum: cap) == cap)
        #expect(redisReconnectDelay(failures: 1000, base: base, maximum: cap) == cap)
    }
}
