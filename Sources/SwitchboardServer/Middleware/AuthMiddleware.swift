import HTTPTypes
import Hummingbird
import SwitchboardCore

/// Authenticates a route group: `Authorization: Bearer <credential>` (or `x-api-key`, which
/// Anthropic clients send) is the master key, a virtual key or a JWT; the principal goes into
/// the context. With auth off (no master key) every caller is the anonymous admin.
///
/// Failed sign-ins are counted per client address (`auth.max_failed_sign_ins_per_minute`, on by
/// default, or `limits.ip_rpm` when tighter): past the limit the answer is 429 with
/// `Retry-After`, so keys cannot be guessed quickly. A valid credential is never held back.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let authenticator: Authenticator
    let limiter: RateLimiter
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
        let principal: Principal
        do {
            principal = try await authenticator.authenticate(Self.credential(in: request))
        } catch {
            guard error.code == .authenticationError, let limit = failedSignInsPerMinute, let address else { return .failure(error) }
            let scope = LimitScope(id: "auth-failures:\(address)", label: "address \(address)", rpm: limit)
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

/// Lets a route group through only for principals whose role holds `permission`; otherwise 403.
struct PermissionMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let permission: Permission

    init(_ permission: Permission) {
        self.permission = permission
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let principal = context.principal, principal.role.may(permission) else {
            throw GatewayError(.permissionDenied, Self.refusal(permission))
        }
        return try await next(request, context)
    }

    static func refusal(_ permission: Permission) -> String {
        if permission == .callModels { return "This credential may not call models." }
        let roles = Role.allCases.filter { $0.may(permission) }.map(\.rawValue)
        return "This endpoint needs the `\(permission.rawValue)` permission (roles: \(roles.joined(separator: ", ")))."
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
