import Crypto

#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// The key pair (and optional session token) a request is signed with.
package struct SigV4Credentials: Sendable, Hashable {
    package var accessKeyID: String
    package var secretAccessKey: String
    /// Present for temporary credentials; sent as `x-amz-security-token` and signed.
    package var sessionToken: String?

    package init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// One HTTP request as the signer sees it.
package struct SigV4Request: Sendable {
    package var method: String
    /// The path exactly as it goes on the wire (already percent-encoded), e.g. `/model/a%3Ab/converse`.
    package var path: String
    /// The raw query string without `?`; empty when there is none.
    package var query: String
    /// Every header to be signed, `host` included. Names are matched case-insensitively.
    package var headers: [(name: String, value: String)]
    /// Lowercase hex SHA-256 of the body.
    package var payloadHash: String

    package init(method: String, path: String, query: String = "", headers: [(name: String, value: String)], payloadHash: String) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }

    package init(method: String, path: String, query: String = "", headers: [(name: String, value: String)], body: some Sequence<UInt8>) {
        self.init(method: method, path: path, query: query, headers: headers, payloadHash: SigV4Signer.hexSHA256(Array(body)))
    }
}

/// Everything a signature was computed from, so tests and the fake upstream can compare steps.
package struct SigV4Signature: Sendable, Hashable {
    package var canonicalRequest: String
    package var stringToSign: String
    package var signedHeaders: String
    package var signature: String
    package var authorization: String
}

/// AWS Signature Version 4 for one service in one region (`bedrock` in `us-east-1`, ...).
///
/// Follows the non-S3 rules: the canonical URI encodes each path segment a second time, so a
/// `%3A` on the wire is `%253A` in the canonical request.
package struct SigV4Signer: Sendable {
    package var credentials: SigV4Credentials
    package var region: String
    package var service: String

    static let algorithm = "AWS4-HMAC-SHA256"

    package init(credentials: SigV4Credentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// The headers to add to a request so it is signed: `x-amz-date`, `x-amz-security-token`
    /// when there is a session token, and `authorization`.
    ///
    /// - Parameters:
    ///   - request: the request, its `host` and any other headers to sign already in `headers`.
    ///   - date: the signing time.
    package func authorizationHeaders(for request: SigV4Request, at date: Date) -> [(name: String, value: String)] {
        let amzDate = Self.amzDate(date)
        var added: [(name: String, value: String)] = [("x-amz-date", amzDate)]
        if let token = credentials.sessionToken, !token.isEmpty {
            added.append(("x-amz-security-token", token))
        }
        var complete = request
        complete.headers += added
        let signature = sign(complete, amzDate: amzDate)
        added.append(("authorization", signature.authorization))
        return added
    }

    /// Signs a request whose headers (including `x-amz-date`) are all present; every header given is signed.
    package func sign(_ request: SigV4Request, amzDate: String) -> SigV4Signature {
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let (canonicalHeaders, signedHeaders) = Self.canonicalHeaders(request.headers)
        let canonicalRequest = [
            request.method.uppercased(),
            Self.canonicalURI(request.path),
            Self.canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")
        let stringToSign = [
            Self.algorithm,
            amzDate,
            scope,
            Self.hexSHA256(Array(canonicalRequest.utf8)),
        ].joined(separator: "\n")
        let key = signingKey(day: day)
        let signature = Self.hex(Self.hmac(key: key, Array(stringToSign.utf8)))
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return SigV4Signature(
            canonicalRequest: canonicalRequest,
            stringToSign: stringToSign,
            signedHeaders: signedHeaders,
            signature: signature,
            authorization: authorization
        )
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request").
    func signingKey(day: String) -> [UInt8] {
        var key = Self.hmac(key: Array(("AWS4" + credentials.secretAccessKey).utf8), Array(day.utf8))
        key = Self.hmac(key: key, Array(region.utf8))
        key = Self.hmac(key: key, Array(service.utf8))
        return Self.hmac(key: key, Array("aws4_request".utf8))
    }

    // MARK: - Canonical pieces

    /// Encodes every byte of every segment except the unreserved set; `%` itself is encoded too.
    static func canonicalURI(_ path: String) -> String {
        guard !path.isEmpty else { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { uriEncode(Array($0.utf8)) }
            .joined(separator: "/")
    }

    /// Decodes each name and value, encodes them the AWS way, and sorts by name, then value.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        let pairs: [(String, String)] = query.split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = uriEncode(percentDecode(parts[0]))
            let value = parts.count > 1 ? uriEncode(percentDecode(parts[1])) : ""
            return (name, value)
        }
        return pairs
            .sorted { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// Lowercased names, trimmed values with inner runs of spaces collapsed, repeated names joined by commas.
    static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (canonical: String, signed: String) {
        var merged: [String: [String]] = [:]
        for header in headers {
            merged[header.name.lowercased(), default: []].append(normalizeValue(header.value))
        }
        let names = merged.keys.sorted()
        var canonical = ""
        for name in names {
            canonical += name + ":" + (merged[name] ?? []).joined(separator: ",") + "\n"
        }
        return (canonical, names.joined(separator: ";"))
    }

    static func normalizeValue(_ value: String) -> String {
        var result = ""
        var lastWasSpace = false
        let trimmed = value.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()
        for character in trimmed {
            if character == " " {
                if !lastWasSpace { result.append(character) }
                lastWasSpace = true
            } else {
                result.append(character)
                lastWasSpace = false
            }
        }
        return result
    }

    /// Percent-encodes all but `A-Z a-z 0-9 - . _ ~`, with uppercase hex digits.
    package static func uriEncode(_ bytes: [UInt8]) -> String {
        PercentEncoding.encode(bytes)
    }

    package static func uriEncode(_ string: String) -> String { uriEncode(Array(string.utf8)) }

    static func percentDecode(_ text: Substring) -> [UInt8] {
        let bytes = Array(text.utf8)
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x25, index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                result.append(high << 4 | low)
                index += 3
            } else {
                result.append(bytes[index])
                index += 1
            }
        }
        return result
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x41...0x46: return byte - 0x41 + 10
        case 0x61...0x66: return byte - 0x61 + 10
        default: return nil
        }
    }

    // MARK: - Hashing and formatting

    static func hmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    package static func hexSHA256(_ bytes: [UInt8]) -> String {
        hex(Array(SHA256.hash(data: bytes)))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { hexByte($0, uppercase: false) }.joined()
    }

    static func hexByte(_ byte: UInt8, uppercase: Bool) -> String {
        let digits: [Character] = uppercase ? Array("0123456789ABCDEF") : Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }

    /// `YYYYMMDD'T'HHMMSS'Z'` in UTC, computed from the epoch so no locale or calendar is involved.
    package static func amzDate(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return pad(year, 4) + pad(month, 2) + pad(day, 2) + "T"
            + pad(secondOfDay / 3600, 2) + pad(secondOfDay % 3600 / 60, 2) + pad(secondOfDay % 60, 2) + "Z"
    }

    /// Proleptic Gregorian date of a day count from 1970-01-01, by 400-year eras starting in March.
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = daysSinceEpoch + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
