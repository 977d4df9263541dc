import AsyncHTTPClient
import Crypto
import CryptoExtras
import Logging
import NIOCore
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a verified token says about its bearer.
struct JWTIdentity: Sendable, Hashable {
    var subject: String
    var role: Role
    /// Seconds since 1970 when the token stops being valid.
    var expiresAt: Double
}

/// Verifies JWT bearer tokens: HS256 with a shared secret, RS256 and ES256 with keys from a JWKS
/// URL. Checks `exp`, `nbf`, `iss` and `aud`; maps the user claim to the user and the role
/// claim to a role. Any failure is one answer, so the caller learns nothing about which part failed.
struct JWTVerifier: Sendable {
    struct Failure: Error, Sendable, CustomStringConvertible {
        /// For the gateway's own debug log only, never the client.
        var reason: String
        var description: String { reason }
    }

    let config: JWTConfig
    let keys: JWKSCache?

    init(config: JWTConfig, client: HTTPClient, minimumRefetchInterval: Duration = .seconds(10), logger: Logger) {
        self.config = config
        self.keys = config.jwksURL.map {
            JWKSCache(url: $0, client: client, minimumRefetchInterval: minimumRefetchInterval, logger: logger)
        }
    }

    /// Whether a credential looks like a JWT at all (three base64url parts, header `eyJ…`).
    static func looksLikeJWT(_ token: String) -> Bool {
        token.hasPrefix("eyJ") && token.utf8.lazy.filter { $0 == UInt8(ascii: ".") }.count == 2
    }

    func verify(_ token: String, now: Double) async throws(Failure) -> JWTIdentity {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else { throw Failure(reason: "malformed token") }
        let header: Header
        let claims: [String: JSONValue]
        do {
            // Read before the signature is checked: the gateway's linear, depth-bounded parser.
            header = try JSONCoding.decode(Header.self, from: headerBytes)
            claims = try JSONCoding.decode([String: JSONValue].self, from: payloadBytes)
        } catch {
            throw Failure(reason: "undecodable header or claims")
        }
        let signingInput = Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)
        switch header.alg {
        case "HS256":
            guard let secret = config.hs256Secret else { throw Failure(reason: "HS256 token but no shared secret configured") }
            let key = SymmetricKey(data: Array(secret.utf8))
            guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: signingInput, using: key) else {
                throw Failure(reason: "bad HS256 signature")
            }
        case "RS256", "ES256":
            guard let keys else { throw Failure(reason: "\(header.alg) token but no JWKS URL configured") }
            guard let key = await keys.key(id: header.kid, algorithm: header.alg) else {
                throw Failure(reason: "no JWKS key for kid \(header.kid ?? "(none)")")
            }
            guard key.verifies(signature: signature, input: signingInput) else {
                throw Failure(reason: "bad \(header.alg) signature")
            }
        default:
            throw Failure(reason: "unsupported alg \(header.alg)")
        }
        return try identity(claims, now: now)
    }

    func identity(_ claims: [String: JSONValue], now: Double) throws(Failure) -> JWTIdentity {
        guard let exp = claims["exp"]?.doubleValue else { throw Failure(reason: "no exp") }
        guard now < exp + config.leewaySeconds else { throw Failure(reason: "expired") }
        if let nbf = claims["nbf"]?.doubleValue, now + config.leewaySeconds < nbf {
            throw Failure(reason: "not yet valid")
        }
        if let issuer = config.issuer, claims["iss"]?.stringValue != issuer {
            throw Failure(reason: "wrong issuer")
        }
        if let audience = config.audience {
            let audiences: [String]
            switch claims["aud"] {
            case .string(let value): audiences = [value]
            case .array(let values): audiences = values.compactMap(\.stringValue)
            default: audiences = []
            }
            guard audiences.contains(audience) else { throw Failure(reason: "wrong audience") }
        }
        guard let subject = Self.claim(config.userClaim, in: claims)?.stringValue, !subject.isEmpty else {
            throw Failure(reason: "no user claim")
        }
        let role = Self.claim(config.roleClaim, in: claims)?.stringValue.flatMap(Role.init(rawValue:)) ?? config.defaultRole
        return JWTIdentity(subject: subject, role: role, expiresAt: exp)
    }

    /// A claim by name, or by a dotted path into nested objects (`app_metadata.role`).
    static func claim(_ path: String, in claims: [String: JSONValue]) -> JSONValue? {
        if let value = claims[path] { return value }
        var current: JSONValue? = .object(claims)
        for part in path.split(separator: ".") {
            current = current?[String(part)]
        }
        return current
    }

    struct Header: Decodable {
        var alg: String
        var kid: String?
    }
}

/// A public key from a JWKS document.
struct JWK: Sendable {
    enum Material: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
    }

    var id: String?
    var material: Material

    var algorithm: String {
        switch material {
        case .rsa: return "RS256"
        case .p256: return "ES256"
        }
    }

    func verifies(signature: [UInt8], input: [UInt8]) -> Bool {
        let digest = SHA256.hash(data: input)
        switch material {
        case .rsa(let key):
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: .insecurePKCS1v1_5)
        case .p256(let key):
            guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(signature, for: digest)
        }
    }

    struct Document: Decodable {
        var keys: [Entry]
    }

    struct Entry: Decodable {
        var kty: String
        var kid: String?
        var use: String?
        var n: String?
        var e: String?
        var crv: String?
        var x: String?
        var y: String?
    }

    /// The usable signing keys of a JWKS document; entries of other kinds are skipped.
    static func parse(_ data: Data) throws -> [JWK] {
        let document = try JSONDecoder().decode(Document.self, from: data)
        return document.keys.compactMap { entry in
            if let use = entry.use, use != "sig" { return nil }
            switch entry.kty {
            case "RSA":
                guard let n = entry.n.flatMap(Base64URL.decode), let e = entry.e.flatMap(Base64URL.decode),
                    let key = try? _RSA.Signing.PublicKey(n: n, e: e)
                else { return nil }
                return JWK(id: entry.kid, material: .rsa(key))
            case "EC":
                guard entry.crv == "P-256", let x = entry.x.flatMap(Base64URL.decode), let y = entry.y.flatMap(Base64URL.decode),
                    x.count == 32, y.count == 32, let key = try? P256.Signing.PublicKey(rawRepresentation: x + y)
                else { return nil }
                return JWK(id: entry.kid, material: .p256(key))
            default:
                return nil
            }
        }
    }
}

/// The issuer's keys, fetched on first use, kept for ten minutes, and fetched again at once
/// (at most every `minimumRefetchInterval`) when a token names a key id not yet seen.
final class JWKSCache: Sendable {
    private struct State {
        var keys: [JWK] = []
        var fetchedAt: ContinuousClock.Instant?
    }

    private let url: String
    private let client: HTTPClient
    private let minimumRefetchInterval: Duration
    private let lifetime: Duration = .seconds(600)
    private let logger: Logger
    private let state = LockedValue(State())

    init(url: String, client: HTTPClient, minimumRefetchInterval: Duration, logger: Logger) {
        self.url = url
        self.client = client
        self.minimumRefetchInterval = minimumRefetchInterval
        self.logger = logger
    }

    func key(id: String?, algorithm: String) async -> JWK? {
        let (cached, fetchedAt) = state.withLock { ($0.keys, $0.fetchedAt) }
        let now = ContinuousClock.now
        let fresh = fetchedAt.map { now - $0 < lifetime } ?? false
        if fresh, let key = Self.pick(cached, id: id, algorithm: algorithm) { return key }
        if let fetchedAt, fresh, now - fetchedAt < minimumRefetchInterval { return nil }
        guard let keys = await fetch() else {
            // The issuer is unreachable: keep using what we had.
            return Self.pick(cached, id: id, algorithm: algorithm)
        }
        state.withLock { state in
            state.keys = keys
            state.fetchedAt = .now
        }
        return Self.pick(keys, id: id, algorithm: algorithm)
    }

    private static func pick(_ keys: [JWK], id: String?, algorithm: String) -> JWK? {
        let candidates = keys.filter { $0.algorithm == algorithm }
        if let id { return candidates.first { $0.id == id } }
        return candidates.count == 1 ? candidates.first : nil
    }

    private func fetch() async -> [JWK]? {
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let response = try await client.execute(request, timeout: .seconds(5))
            guard response.status == .ok else {
                logger.warning("JWKS fetch failed", metadata: ["status": "\(response.status.code)"])
                return nil
            }
            let body = try await response.body.collect(upTo: 1 << 20)
            return try JWK.parse(Data(buffer: body))
        } catch {
            logger.warning("JWKS fetch failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return nil
        }
    }
}

/// Base64url without padding, as JWTs and JWKs use it.
enum Base64URL {
    static func decode(_ text: some StringProtocol) -> [UInt8]? {
        var base64 = String(text).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map { Array($0) }
    }

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}
