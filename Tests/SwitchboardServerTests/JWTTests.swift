import Crypto
import CryptoExtras
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore
import SwitchboardTesting
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Tokens signed the way Supabase (HS256) and Clerk/Auth0 (RS256, ES256) sign them.
enum JWTTestTokens {
    static func base64url(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func signingInput(alg: String, kid: String?, claims: [String: JSONValue]) -> String {
        var header: [String: JSONValue] = ["alg": .string(alg), "typ": "JWT"]
        if let kid { header["kid"] = .string(kid) }
        let headerData = (try? JSONCoding.encode(JSONValue.object(header))) ?? Data()
        let claimsData = (try? JSONCoding.encode(JSONValue.object(claims))) ?? Data()
        return base64url(headerData) + "." + base64url(claimsData)
    }

    static func hs256(_ claims: [String: JSONValue], secret: String) -> String {
        let input = signingInput(alg: "HS256", kid: nil, claims: claims)
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return input + "." + base64url(mac)
    }

    static func rs256(_ claims: [String: JSONValue], key: _RSA.Signing.PrivateKey, kid: String) throws -> String {
        let input = signingInput(alg: "RS256", kid: kid, claims: claims)
        let signature = try key.signature(for: SHA256.hash(data: Array(input.utf8)), padding: .insecurePKCS1v1_5)
        return input + "." + base64url(signature.rawRepresentation)
    }

    static func es256(_ claims: [String: JSONValue], key: P256.Signing.PrivateKey, kid: String) throws -> String {
        let input = signingInput(alg: "ES256", kid: kid, claims: claims)
        let signature = try key.signature(for: SHA256.hash(data: Array(input.utf8)))
        return input + "." + base64url(signature.rawRepresentation)
    }

    static func jwk(_ key: _RSA.Signing.PublicKey, kid: String) throws -> JSONValue {
        let components = try key.getKeyPrimitives()
        return ["kty": "RSA", "kid": .string(kid), "use": "sig", "alg": "RS256", "n": .string(base64url(components.modulus)), "e": .string(base64url(components.publicExponent))]
    }

    static func jwk(_ key: P256.Signing.PublicKey, kid: String) -> JSONValue {
        let raw = Array(key.rawRepresentation)
        return ["kty": "EC", "kid": .string(kid), "crv": "P-256", "x": .string(base64url(raw[0..<32])), "y": .string(base64url(raw[32..<64]))]
    }
}

/// A JWKS endpoint whose key set a test can change, counting fetches.
final class FakeJWKS: Sendable {
    let keys = LockedValue<[JSONValue]>([])
    let fetches = LockedValue(0)

    func makeApplication(onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.get(".well-known/jwks.json") { _, _ -> Response in
            self.fetches.withLock { $0 += 1 }
            let body = try JSONCoding.encode(JSONValue.object(["keys": .array(self.keys.withLock { $0 })]))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) }
        )
    }
}

@Suite struct JWTTests {
    static let secret = "supabase-style-shared-secret-0123456789"

    static func config(jwks: String? = nil) -> String {
        var jwt = "auth:\n  jwt:\n    hs256_secret: \(secret)\n    issuer: https://issuer.test/\n    audience: switchboard\n    role_claim: app_metadata.role\n    jwks_min_refetch_s: 0"
        if let jwks { jwt += "\n    jwks_url: \(jwks)" }
        return governanceConfig(jwt)
    }

    static func claims(sub: String = "user-42", role: String? = nil, exp: Double = 600, extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        let now = Date().timeIntervalSince1970
        var claims: [String: JSONValue] = [
            "sub": .string(sub), "iss": "https://issuer.test/", "aud": ["other", "switchboard"], "exp": .double(now + exp),
            "iat": .double(now), "role": "authenticated",
        ]
        if let role { claims["app_metadata"] = ["role": .string(role)] }
        for (key, value) in extra { claims[key] = value }
        return claims
    }

    @Test func anHS256TokenIsAUserWithTheRoleFromItsClaim() async throws {
        try await withGateway(config: Self.config(), transport: .router) { gateway in
            let token = JWTTestTokens.hs256(Self.claims(), secret: Self.secret)
            let chat = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(token))
            #expect(chat.status == 200)
            let me = try await gateway.get("/v1/users/me", headers: bearer(token))
            let json = try me.json()
            #expect(json["kind"] == "jwt" && json["user_id"] == "user-42" && json["role"] == "user" && json["id"] == "user:user-42")
            await gateway.flushRecords()
            let rows = try await gateway.gateway.governance.records(UsageQuery(userID: "user-42"), limit: 10)
            #expect(rows.count == 1)

            let viewer = JWTTestTokens.hs256(Self.claims(sub: "v", role: "viewer"), secret: Self.secret)
            #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(viewer)).status == 403)
            #expect(try await gateway.get("/api/v1/usage", headers: bearer(viewer)).status == 200)
            #expect(try await gateway.get("/admin/keys", headers: bearer(viewer)).status == 403)
            let admin = JWTTestTokens.hs256(Self.claims(sub: "a", role: "admin"), secret: Self.secret)
            #expect(try await gateway.get("/admin/keys", headers: bearer(admin)).status == 200)
        }
    }

    @Test func everyBadTokenGetsTheSame401() async throws {
        try await withGateway(config: Self.config(), transport: .router) { gateway in
            let now = Date().timeIntervalSince1970
            let bad = [
                JWTTestTokens.hs256(Self.claims(exp: -120), secret: Self.secret),
                JWTTestTokens.hs256(Self.claims(extra: ["nbf": .double(now + 600)]), secret: Self.secret),
                JWTTestTokens.hs256(Self.claims(extra: ["iss": "https://evil.test/"]), secret: Self.secret),
                JWTTestTokens.hs256(Self.claims(extra: ["aud": "someone-else"]), secret: Self.secret),
                JWTTestTokens.hs256(Self.claims(), secret: "a-different-secret-of-enough-length!!"),
                JWTTestTokens.hs256(Self.claims().filter { $0.key != "exp" }, secret: Self.secret),
                JWTTestTokens.hs256(Self.claims().filter { $0.key != "sub" }, secret: Self.secret),
                // alg none, and a tampered payload.
                JWTTestTokens.signingInput(alg: "none", kid: nil, claims: Self.claims()) + ".",
                { () -> String in
                    let parts = JWTTestTokens.hs256(Self.claims(), secret: Self.secret).split(separator: ".")
                    let forged = JWTTestTokens.signingInput(alg: "HS256", kid: nil, claims: Self.claims(role: "admin")).split(separator: ".")[1]
                    return "\(parts[0]).\(forged).\(parts[2])"
                }(),
            ]
            var messages: Set<String> = []
            for token in bad {
                let response = try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(token))
                #expect(response.status == 401, "\(token)")
                messages.insert(try response.json()["error"]?["message"]?.stringValue ?? "")
            }
            #expect(messages.count == 1)
        }
    }

    @Test func rs256AndES256TokensAreCheckedAgainstTheJWKSWhichIsRefetchedForNewKeyIDs() async throws {
        let jwks = FakeJWKS()
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let ec = P256.Signing.PrivateKey()
        jwks.keys.withLock { $0 = [try? JWTTestTokens.jwk(rsa.publicKey, kid: "rsa-1")].compactMap { $0 } }
        try await withLiveServer({ onRunning in jwks.makeApplication(onRunning: onRunning) }) { port, _ in
            try await withGateway(config: Self.config(jwks: "http://127.0.0.1:\(port)/.well-known/jwks.json"), transport: .router) { gateway in
                let rsToken = try JWTTestTokens.rs256(Self.claims(sub: "rs-user"), key: rsa, kid: "rsa-1")
                #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(rsToken)).status == 200)
                #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(rsToken)).status == 200)
                #expect(jwks.fetches.withLock { $0 } == 1)

                // A key the issuer has not published yet is refused; once published, it is fetched.
                let esToken = try JWTTestTokens.es256(Self.claims(sub: "es-user"), key: ec, kid: "ec-1")
                #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(esToken)).status == 401)
                jwks.keys.withLock { $0.append(JWTTestTokens.jwk(ec.publicKey, kid: "ec-1")) }
                let me = try await gateway.get("/v1/users/me", headers: bearer(esToken))
                #expect(me.status == 200)
                #expect(try me.json()["user_id"] == "es-user")

                // A token signed by another RSA key under a known kid fails.
                let impostor = try _RSA.Signing.PrivateKey(keySize: .bits2048)
                let forged = try JWTTestTokens.rs256(Self.claims(), key: impostor, kid: "rsa-1")
                #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(forged)).status == 401)
                // HS256 with the RSA public key as the "secret" (algorithm confusion) fails too.
                let confused = JWTTestTokens.hs256(Self.claims(), secret: "rsa-1")
                #expect(try await gateway.post("/v1/chat/completions", chatBody, headers: bearer(confused)).status == 401)
            }
        }
    }
}
