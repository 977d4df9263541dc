import HTTPTypes
import Hummingbird
import SwitchboardCore

/// Authenticates a route group: `Authorization: Bearer <credential>` (or `x-api-key`, which
/// Anthropic clients send) is the master key, a virtual key or a JWT; the principal goes into
/// the context. With auth off (no master key) every caller is the anonymous admin.
///
/// Failed sign-ins are counted per client address when `limits.ip_rpm` is set: past the limit
/// the answer is 429, so keys cannot be guessed quickly.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let authenticator: Authenticator
    let limiter: RateLimiter
    let ipRPM: Int?

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
        let principal: Principal
        do {
            principal = try await authenticator.authenticate(Self.credential(in: request))
        } catch {
            guard error.code == .authenticationError, let ipRPM, let address else { return .failure(error) }
            let scope = LimitScope(id: "auth-failures:\(address)", label: "address \(address)", rpm: ipRPM)
            let decision = limiter.admit([scope], promptTokens: 0, now: limiter.seconds())
            if case .failure(let rejection) = decision {
                let wait = max(1, Int(rejection.retryAfterSeconds.rounded(.up)))
                return .failure(GatewayError(.rateLimitExceeded, "Too many failed sign-ins from this address; retry later.", retryAfterSeconds: wait))
            }
            return .failure(error)
        }
        return .success(principal)
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

/// Lets a route group through only for principals whose role passes `allows`; otherwise 403.
struct RoleMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let allows: @Sendable (Role) -> Bool
    let message: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let principal = context.principal, allows(principal.role) else {
            throw GatewayError(.permissionDenied, message)
        }
        return try await next(request, context)
    }

    static let admin = RoleMiddleware(allows: { $0.mayAdminister }, message: "This endpoint needs the admin role.")
    static let usageReader = RoleMiddleware(allows: { $0.mayReadUsage }, message: "This endpoint needs the admin or viewer role.")
    static let modelCaller = RoleMiddleware(allows: { $0.mayCallModels }, message: "This credential may not call models.")
}

extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        var slice = self[...]
        while slice.first == set { slice = slice.dropFirst() }
        while slice.last == set { slice = slice.dropLast() }
        return String(slice)
    }
}
