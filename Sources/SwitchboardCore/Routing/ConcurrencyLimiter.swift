import Synchronization

/// A process-wide bound on upstream calls in flight.
package final class ConcurrencyLimiter: Sendable {
    package let limit: Int?
    private let current = Atomic<Int>(0)

    package init(limit: Int?) {
        self.limit = limit
    }

    package func tryAcquire() -> Bool {
        let now = current.wrappingAdd(1, ordering: .relaxed).newValue
        if let limit, now > limit {
            current.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    package func release() {
        current.wrappingSubtract(1, ordering: .relaxed)
    }

    package var inFlight: Int { current.load(ordering: .relaxed) }
}

/// Releases a global slot exactly once.
final class SlotRelease: Sendable {
    private let limiter: ConcurrencyLimiter
    private let released = Atomic<Bool>(false)

    init(_ limiter: ConcurrencyLimiter) {
        self.limiter = limiter
    }

    func release() {
        if released.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            limiter.release()
        }
    }

    deinit { release() }
}
