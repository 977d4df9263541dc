/// One RESP2 value, as Redis sends it.
package enum RESPValue: Sendable, Hashable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// `nil` is the null bulk string (`$-1`), Redis's "no such key".
    case bulkString([UInt8]?)
    /// `nil` is the null array (`*-1`).
    case array([RESPValue]?)

    /// The value as text: a simple or bulk string (`nil` for null or any other type).
    package var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes?): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// The bytes of a bulk or simple string.
    package var bytes: [UInt8]? {
        switch self {
        case .simpleString(let text): return Array(text.utf8)
        case .bulkString(let bytes): return bytes
        default: return nil
        }
    }

    package var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    package var isNull: Bool {
        switch self {
        case .bulkString(nil), .array(nil): return true
        default: return false
        }
    }
}

/// A command's argument: Redis takes every argument as a bulk string.
package struct RESPArgument: Sendable, Hashable, ExpressibleByStringLiteral {
    package let bytes: [UInt8]

    package init(_ bytes: [UInt8]) { self.bytes = bytes }
    package init(_ text: String) { self.bytes = Array(text.utf8) }
    package init<Number: BinaryInteger>(_ number: Number) { self.bytes = Array(String(number).utf8) }
    package init(stringLiteral value: String) { self.init(value) }
}

/// One command: its name and arguments, written as a RESP array of bulk strings.
package struct RedisCommand: Sendable, Hashable {
    package var arguments: [RESPArgument]

    package init(_ name: String, _ arguments: [RESPArgument] = []) {
        self.arguments = [RESPArgument(name)] + arguments
    }

    /// The command's name, for errors and logs (never its arguments: they may hold secrets).
    package var name: String { arguments.first.map { String(decoding: $0.bytes, as: UTF8.self) } ?? "" }

    /// Appends the command's wire form (`*N\r\n$len\r\narg\r\n…`).
    package func write(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "*"))
        out.append(contentsOf: String(arguments.count).utf8)
        out.append(contentsOf: [13, 10])
        for argument in arguments {
            out.append(UInt8(ascii: "$"))
            out.append(contentsOf: String(argument.bytes.count).utf8)
            out.append(contentsOf: [13, 10])
            out.append(contentsOf: argument.bytes)
            out.append(contentsOf: [13, 10])
        }
    }
}
