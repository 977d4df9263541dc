package import SwitchboardCore
import SwitchboardProviders

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Builds `application/vnd.amazon.eventstream` messages with correct checksums, for fakes and tests.
package enum EventStreamEncoder {
    /// One message with string headers (value type 7).
    package static func message(headers: [(String, String)], payload: [UInt8]) -> [UInt8] {
        var headerBytes: [UInt8] = []
        for (name, value) in headers {
            headerBytes.append(UInt8(truncatingIfNeeded: name.utf8.count))
            headerBytes += Array(name.utf8)
            headerBytes.append(7)
            headerBytes += bigEndian(UInt16(truncatingIfNeeded: value.utf8.count))
            headerBytes += Array(value.utf8)
        }
        let total = 16 + headerBytes.count + payload.count
        var bytes = bigEndian(UInt32(truncatingIfNeeded: total)) + bigEndian(UInt32(truncatingIfNeeded: headerBytes.count))
        bytes += bigEndian(CRC32.checksum(bytes))
        bytes += headerBytes
        bytes += payload
        bytes += bigEndian(CRC32.checksum(bytes))
        return bytes
    }

    /// A ConverseStream event such as `contentBlockDelta` with a JSON payload.
    package static func event(_ type: String, _ payload: JSONValue) -> [UInt8] {
        message(
            headers: [(":event-type", type), (":content-type", "application/json"), (":message-type", "event")],
            payload: json(payload)
        )
    }

    /// A modelled exception frame such as `throttlingException`.
    package static func exception(_ type: String, _ payload: JSONValue) -> [UInt8] {
        message(
            headers: [(":exception-type", type), (":content-type", "application/json"), (":message-type", "exception")],
            payload: json(payload)
        )
    }

    static func json(_ value: JSONValue) -> [UInt8] {
        (try? JSONCoding.encode(value)).map(Array.init) ?? []
    }

    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }
}
