/// Decodes `Decodable` types from a ``JSONValue`` tree that ``JSONParser`` built.
///
/// Errors are the standard `DecodingError`s with their coding paths, so
/// ``JSONCoding/describe(_:)`` names the field at fault as it does for Foundation's decoder. A
/// `JSONValue` field is taken from the tree as it is, never guessed at.
package struct JSONValueDecoder {
    package init() {}

    package func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try ValueDecoder(value: value, codingPath: []).decode(type)
    }
}

/// One value's decoder. `JSONValue.init(from:)` recognises it and takes ``value`` directly.
final class ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: JSONValue, codingPath: [any CodingKey]) {
        self.value = value
        self.codingPath = codingPath
    }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == JSONValue.self, let value = value as? T { return value }
        return try T(from: self)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw DecodingError.typeMismatch(
                [String: JSONValue].self,
                .init(codingPath: codingPath, debugDescription: "Expected an object but found \(value.kindName) instead.")
            )
        }
        return KeyedDecodingContainer(ValueKeyedContainer<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else {
            throw DecodingError.typeMismatch(
                [JSONValue].self,
                .init(codingPath: codingPath, debugDescription: "Expected an array but found \(value.kindName) instead.")
            )
        }
        return ValueUnkeyedContainer(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        ValueSingleContainer(value: value, codingPath: codingPath)
    }
}

/// Reads scalars out of a value, with Foundation's rules: integers from exact numbers only.
enum ScalarReading {
    static func mismatch<T>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        if value == .null {
            return DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "Found null instead of a value."))
        }
        return DecodingError.typeMismatch(type, .init(codingPath: path, debugDescription: "Expected \(type) but found \(value.kindName) instead."))
    }

    static func bool(_ value: JSONValue, _ path: [any CodingKey]) throws -> Bool {
        guard case .bool(let bool) = value else { throw mismatch(Bool.self, value, path) }
        return bool
    }

    static func string(_ value: JSONValue, _ path: [any CodingKey]) throws -> String {
        guard case .string(let string) = value else { throw mismatch(String.self, value, path) }
        return string
    }

    static func double(_ value: JSONValue, _ path: [any CodingKey]) throws -> Double {
        switch value {
        case .double(let number): return number
        case .integer(let number): return Double(number)
        default: throw mismatch(Double.self, value, path)
        }
    }

    static func float(_ value: JSONValue, _ path: [any CodingKey]) throws -> Float {
        let number = try double(value, path)
        let float = Float(number)
        guard float.isFinite else {
            throw DecodingError.typeMismatch(Float.self, .init(codingPath: path, debugDescription: "must be a number that fits in Float"))
        }
        return float
    }

    static func integer<T: FixedWidthInteger>(_ type: T.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> T {
        let result: T?
        switch value {
        case .integer(let number): result = T(exactly: number)
        case .double(let number): result = number.isFinite ? T(exactly: number) : nil
        default: throw mismatch(type, value, path)
        }
        guard let result else {
            throw DecodingError.typeMismatch(
                type, .init(codingPath: path, debugDescription: "must be a whole number that fits in \(type)")
            )
        }
        return result
    }
}

struct ValueKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value for key `\(key.stringValue)`."))
        }
        return value
    }

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try ScalarReading.bool(member(key), path(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try ScalarReading.string(member(key), path(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try ScalarReading.double(member(key), path(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try ScalarReading.float(member(key), path(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try ScalarReading.integer(type, member(key), path(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try ScalarReading.integer(type, member(key), path(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try ScalarReading.integer(type, member(key), path(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try ScalarReading.integer(type, member(key), path(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try ScalarReading.integer(type, member(key), path(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try ScalarReading.integer(type, member(key), path(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try ScalarReading.integer(type, member(key), path(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try ScalarReading.integer(type, member(key), path(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try ScalarReading.integer(type, member(key), path(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try ScalarReading.integer(type, member(key), path(key)) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try ValueDecoder(value: member(key), codingPath: path(key)).decode(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: member(key), codingPath: path(key)).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: member(key), codingPath: path(key)).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        ValueDecoder(value: object["super"] ?? .null, codingPath: codingPath + [AnyCodingKey("super")])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: object[key.stringValue] ?? .null, codingPath: path(key))
    }
}

struct ValueUnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(items: [JSONValue], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private var path: [any CodingKey] { codingPath + [AnyCodingKey(index: currentIndex)] }

    private func current<T>(_ type: T.Type) throws -> JSONValue {
        guard currentIndex < items.count else {
            throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "The array has no more elements."))
        }
        return items[currentIndex]
    }

    private mutating func next<T>(_ read: (JSONValue, [any CodingKey]) throws -> T) throws -> T {
        let value = try read(current(T.self), path)
        currentIndex += 1
        return value
    }

    mutating func decodeNil() throws -> Bool {
        guard try current(JSONValue.self) == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(ScalarReading.bool) }
    mutating func decode(_ type: String.Type) throws -> String { try next(ScalarReading.string) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(ScalarReading.double) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(ScalarReading.float) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next { try ScalarReading.integer(type, $0, $1) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next { try ScalarReading.integer(type, $0, $1) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next { try ScalarReading.integer(type, $0, $1) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next { try ScalarReading.integer(type, $0, $1) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next { try ScalarReading.integer(type, $0, $1) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next { try ScalarReading.integer(type, $0, $1) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next { try ScalarReading.integer(type, $0, $1) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next { try ScalarReading.integer(type, $0, $1) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next { try ScalarReading.integer(type, $0, $1) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next { try ScalarReading.integer(type, $0, $1) } }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try next { value, path in try ValueDecoder(value: value, codingPath: path).decode(type) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next { value, path in try ValueDecoder(value: value, codingPath: path).container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next { value, path in try ValueDecoder(value: value, codingPath: path).unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try next { value, path in ValueDecoder(value: value, codingPath: path) }
    }
}

struct ValueSingleContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try ScalarReading.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try ScalarReading.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try ScalarReading.double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try ScalarReading.float(value, codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try ScalarReading.integer(type, value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try ScalarReading.integer(type, value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try ScalarReading.integer(type, value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try ScalarReading.integer(type, value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try ScalarReading.integer(type, value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try ScalarReading.integer(type, value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try ScalarReading.integer(type, value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try ScalarReading.integer(type, value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try ScalarReading.integer(type, value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try ScalarReading.integer(type, value, codingPath) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try ValueDecoder(value: value, codingPath: codingPath).decode(type)
    }
}

extension JSONValue {
    /// How error messages name the kind of a value.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension AnyCodingKey {
    init(index: Int) {
        self.stringValue = String(index)
        self.intValue = index
    }
}
