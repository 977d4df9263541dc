import Hummingbird
import SwitchboardCore

/// A request context that may carry an authenticated principal.
protocol PrincipalContext: RequestContext {
    var caller: Principal? { get }
}

extension GatewayRequestContext: PrincipalContext {
    var caller: Principal? { principal }
}

extension AuthenticatedContext: PrincipalContext {
    var caller: Principal? { principal }
}

/// Lets a route group through only for principals whose role holds `permission`; otherwise 403.
/// Every authenticated group has exactly one (docs/SECURITY.md's route table).
struct PermissionMiddleware<Context: PrincipalContext>: RouterMiddleware {
    let permission: Permission

    init(_ permission: Permission) {
        self.permission = permission
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let principal = context.caller, principal.may(permission) else {
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
