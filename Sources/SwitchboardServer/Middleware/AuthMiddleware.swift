import HTTPTypes
import Hummingbird
import SwitchboardCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Authenticates a route group: `Authorization: Bearer <credential>` (or `x-api-key`, which
/// Anthropic clients send) is the master key, a virtual key or a JWT; the principal goes into
/// the context. With auth off (no master key) every caller is the anonymous admin.
///
/// Failed sign-ins are counted per client address (`auth.max_failed_sign_ins_per_minute`, on by
/// default, or `limits.ip_rpm` when tighter; IPv6 addresses by /64): once an address has used
/// them up, every sign-in from it gets 429 with `Retry-After` before any credential is looked
/// at, so answers tell a guesser nothing and cost the key store nothing. One more try comes
/// back every `60 / limit` seconds.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let authenticator: Authenticator
    let limiter: any RateLimiting
    let failedSignInsPerMinute: Int?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        guard authenticator.isEnabled else {
            context.principal = authenticator.anonymous(address: context.remoteAddress)
            return try await next(request, context)
        }
        let outcome = await authenticate(request, address: context.remoteAddress)
        switch outcome {
        case .success(let principal):
            context.principal = principal
        case .failure(let error):
            throw error
        }
        return try await next(request, context)
    }

    private func authenticate(_ request: Request, address: String?) async -> Result<Principal, GatewayError> {
        let scope = failureScope(address)
        if let scope {
            let wait = await limiter.waitBeforeNext(scope)
            if wait > 0 { return .failure(Self.throttled(wait)) }
        }
        do {
            return .success(try await authenticator.authenticate(Self.credential(in: request)))
        } catch {
            guard error.code == .authenticationError, let scope else { return .failure(error) }
            if case .failure(let rejection) = await limiter.admit([scope], promptTokens: 0) {
                return .failure(Self.throttled(rejection.retryAfterSeconds))
            }
            return .failure(error)
        }
    }

    private func failureScope(_ address: String?) -> LimitScope? {
        guard let limit = failedSignInsPerMinute, let address else { return nil }
        let group = Self.addressGroup(address)
        return LimitScope(id: "auth-failures:\(group)", label: "address \(group)", rpm: limit)
    }

    static func throttled(_ seconds: Double) -> GatewayError {
        let wait = seconds.isFinite ? max(1, Int(min(seconds, 86_400).rounded(.up))) : 60
        return GatewayError(.rateLimitExceeded, "Too many failed sign-ins from this address; retry in \(wait) s.", retryAfterSeconds: wait)
    }

    /// The address failures are counted for: IPv4 as it is, IPv6 by its /64 (one host usually
    /// holds a whole /64).
    static func addressGroup(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, address, &bytes) == 1 else { return address }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        return bytes[0..<8].map { String($0, radix: 16) }.joined(separator: ":") + "::/64"
    }

    static func credential(in request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return parts[1].trimmingCharacters(in: " ")
            }
        }
        return request.headers[.apiKey]
    }

    /// Compares without an early exit, so timing reveals nothing about how much matched.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0 && a.count == b.count
    }
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var slice = self[...]
        while slice.first == set { slice = slice.dropFirst() }
        while slice.last == set { slice = slice.dropLast() }
        return String(slice)
    }
}
