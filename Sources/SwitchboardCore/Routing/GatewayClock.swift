/// The time and the waiting the executor uses: the system's, or a test's.
package protocol GatewayClock: Sendable {
    var now: ContinuousClock.Instant { get }
    func sleep(for duration: Duration) async throws
}

/// `ContinuousClock`.
package struct SystemClock: GatewayClock {
    package init() {}
    package var now: ContinuousClock.Instant { .now }
    package func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// The randomness behind weighted routing and retry jitter: the system's, or a test's.
package struct RandomSource: RandomNumberGenerator, Sendable {
    private let draw: @Sendable () -> UInt64

    package init(_ draw: @escaping @Sendable () -> UInt64) {
        self.draw = draw
    }

    package static let system = RandomSource {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }

    package mutating func next() -> UInt64 { draw() }
}
