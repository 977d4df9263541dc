import HTTPTypes
import Hummingbird
import SwitchboardCore

/// Authenticates `/v1` calls. With a master key configured, `Authorization: Bearer <key>`
/// (or `x-api-key`, which Anthropic clients send) must match it; without one, auth is off.
///
/// This is the seam for virtual keys and JWT: a later `Authenticator` maps credentials to a
/// ``Principal`` here, and handlers only ever see the principal.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let masterKey: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        guard let masterKey else {
            context.principal = .anonymous
            return try await next(request, context)
        }
        guard let presented = Self.credential(in: request), Self.constantTimeEquals(presented, masterKey) else {
            // The same answer whether the key was missing, malformed or wrong.
            throw GatewayError(
                .authenticationError,
                "Missing or invalid API key. Send it as `Authorization: Bearer <key>`."
            )
        }
        context.principal = .master
        return try await next(request, context)
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
