import Synchronization

/// Whether a shared store (Redis) answers, as the part that uses it sees it: up until a failure,
/// down until a probe answers. The changes say whether they were a change, so the owner logs
/// and sets its gauge once per outage.
final class BackendHealth: Sendable {
    private let up = Mutex(true)

    var isUp: Bool { up.withLock { $0 } }

    /// Marks the store down; `true` when it was up (the outage starts now).
    func markDown() -> Bool { set(false) }

    /// Marks the store up; `true` when it was down (the outage ends now).
    func markUp() -> Bool { set(true) }

    private func set(_ value: Bool) -> Bool {
        up.withLock { current in
            defer { current = value }
            return current != value
        }
    }
}
