/// Encodes `Encodable` values straight into a ``JSONValue`` tree, without writing JSON text and
/// parsing it back (what the cache key hashes).
///
/// The tree is what `JSONEncoder`'s output parses to, up to number form: integers stay
/// integers, floating-point numbers are `.double` (a `Float` as its shortest decimal, as
/// `JSONEncoder` writes it), `nil` through `encodeNil` is `.null`, and a value that asks for no
/// container is an empty object. A `JSONValue` inside is taken as it is. Coding paths are not
/// tracked (every container's is empty): the gateway's own types do not fail to encode, and a
/// path per value would cost an allocation each.
package struct JSONValueEncoder {
    package init() {}

    package func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let root = EncodingNode()
        try root.store(value, codingPath: [])
        return root.resolve()
    }
}

/// One value being encoded: a scalar, an object or an array, filled in by its containers.
final class EncodingNode {
    var scalar: JSONValue?
    var members: [String: EncodingNode]?
    var items: [EncodingNode]?

    func store<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        if let json = value as? JSONValue {
            scalar = json
            return
        }
        try value.encode(to: ValueEncoder(node: self, codingPath: codingPath))
    }

    func resolve() -> JSONValue {
        if let members { return .object(members.mapValues { $0.resolve() }) }
        if let items { return .array(items.map { $0.resolve() }) }
        return scalar ?? .object([:])
    }

    static func number(_ value: Float) -> JSONValue {
        value.isFinite ? .double(Double(value.description) ?? Double(value)) : .double(Double(value))
    }
}

final class ValueEncoder: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(node: EncodingNode, codingPath: [any CodingKey]) {
        self.node = node
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.members == nil {
            node.members = [:]
            node.items = nil
        }
        return KeyedEncodingContainer(KeyedValueEncoding<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.items == nil {
            node.items = []
            node.members = nil
        }
        return UnkeyedValueEncoding(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueEncoding(node: node, codingPath: codingPath)
    }
}

struct KeyedValueEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    private func set(_ value: JSONValue, _ key: Key) {
        let child = EncodingNode()
        child.scalar = value
        node.members?[key.stringValue] = child
    }

    mutating func encodeNil(forKey key: Key) { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) { set(.double(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) { set(EncodingNode.number(value), key) }
    mutating func encode(_ value: Int, forKey key: Key) { set(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) { set(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) { set(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) { set(.integer(Int64(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) { set(.integer(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) { set(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) { set(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) { set(.integer(Int64(value)), key) }
    mutating func encode(_ value: UInt, forKey key: Key) { set(Int64(exactly: value).map(JSONValue.integer) ?? .double(Double(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) { set(Int64(exactly: value).map(JSONValue.integer) ?? .double(Double(value)), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        let child = EncodingNode()
        node.members?[key.stringValue] = child
        try child.store(value, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodingNode()
        child.members = [:]
        node.members?[key.stringValue] = child
        return KeyedEncodingContainer(KeyedValueEncoding<NestedKey>(node: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = EncodingNode()
        child.items = []
        node.members?[key.stringValue] = child
        return UnkeyedValueEncoding(node: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: "super") }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key.stringValue) }

    private func superEncoder(named name: String) -> any Encoder {
        let child = EncodingNode()
        node.members?[name] = child
        return ValueEncoder(node: child, codingPath: codingPath)
    }
}

struct UnkeyedValueEncoding: UnkeyedEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    var count: Int { node.items?.count ?? 0 }

    private func append(_ value: JSONValue) {
        let child = EncodingNode()
        child.scalar = value
        node.items?.append(child)
    }

    mutating func encodeNil() { append(.null) }
    mutating func encode(_ value: Bool) { append(.bool(value)) }
    mutating func encode(_ value: String) { append(.string(value)) }
    mutating func encode(_ value: Double) { append(.double(value)) }
    mutating func encode(_ value: Float) { append(EncodingNode.number(value)) }
    mutating func encode(_ value: Int) { append(.integer(Int64(value))) }
    mutating func encode(_ value: Int8) { append(.integer(Int64(value))) }
    mutating func encode(_ value: Int16) { append(.integer(Int64(value))) }
    mutating func encode(_ value: Int32) { append(.integer(Int64(value))) }
    mutating func encode(_ value: Int64) { append(.integer(value)) }
    mutating func encode(_ value: UInt8) { append(.integer(Int64(value))) }
    mutating func encode(_ value: UInt16) { append(.integer(Int64(value))) }
    mutating func encode(_ value: UInt32) { append(.integer(Int64(value))) }
    mutating func encode(_ value: UInt) { append(Int64(exactly: value).map(JSONValue.integer) ?? .double(Double(value))) }
    mutating func encode(_ value: UInt64) { append(Int64(exactly: value).map(JSONValue.integer) ?? .double(Double(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        let child = EncodingNode()
        node.items?.append(child)
        try child.store(value, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodingNode()
        child.members = [:]
        node.items?.append(child)
        return KeyedEncodingContainer(KeyedValueEncoding<NestedKey>(node: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = EncodingNode()
        child.items = []
        node.items?.append(child)
        return UnkeyedValueEncoding(node: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        let child = EncodingNode()
        node.items?.append(child)
        return ValueEncoder(node: child, codingPath: codingPath)
    }
}

struct SingleValueEncoding: SingleValueEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]

    mutating func encodeNil() { node.scalar = .null }
    mutating func encode(_ value: Bool) { node.scalar = .bool(value) }
    mutating func encode(_ value: String) { node.scalar = .string(value) }
    mutating func encode(_ value: Double) { node.scalar = .double(value) }
    mutating func encode(_ value: Float) { node.scalar = EncodingNode.number(value) }
    mutating func encode(_ value: Int) { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: Int8) { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: Int16) { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: Int32) { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: Int64) { node.scalar = .integer(value) }
    mutating func encode(_ value: UInt8) { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: UInt16) { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: UInt32) { node.scalar = .integer(Int64(value)) }
    mutating func encode(_ value: UInt) { node.scalar = Int64(exactly: value).map(JSONValue.integer) ?? .double(Double(value)) }
    mutating func encode(_ value: UInt64) { node.scalar = Int64(exactly: value).map(JSONValue.integer) ?? .double(Double(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try node.store(value, codingPath: codingPath)
    }
}

