/// One thing a credential may do. Every authenticated route needs exactly one of these
/// (`docs/SECURITY.md` has the route table).
package enum Permission: String, Sendable, Hashable, CaseIterable, Codable {
    /// Model calls: chat completions, messages, token counting, embeddings, `/v1/chat`.
    case callModels = "call_models"
    /// The caller's own identity, usage, balance and keys; the model list.
    case selfService = "self_service"
    /// Gateway-wide usage, costs and the request log (prompts included).
    case readUsage = "read_usage"
    /// Operational detail: `/health/detailed`, `/info`, `/metrics`.
    case readOperations = "read_operations"
    /// Keys and users for everyone.
    case administer
}

/// What a caller may do, as a set of permissions. The master key is `admin`.
///
/// Roles are not a ladder: `viewer` holds permissions `user` lacks and the other way round, so
/// minting compares permission sets (``mayMint(_:)``), never ranks.
package enum Role: String, Sendable, Hashable, CaseIterable, Codable {
    /// Everything.
    case admin
    /// Model calls, and their own keys and usage.
    case user
    /// Reads usage, logs and operational detail; no model calls.
    case viewer

    package var permissions: Set<Permission> {
        switch self {
        case .admin: return Set(Permission.allCases)
        case .user: return [.callModels, .selfService]
        case .viewer: return [.selfService, .readUsage, .readOperations]
        }
    }

    package func may(_ permission: Permission) -> Bool { permissions.contains(permission) }

    /// Whether a credential of this role may make a key of `role` for itself: only one that
    /// can do nothing this role cannot, and never an admin key.
    package func mayMint(_ role: Role) -> Bool {
        role != .admin && role.permissions.isSubset(of: permissions)
    }

    /// May call models (`/v1/chat/completions` and the other front doors).
    package var mayCallModels: Bool { may(.callModels) }
    /// May read gateway-wide usage, costs and the request log.
    package var mayReadUsage: Bool { may(.readUsage) }
    /// May manage keys and users for everyone.
    package var mayAdminister: Bool { may(.administer) }
}
