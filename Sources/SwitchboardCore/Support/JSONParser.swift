#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// Bounds on JSON the gateway reads from clients and stores for them.
package enum JSONLimits {
    /// The deepest nesting of arrays and objects accepted anywhere (an LLM request needs far fewer).
    package static let maxDepth = 64
    /// The largest free-form JSON value (key metadata and the like) stored for a caller, encoded.
    package static let maxStoredBytes = 16 * 1024
}

/// Why a JSON text could not be read, and where.
package struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    package var message: String
    /// Byte offset into the text.
    package var offset: Int

    package var description: String { "\(message) at byte \(offset)" }
}

/// A strict JSON reader that builds a ``JSONValue`` in one pass, in time linear in the input.
///
/// Foundation's decoder has to guess a `JSONValue`'s kind by trying each kind in turn, and a
/// failed guess costs more the deeper it sits, so nested pass-through fields made decoding
/// super-linear. This reader looks at each byte once. It refuses what clients have no reason to
/// send and what lets two readers disagree: nesting deeper than the limit, invalid UTF-8, raw
/// control characters in strings, unpaired surrogates, duplicate keys, numbers out of range,
/// and anything after the value.
package struct JSONParser: Sendable {
    private let maxDepth: Int
    private let lenient: Bool

    /// - Parameter maxDepth: the deepest nesting accepted.
    package init(maxDepth: Int = JSONLimits.maxDepth) {
        self.maxDepth = maxDepth
        self.lenient = false
    }

    private init(maxDepth: Int, lenient: Bool) {
        self.maxDepth = maxDepth
        self.lenient = lenient
    }

    /// For JSON a model wrote (tool-call arguments, tool results in a history): still linear,
    /// but what Foundation's reader forgives is forgiven — a repeated key keeps its last value,
    /// an unpaired surrogate becomes U+FFFD — and nesting may go 512 deep.
    package static let lenient = JSONParser(maxDepth: 512, lenient: true)

    package func parse(_ bytes: some ContiguousBytes) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBytes { raw in
            var reader = Reader(bytes: raw.bindMemory(to: UInt8.self), maxDepth: maxDepth, lenient: lenient)
            do throws(JSONParseError) {
                // A UTF-8 byte order mark is allowed before the value, as Foundation allows it.
                if reader.bytes.count >= 3, reader.bytes[0] == 0xEF, reader.bytes[1] == 0xBB, reader.bytes[2] == 0xBF {
                    reader.index = 3
                }
                reader.skipWhitespace()
                let value = try reader.value(depth: 0)
                reader.skipWhitespace()
                if reader.index < reader.bytes.count {
                    throw reader.error("unexpected data after the JSON value")
                }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    package func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }
}

private struct Reader {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    let lenient: Bool
    var index = 0

    /// The longest number literal read (longer ones are refused, not parsed).
    static let maxNumberLength = 1024

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int, lenient: Bool) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.lenient = lenient
    }

    func error(_ message: String) -> JSONParseError {
        JSONParseError(message: message, offset: index)
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        default:
            throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw error("unexpected end of input") }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
        for offset in 0..<count where bytes[index + offset] != expected[offset] {
            throw error("unexpected character")
        }
        index += count
    }

    mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw error("nested deeper than \(maxDepth) levels") }
        index += 1
        var object: [String: JSONValue] = [:]
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error(index < bytes.count ? "expected a string key" : "unexpected end of input")
            }
            let keyStart = index
            let key = try string()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected `:` after a key") }
            index += 1
            skipWhitespace()
            let member = try value(depth: depth)
            if object.updateValue(member, forKey: key) != nil, !lenient {
                throw JSONParseError(message: "duplicate key `\(Self.printable(key))`", offset: keyStart)
            }
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(object)
            default: throw error("expected `,` or `}`")
            }
        }
    }

    mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw error("nested deeper than \(maxDepth) levels") }
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try value(depth: depth))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input") }
            switch bytes[index] {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(items)
            default: throw error("expected `,` or `]`")
            }
        }
    }

    /// Reads a string starting at its opening quote.
    mutating func string() throws(JSONParseError) -> String {
        index += 1
        let start = index
        // Fast path: no escapes, so the bytes are the string once validated as UTF-8.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: bytes[start..<index])
                guard let text = String(validating: slice, as: UTF8.self) else {
                    throw JSONParseError(message: "invalid UTF-8 in a string", offset: start)
                }
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("unescaped control character in a string") }
            index += 1
        }
        guard index < bytes.count else { throw error("unterminated string") }
        var scalars: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: scalars, as: UTF8.self) else {
                    throw JSONParseError(message: "invalid UTF-8 in a string", offset: start)
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw error("unterminated string") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append(0x22)
                case UInt8(ascii: "\\"): scalars.append(0x5C)
                case UInt8(ascii: "/"): scalars.append(0x2F)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0C)
                case UInt8(ascii: "n"): scalars.append(0x0A)
                case UInt8(ascii: "r"): scalars.append(0x0D)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "u"):
                    let scalar = try unicodeEscape()
                    scalars.append(contentsOf: String(Character(scalar)).utf8)
                default:
                    index -= 1
                    throw error("invalid escape in a string")
                }
            default:
                if byte < 0x20 { throw error("unescaped control character in a string") }
                scalars.append(byte)
                index += 1
            }
        }
        throw error("unterminated string")
    }

    /// Reads the four hex digits after `\u` (and a low surrogate after a high one).
    mutating func unicodeEscape() throws(JSONParseError) -> Unicode.Scalar {
        let first = try hex4()
        if (0xD800...0xDBFF).contains(first) {
            let start = index
            if bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                index += 2
                let second = try hex4()
                if (0xDC00...0xDFFF).contains(second), let scalar = Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)) {
                    return scalar
                }
            }
            guard lenient else { throw error("unpaired surrogate in a string") }
            // What followed is read again as itself.
            index = start
            return "\u{FFFD}"
        }
        guard let scalar = Unicode.Scalar(first) else {
            guard lenient else { throw error("unpaired surrogate in a string") }
            return "\u{FFFD}"
        }
        return scalar
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw error("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    mutating func number() throws(JSONParseError) -> JSONValue {
        let start = index
        var integral = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, Self.isDigit(bytes[index]) else { throw error("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, Self.isDigit(bytes[index]) { throw error("invalid number (leading zero)") }
        } else {
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            guard index < bytes.count, Self.isDigit(bytes[index]) else { throw error("invalid number") }
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, Self.isDigit(bytes[index]) else { throw error("invalid number") }
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        guard index - start <= Self.maxNumberLength else {
            throw JSONParseError(message: "number longer than \(Self.maxNumberLength) characters", offset: start)
        }
        // Every byte of the literal is ASCII, checked above.
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if integral, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text), value.isFinite else {
            throw JSONParseError(message: "number out of range", offset: start)
        }
        return .double(value)
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// A key as an error message may quote it: short, and without control characters.
    static func printable(_ key: String) -> String {
        let clean = String(String.UnicodeScalarView(key.unicodeScalars.prefix(64).filter { $0.value >= 0x20 && $0.value != 0x7F }))
        return key.unicodeScalars.count > 64 ? clean + "…" : clean
    }
}

extension JSONValue {
    /// Nesting depth: 0 for a scalar, 1 for a flat array or object.
    package var depth: Int {
        switch self {
        case .array(let items): return 1 + (items.map(\.depth).max() ?? 0)
        case .object(let fields): return 1 + (fields.values.map(\.depth).max() ?? 0)
        default: return 0
        }
    }
}

/// Free-form JSON kept for a caller (key metadata, and conversation, companion and response
/// metadata): bounded in depth and size so a stored value cannot slow every later read.
package enum StoredJSON {
    /// Throws `VALIDATION_ERROR` naming `field` when the value is nested too deep or too large.
    package static func check(_ value: JSONValue, field: String) throws(GatewayError) {
        if value.depth > JSONLimits.maxDepth {
            throw GatewayError.validation("`\(field)` is nested deeper than \(JSONLimits.maxDepth) levels.", param: field)
        }
        let size = (try? JSONCoding.encode(value).count) ?? Int.max
        if size > JSONLimits.maxStoredBytes {
            throw GatewayError.validation(
                "`\(field)` is \(size) bytes as JSON; at most \(JSONLimits.maxStoredBytes) are kept.", param: field
            )
        }
    }
}
