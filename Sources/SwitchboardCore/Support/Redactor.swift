/// Replaces personal data and secrets in logged bodies: e-mail addresses, phone and card
/// numbers, API keys, bearer tokens and JWTs, and whatever the config's own patterns match.
///
/// It holds the patterns as text; ``compiled()`` turns them into regular expressions (which the
/// standard library does not make `Sendable`) for one batch of work, in the log writer, off the
/// request path.
package struct Redactor: Sendable {
    private let custom: [String]
    private let secrets: SecretScrubber

    /// - Parameters:
    ///   - custom: extra regular expressions (already checked with ``RedactionPattern/isValid(_:)``).
    ///   - secrets: the configured secrets, replaced by value before any pattern runs.
    package init(custom: [String] = [], secrets: SecretScrubber = .none) {
        self.custom = custom
        self.secrets = secrets
    }

    /// The patterns compiled, for redacting many texts in a row.
    package func compiled() -> Compiled {
        var rules: [(Regex<AnyRegexOutput>, String)] = []
        for (pattern, label) in Self.builtIn {
            if let regex = try? Regex(pattern) { rules.append((regex, "[REDACTED:\(label)]")) }
        }
        for pattern in custom {
            if let regex = try? Regex(pattern) { rules.append((regex, "[REDACTED]")) }
        }
        return Compiled(rules: rules, secrets: secrets)
    }

    package func redact(_ text: String) -> String {
        compiled().redact(text)
    }

    package func preview(_ text: String, limit: Int) -> String {
        compiled().preview(text, limit: limit)
    }

    package struct Compiled {
        let rules: [(regex: Regex<AnyRegexOutput>, replacement: String)]
        let secrets: SecretScrubber

        package func redact(_ text: String) -> String {
            var text = secrets.scrub(text)
            for rule in rules {
                text = text.replacing(rule.regex, with: rule.replacement)
            }
            return text
        }

        /// Redacts, then cuts to `limit` characters (with a marker saying how much was cut).
        package func preview(_ text: String, limit: Int) -> String {
            let redacted = redact(text)
            guard redacted.count > limit else { return redacted }
            return String(redacted.prefix(limit)) + "…[truncated \(redacted.count - limit) chars]"
        }
    }

    /// Secrets first, so a key is not half-eaten by the card-number rule.
    static let builtIn: [(String, String)] = [
        (#"(?i)bearer\s+[A-Za-z0-9._~+/=-]{8,}"#, "bearer"),
        (#"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+"#, "jwt"),
        (#"\bsk-[A-Za-z0-9_-]{16,}"#, "api_key"),
        (#"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"#, "api_key"),
        (#"\bAIza[0-9A-Za-z_-]{30,}"#, "api_key"),
        (#"\bgh[pousr]_[A-Za-z0-9]{30,}"#, "api_key"),
        (#"\bxox[abprs]-[A-Za-z0-9-]{10,}"#, "api_key"),
        (#"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"#, "email"),
        (#"\b(?:\d[ -]?){12,18}\d\b"#, "card"),
        (#"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.-]\d{3,4}[\s.-]\d{3,4}\b"#, "phone"),
    ]
}

package enum RedactionPattern {
    /// Whether `pattern` compiles as a regular expression.
    package static func isValid(_ pattern: String) -> Bool {
        (try? Regex(pattern)) != nil
    }
}

/// Replaces the gateway's own configured secrets (provider keys, the master key, signing
/// secrets) wherever they appear, by value rather than by shape: a provider key need not look
/// like one. Used on every string derived from an upstream (errors for clients, the health
/// report, log lines) and by the request log's ``Redactor``.
package struct SecretScrubber: Sendable {
    /// Longest first, so a secret containing another is replaced whole.
    let secrets: [String]

    /// - Parameter secrets: values to hide; ones shorter than 8 characters are ignored (they
    ///   would match ordinary text and are not credentials worth the name).
    package init(_ secrets: [String]) {
        // Each secret also as JSON would escape it and as a URL would encode it, the forms in
        // which it turns up quoted in bodies and query strings.
        var forms: Set<String> = []
        for secret in secrets where secret.utf8.count >= 8 {
            forms.insert(secret)
            forms.insert(Self.jsonEscaped(secret))
            forms.insert(Self.percentEncoded(secret))
        }
        self.secrets = forms.sorted { $0.utf8.count > $1.utf8.count }
    }

    static func jsonEscaped(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "/": escaped += "\\/"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return encoded
    }

    package static let none = SecretScrubber([])

    /// Every secret the configuration holds: provider keys and secret settings (as each
    /// provider type declares them), long header values, the master key, the JWT secret and the
    /// storage password.
    package static func configured(_ config: GatewayConfig, registry: ProviderRegistry) -> SecretScrubber {
        var secrets = registry.secrets(of: config.providers)
        secrets += [config.server.masterKey, config.jwt?.hs256Secret].compactMap { $0 }
        secrets += [storagePassword(config.storage.url)].compactMap { $0 }
        return SecretScrubber(secrets)
    }

    /// The password of a `postgres://user:password@host/db` URL.
    static func storagePassword(_ url: String) -> String? {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return nil }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return nil }
        let password = credentials[credentials.index(after: colon)...]
        return password.isEmpty ? nil : String(password)
    }

    package var isEmpty: Bool { secrets.isEmpty }

    package func scrub(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var text = text
        for secret in secrets where text.contains(secret) {
            text = text.replacing(secret, with: "[REDACTED:secret]")
        }
        return text
    }

    package func scrub(_ error: GatewayError) -> GatewayError {
        guard !secrets.isEmpty else { return error }
        var error = error
        error.message = scrub(error.message)
        return error
    }
}
