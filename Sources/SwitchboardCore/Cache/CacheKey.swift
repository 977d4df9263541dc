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
        let body = try JSONCoding.parse(try JSONCoding.encode(normal))
        var reasoning: [String: JSONValue] = [:]
        if let thinking = request.gatewayExtensions.anthropicThinking { reasoning["thinking"] = thinking }
        if let topK = request.gatewayExtensions.anthropicTopK { reasoning["top_k"] = .integer(Int64(topK)) }
        let material = JSONValue.object([
            "scope": .string(scope),
            "model": .string(request.model),
            "targets": .array(targets.map(JSONValue.string)),
            "request": body,
            "gateway": .object(reasoning),
        ])
        var text = ""
        CanonicalJSON.write(material, to: &text)
        let digest = SHA256.hash(data: Array(text.utf8))
        return digest.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// JSON with sorted keys, no whitespace and numbers in one form (an integral double is written
/// as the integer), so equal requests encode to equal bytes.
enum CanonicalJSON {
    static func write(_ value: JSONValue, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .integer(let number): out += String(number)
        case .double(let number):
            if number.isFinite, number == number.rounded(), abs(number) < 9_007_199_254_740_992 {
                out += String(Int64(number))
            } else {
                out += "\(number)"
            }
        case .string(let string): writeString(string, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                write(item, to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                writeString(key, to: &out)
                out += ":"
                if let member = members[key] { write(member, to: &out) }
            }
            out += "}"
        }
    }

    static func writeString(_ string: String, to out: inout String) {
        out += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
