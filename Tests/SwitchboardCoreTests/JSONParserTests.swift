import SwitchboardCore
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The gateway's JSON reader: what it accepts must read as Foundation reads it; what it refuses
/// is named; its cost does not depend on the shape.
@Suite struct JSONParserTests {
    static let valid: [String] = [
        #"{}"#, #"[]"#, #"null"#, #"true"#, #"false"#, #"0"#, #"-0"#, #"1E+2"#, #"1e-400"#, #"-1.5e3"#, #"123456789"#,
        #"9223372036854775807"#, #"-9223372036854775808"#, #"9223372036854775808"#, #"0.1"#, #"  [1 , 2 ]  "#,
        #""\u00e9\ud83d\ude00\n\t\"\\\/""#, #"{"a":{"b":[1,{"c":null}]},"d":"e"}"#, #""\u0000""#,
        #"[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]"#, #"{"é":1}"#,
    ]

    @Test(arguments: valid)
    func acceptsWhatFoundationAcceptsAndReadsItTheSame(_ text: String) throws {
        let ours = try JSONParser().parse(Array(text.utf8))
        let theirs = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(Self.same(ours, theirs), "\(text): \(ours) vs \(theirs)")
    }

    /// Numbers compare by value: Foundation reads `1E+2` as an integer, the parser as a double.
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy(same)
        case (.object(let x), .object(let y)): return x.keys == y.keys && x.allSatisfy { key, value in y[key].map { same(value, $0) } ?? false }
        default:
            if let x = a.doubleValue, let y = b.doubleValue { return x == y || (x.isNaN && y.isNaN) }
            return a == b
        }
    }

    static let invalid: [(String, String)] = [
        ("", "unexpected end of input"), ("{", "unexpected end of input"), ("[1,]", "unexpected character"),
        (#"{"a":1,}"#, "expected a string key"), (#"{"a" 1}"#, "expected `:`"), ("01", "leading zero"), ("1.", "invalid number"),
        (".5", "unexpected character"), ("-", "invalid number"), ("1e", "invalid number"), ("tru", "unexpected"),
        (#""abc"#, "unterminated string"), ("\"a\u{01}b\"", "unescaped control character"), (#""\x""#, "invalid escape"),
        (#""\u12""#, #"invalid \u escape"#), (#""\ud800""#, "unpaired surrogate"), (#""\udc00""#, "unpaired surrogate"),
        (#""\ud800\u0041""#, "unpaired surrogate"), (#"{"a":1,"a":2}"#, "duplicate key `a`"), ("1e999", "number out of range"),
        ("[1] x", "after the JSON value"), (String(repeating: "[", count: 65) + String(repeating: "]", count: 65), "nested deeper than 64"),
        (String(repeating: "9", count: 1100), "number longer than 1024"),
    ]

    @Test(arguments: invalid)
    func refusesAndSaysWhy(_ text: String, _ reason: String) {
        do {
            _ = try JSONParser().parse(Array(text.utf8))
            Issue.record("\(text.prefix(40)) was accepted")
        } catch {
            #expect(error.message.contains(reason), "\(text.prefix(40)): \(error.message)")
        }
    }

    @Test func refusesInvalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22]] {
            #expect(throws: JSONParseError.self) { try JSONParser().parse(bytes) }
        }
    }

    @Test func aByteOrderMarkIsSkipped() throws {
        #expect(try JSONParser().parse([0xEF, 0xBB, 0xBF] + Array("[1]".utf8)) == [1])
    }

    @Test func sixtyFourLevelsAreAllowed() throws {
        let text = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        let value = try JSONParser().parse(Array(text.utf8))
        #expect(value.depth == 64)
    }

    @Test func modelOutputIsReadLeniently() throws {
        // A model repeating a key, leaving a surrogate unpaired or nesting deep is not a reason
        // to drop its tool call.
        #expect(JSONCoding.parseModelOutput(#"{"a":1,"a":2}"#) == ["a": 2])
        #expect(JSONCoding.parseModelOutput(#"{"s":"x\ud800y"}"#) == ["s": "x\u{FFFD}y"])
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(JSONCoding.parseModelOutput(deep) != nil)
        #expect(JSONCoding.parseModelOutput("{nope") == nil)
    }

    struct Sample: Decodable, Equatable {
        var name: String
        var count: Int
        var ratio: Double?
        var tags: [String]
        var nested: Nested?
        var extra: JSONValue?

        struct Nested: Decodable, Equatable {
            var flag: Bool
        }
    }

    @Test func decodesTypesLikeFoundation() throws {
        let text = #"{"name":"x","count":3,"ratio":1,"tags":["a","b"],"nested":{"flag":true},"extra":{"k":[1,2.5,null]}}"#
        let ours = try JSONCoding.decode(Sample.self, from: Array(text.utf8))
        let theirs = try JSONDecoder().decode(Sample.self, from: Data(text.utf8))
        #expect(ours == theirs)
        // Integers from exact numbers only, as Foundation does.
        #expect(try JSONCoding.decode(Sample.self, from: Array(#"{"name":"x","count":3.0,"tags":[]}"#.utf8)).count == 3)
        #expect(throws: DecodingError.self) { try JSONCoding.decode(Sample.self, from: Array(#"{"name":"x","count":3.5,"tags":[]}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONCoding.decode(Sample.self, from: Array(#"{"name":"x","tags":[]}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONCoding.decode(Sample.self, from: Array(#"{"name":null,"count":1,"tags":[]}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONCoding.decode(Float.self, from: Array("1e300".utf8)) }
    }

    @Test func decodingErrorsNameTheField() {
        let cases: [(String, String)] = [
            (#"{"model":"m"}"#, "Missing required field `messages`"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}"#, "Field `temperature` must be a number"),
            (#"{"model":"m","messages":"x"}"#, "Field `messages` must be an array"),
            (#"[1]"#, "Request body must be a JSON object"),
            (#"{"model":"m","messages":[{"role":"user","content":"x"}],"n":1.5}"#, "Field `n` must be a whole number"),
        ]
        for (text, message) in cases {
            do {
                _ = try JSONCoding.decodeRequest(ChatRequest.self, from: Data(text.utf8))
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.message.contains(message), "\(text): \(error.message)")
            }
        }
    }
}
