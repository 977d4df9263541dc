import Crypto

/// Who may share a cached answer: never anyone outside the scope.
package enum CacheScope: String, Sendable, Hashable, CaseIterable {
    case key, user, team, global

    /// The scope's id for a caller. A caller without the named kind of owner (a key with no
    /// user, a user with no team) falls back to the narrower owner it has, never to a wider one.
    package func id(for principal: Principal) -> String {
        let key = "key:\(principal.keyID ?? principal.id)"
        switch self {
        case .key: return key
        case .user: return principal.userID.map { "user:\($0)" } ?? key
        case .team:
            if let team = principal.team { return "team:\(team)" }
            return principal.userID.map { "user:\($0)" } ?? key
        case .global: return "global"
        }
    }
}

/// The exact-cache key: SHA-256 over a canonical encoding of everything that changes the answer.
///
/// In: the model as asked and the targets it resolves to, messages, tools, `tool_choice`,
/// `response_format`, sampling parameters, `stop`, `seed`, `n`, reasoning settings and every
/// unknown pass-through field, plus the scope. Out: `user`, `metadata`, `stream`,
/// `stream_options` and the cache controls — so a streamed request finds a non-streamed entry and
/// a crafted `user` cannot reach another entry.
package enum CacheKey {
    package static func make(_ request: ChatRequest, targets: [String], scope: String) throws -> String {
        var normal = request
        normal.stream = false
        normal.streamOptions = nil
        normal.user = nil
        normal.gatewayExtensions = GatewayExtensions()
        let body = try JSONValueEncoder().encode(normal)
        var reasoning: [String: JSONValue] = [:]
        if let thinking = request.gatewayExtensions.anthropicThinking { reasoning["thinking"] = thinking }
        if let topK = request.gatewayExtensions.anthropicTopK { reasoning["top_k"] = .integer(Int64(topK)) }
        // A Responses call is its own entry (a native answer is a response object, not a chat one).
        if let native = request.gatewayExtensions.nativeResponses { reasoning["responses"] = native.body }
        let material = JSONValue.object([
            "scope": .string(scope),
            "model": .string(request.model),
            "targets": .array(targets.map(JSONValue.string)),
            "request": body,
            "gateway": .object(reasoning),
        ])
        var text: [UInt8] = []
        text.reserveCapacity(1024)
        CanonicalJSON.write(material, to: &text)
        return hex(SHA256.hash(data: text))
    }

    static let digits = Array("0123456789abcdef".utf8)

    static func hex(_ digest: SHA256.Digest) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(SHA256.byteCount * 2)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// JSON with sorted keys, no whitespace and numbers in one form (an integral double is written
/// as the integer), so equal requests encode to equal bytes.
package enum CanonicalJSON {
    package static func write(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let number): out.append(contentsOf: String(number).utf8)
        case .double(let number):
            if number.isFinite, number == number.rounded(), abs(number) < 9_007_199_254_740_992 {
                out.append(contentsOf: String(Int64(number)).utf8)
            } else {
                out.append(contentsOf: "\(number)".utf8)
            }
        case .string(let string): writeString(string, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                if let member = members[key] { write(member, to: &out) }
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string: UTF-8 as it is, with quotes, backslashes and control characters escaped.
    static func writeString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): escape(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): escape(UInt8(ascii: "\\"))
            case UInt8(ascii: "\n"): escape(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): escape(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): escape(UInt8(ascii: "t"))
            case 0..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(CacheKey.digits[Int(byte >> 4)])
                out.append(CacheKey.digits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))

        func escape(_ letter: UInt8) {
            out.append(UInt8(ascii: "\\"))
            out.append(letter)
        }
    }
}
