/// Who is calling. Middleware sets it; the governance layer adds virtual keys and JWT users.
public struct Principal: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// Auth is off: no master key configured.
        case anonymous
        /// The master key: admin.
        case master
    }

    public var kind: Kind
    /// A stable identifier for accounting (`master`, `anonymous`, a key id, a user id).
    public var id: String

    public init(kind: Kind, id: String) {
        self.kind = kind
        self.id = id
    }

    public static let anonymous = Principal(kind: .anonymous, id: "anonymous")
    public static let master = Principal(kind: .master, id: "master")
}
