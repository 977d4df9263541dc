/// CRC-32 as IEEE 802.3 defines it (reflected polynomial 0xEDB88320), the checksum AWS event streams carry.
package struct CRC32: Sendable {
    package private(set) var value: UInt32 = 0

    package init() {}

    /// The checksum of `bytes` in one go.
    package static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// Folds more bytes into the running checksum.
    package mutating func update(_ bytes: some Sequence<UInt8>) {
        var register = ~value
        for byte in bytes {
            register = Self.table[Int((register ^ UInt32(byte)) & 0xFF)] ^ (register >> 8)
        }
        value = ~register
    }

    /// One entry per byte value: that byte pushed through eight shift-and-xor steps.
    static let table: [UInt32] = (0..<256).map { index in
        var entry = UInt32(index)
        for _ in 0..<8 {
            entry = entry & 1 == 1 ? (entry >> 1) ^ 0xEDB8_8320 : entry >> 1
        }
        return entry
    }
}
