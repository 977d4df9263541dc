import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A deterministic generator, so a failing body can be found again from its seed.
typealias SeededGenerator = SplitMix64

/// Makes hostile variants of valid bodies: deep nesting, huge numbers, invalid UTF-8, NUL,
/// duplicate keys, wrong types, truncation and flipped bytes.
struct BodyMutator {
    var random: SeededGenerator

    static let hostileValues: [String] = [
        String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
        String(repeating: #"{"a":"#, count: 120) + "1" + String(repeating: "}", count: 120),
        "1e999999", "-1e400", "123456789012345678901234567890", "0.0000000000000000000000001e-400", "-0", "1E+2",
        #""\u0000""#, #""\ud800""#, #""\udc00\ud800""#, #""\uZZZZ""#, "\"\u{01}\"", "nul", "tru", "[1,]", "{,}",
        "{}", "[]", "null", "true", "false", "\"\"", "-", "01", "1.", ".5",
        "\"" + String(repeating: "long ", count: 2000) + "\"",
        #"[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:,"}}]}]"#,
        #"{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}"#,
    ]

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &random) }

    /// The top-level keys of a flat JSON object text (good enough for the seeds here).
    static func keys(of seed: String) -> [String] {
        guard let value = try? JSONParser().parse(seed), case .object(let object) = value else { return [] }
        return object.keys.sorted()
    }

    mutating func mutate(_ seed: String) -> [UInt8] {
        let keys = Self.keys(of: seed)
        switch int(0..<10) {
        case 0:
            // Replace one field's value with something hostile.
            guard let key = keys.randomElement(using: &random), let value = try? JSONParser().parse(seed),
                case .object(var object) = value
            else { return Array(seed.utf8) }
            object[key] = nil
            let rest = String(decoding: (try? JSONCoding.encode(JSONValue.object(object))) ?? Data("{}".utf8), as: UTF8.self)
            let hostile = Self.hostileValues[int(0..<Self.hostileValues.count)]
            let inner = rest.dropFirst().dropLast()
            return Array(("{\"\(key)\":\(hostile)" + (inner.isEmpty ? "" : ",") + inner + "}").utf8)
        case 1:
            // A duplicate key.
            guard let key = keys.randomElement(using: &random) else { return Array(seed.utf8) }
            return Array(("{\"\(key)\":1," + seed.dropFirst()).utf8)
        case 2:
            // Truncated.
            let bytes = Array(seed.utf8)
            return Array(bytes.prefix(int(0..<max(1, bytes.count))))
        case 3:
            // Invalid UTF-8 inside a string.
            var bytes = Array(seed.utf8)
            if let quote = bytes.firstIndex(of: UInt8(ascii: "\"")) {
                let invalid: [[UInt8]] = [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82]]
                bytes.insert(contentsOf: invalid[int(0..<invalid.count)], at: quote + 1)
            }
            return bytes
        case 4:
            // A raw NUL or control byte somewhere.
            var bytes = Array(seed.utf8)
            bytes.insert([0x00, 0x01, 0x1F, 0x7F][int(0..<4)], at: int(0..<bytes.count + 1))
            return bytes
        case 5:
            // Flipped bytes.
            var bytes = Array(seed.utf8)
            for _ in 0..<int(1..<4) where !bytes.isEmpty {
                bytes[int(0..<bytes.count)] ^= UInt8(truncatingIfNeeded: int(1..<256))
            }
            return bytes
        case 6:
            // The whole body replaced by a hostile value.
            return Array(Self.hostileValues[int(0..<Self.hostileValues.count)].utf8)
        case 7:
            // A field given the wrong type.
            guard let key = keys.randomElement(using: &random), let value = try? JSONParser().parse(seed),
                case .object(var object) = value
            else { return Array(seed.utf8) }
            let wrong: [JSONValue] = [.integer(Int64.max), .double(-1.5), .bool(true), .null, .array([.string("x")]), .object(["k": .integer(1)]), .string("")]
            object[key] = wrong[int(0..<wrong.count)]
            return Array((try? JSONCoding.encode(JSONValue.object(object))) ?? Data())
        case 8:
            // Unknown fields piled on, some nested near the limit.
            var text = String(seed.dropLast())
            for index in 0..<int(1..<20) {
                text += ",\"extra_\(index)\":" + String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
            }
            return Array((text + "}").utf8)
        default:
            // Trailing garbage.
            return Array((seed + ["x", "}", "{}", "\u{00}", " ,"][int(0..<5)]).utf8)
        }
    }
}

/// Every JSON endpoint gets a few thousand hostile bodies: every answer is a 2xx or a 4xx in the
/// endpoint's error shape, never a 5xx, and the gateway keeps answering `/health`.
@Suite struct FuzzTests {
    enum Shape: Sendable { case openAI, anthropic, simple }

    struct Endpoint: Sendable, CustomTestStringConvertible {
        var path: String
        var seeds: [String]
        var shape: Shape
        var asUser = false
        var testDescription: String { path }
    }

    static let endpoints: [Endpoint] = [
        Endpoint(path: "/v1/chat/completions", seeds: [
            #"{"model":"mock/echo","messages":[{"role":"user","content":"hello"}]}"#,
            #"{"model":"mock/echo","messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"temperature":0.5,"max_tokens":5,"n":1,"stop":["x"],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto","metadata":{"a":"b"}}"#,
        ], shape: .openAI),
        Endpoint(path: "/v1/messages", seeds: [
            #"{"model":"mock/echo","max_tokens":10,"messages":[{"role":"user","content":"hello"}]}"#,
            #"{"model":"mock/echo","max_tokens":10,"system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":"ok"}],"tools":[{"name":"f","input_schema":{"type":"object"}}]}"#,
        ], shape: .anthropic),
        Endpoint(path: "/v1/embeddings", seeds: [
            #"{"model":"mock/embed","input":"hello"}"#,
            #"{"model":"mock/embed","input":["a","b"],"dimensions":8}"#,
        ], shape: .openAI),
        Endpoint(path: "/v1/chat", seeds: [
            #"{"model":"echo","provider":"mock","messages":[{"role":"user","content":"hello"}],"max_tokens":5}"#,
        ], shape: .simple),
        Endpoint(path: "/admin/keys", seeds: [
            #"{"name":"fuzz","role":"user","models":["gpt-*"],"rpm":5,"max_budget_usd":1,"budget_period":"daily","metadata":{"a":1}}"#,
        ], shape: .openAI),
        Endpoint(path: "/v1/users/me/api-keys", seeds: [
            #"{"name":"fuzz","rpm":1,"expires_at":"2099-01-01T00:00:00Z","metadata":{"team":"x"}}"#,
        ], shape: .openAI, asUser: true),
    ]

    static let bodiesPerEndpoint = 2000

    @Test(arguments: endpoints)
    func hostileBodiesGetA4xxInTheRightShape(_ endpoint: Endpoint) async throws {
        try await withGateway(config: standardConfig(), transport: .router) { gateway in
            let headers: [(String, String)]
            if endpoint.asUser {
                let key = try await gateway.post("/admin/keys", #"{"name":"fuzzer","user_id":"fuzzer"}"#, headers: authHeaders)
                let secret = try #require(try key.json()["key"]?.stringValue)
                headers = [("content-type", "application/json"), ("authorization", "Bearer \(secret)")]
            } else {
                headers = authHeaders
            }
            var mutator = BodyMutator(random: SeededGenerator(state: UInt64(endpoint.path.utf8.count) &* 7919))
            let bodies = (0..<Self.bodiesPerEndpoint).map { index in
                mutator.mutate(endpoint.seeds[index % endpoint.seeds.count])
            }
            var statuses: [Int: Int] = [:]
            // Eight in flight at a time.
            try await withThrowingTaskGroup(of: (Int, [UInt8], TestResponse).self) { group in
                var next = 0
                func submit() {
                    guard next < bodies.count else { return }
                    let index = next
                    next += 1
                    group.addTask {
                        (index, bodies[index], try await gateway.request(.POST, endpoint.path, bytes: bodies[index], headers: headers))
                    }
                }
                for _ in 0..<8 { submit() }
                while let (index, body, response) = try await group.next() {
                    statuses[response.status, default: 0] += 1
                    let shown = String(decoding: body.prefix(300), as: UTF8.self)
                    #expect(response.status < 500, "body #\(index) \(shown): \(response.status) \(response.body)")
                    if response.status >= 400 {
                        Self.checkShape(endpoint.shape, response, body: shown)
                    }
                    submit()
                }
            }
            #expect(statuses.keys.contains { (400..<500).contains($0) })
            #expect(try await gateway.get("/health").status == 200)
        }
    }

    static func checkShape(_ shape: Shape, _ response: TestResponse, body: String) {
        guard let json = try? response.json() else {
            Issue.record("not JSON: \(response.status) \(response.body) for \(body)")
            return
        }
        switch shape {
        case .openAI:
            let error = json["error"]
            #expect(error?["message"]?.stringValue != nil && error?["type"]?.stringValue != nil, "\(response.body)")
            #expect(error?["code"]?.stringValue != nil && error?["request_id"]?.stringValue != nil, "\(response.body)")
        case .anthropic:
            #expect(json["type"] == "error", "\(response.body)")
            #expect(json["error"]?["type"]?.stringValue != nil && json["error"]?["message"]?.stringValue != nil, "\(response.body)")
        case .simple:
            #expect(json["error"]?["code"]?.stringValue != nil && json["error"]?["message"]?.stringValue != nil, "\(response.body)")
        }
    }
}
