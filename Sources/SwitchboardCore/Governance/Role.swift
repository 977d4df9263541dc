/// What a caller may do. The master key is `admin`.
public enum Role: String, Sendable, Hashable, CaseIterable, Codable, Comparable {
    /// Everything: keys, users, usage, logs, and model calls.
    case admin
    /// Model calls, and their own keys and usage.
    case user
    /// Reads usage and logs only; no model calls.
    case viewer

    private var rank: Int {
        switch self {
        case .viewer: return 0
        case .user: return 1
        case .admin: return 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }

    /// May call models (`/v1/chat/completions` and the other front doors).
    public var mayCallModels: Bool { self != .viewer }
    /// May read gateway-wide usage, costs and the request log.
    public var mayReadUsage: Bool { self == .admin || self == .viewer }
    /// May manage keys and users for everyone.
    public var mayAdminister: Bool { self == .admin }
}
