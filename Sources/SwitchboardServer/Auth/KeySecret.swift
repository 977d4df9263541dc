import Crypto

/// Virtual-key secrets: made here, shown once, stored only as a SHA-256.
package enum KeySecret {
    package static let scheme = "sk-sb-"

    /// A new secret: `sk-sb-` and 48 hex digits (192 random bits).
    package static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        var text = scheme
        for _ in 0..<3 {
            text += hex(generator.next() as UInt64)
        }
        return text
    }

    /// A new key id: `key_` and 16 hex digits.
    package static func makeID() -> String {
        var generator = SystemRandomNumberGenerator()
        return "key_" + hex(generator.next() as UInt64)
    }

    /// The part of a secret safe to show: the scheme and six more characters.
    package static func prefix(of secret: String) -> String {
        String(secret.prefix(scheme.count + 6))
    }

    /// Lower-case hex SHA-256 of the secret.
    package static func hash(_ secret: String) -> String {
        SHA256.hash(data: Array(secret.utf8)).map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
