package import NIOHTTP1

/// Base URLs and headers as every adapter builds them.
enum UpstreamEndpoint {
    /// The configured base URL (or the provider's default) without trailing slashes and without
    /// a version suffix the adapter adds itself (`/v1`, `/v1beta`).
    static func base(_ configured: String?, default fallback: String, droppingSuffix suffix: String? = nil) -> String {
        var base = configured ?? fallback
        while base.hasSuffix("/") { base.removeLast() }
        if let suffix, base.hasSuffix(suffix) { base.removeLast(suffix.count) }
        return base
    }

    /// `content-type: application/json`, the credential header, any fixed ones, then the
    /// config's own `headers` (which win, so an Entra ID token can replace a key).
    static func headers(credential: (name: String, value: String)?, fixed: [(String, String)] = [], extra: [String: String]) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        for (name, value) in fixed { headers.add(name: name, value: value) }
        if let credential, !credential.value.isEmpty { headers.add(name: credential.name, value: credential.value) }
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) {
            headers.replaceOrAdd(name: name, value: value)
        }
        return headers
    }
}

/// Percent-encoding of URL parts.
enum PercentEncoding {
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Everything but RFC 3986 unreserved characters encoded, upper-case hex (SigV4's rule too).
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var result = ""
        for byte in bytes {
            if isUnreserved(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return result
    }

    /// One path segment (a model id, a deployment name).
    static func pathSegment(_ text: String) -> String { encode(text.utf8) }
}
