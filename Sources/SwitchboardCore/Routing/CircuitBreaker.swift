/// A circuit breaker for one target, as a value-type state machine with no I/O.
///
/// Closed: calls pass; it opens after `consecutiveFailures` failures in a row, or when at least
/// `minimumRequests` calls in the last `window` failed at `errorRate` or more. Open: calls are
/// refused until `cooldown` has passed. Half-open: one probe call is let through; its success
/// closes the breaker, its failure opens it again.
package struct CircuitBreaker: Sendable {
    package struct Policy: Sendable, Hashable {
        package var consecutiveFailures: Int
        package var errorRate: Double
        package var minimumRequests: Int
        package var window: Duration
        package var cooldown: Duration

        package init(
            consecutiveFailures: Int = 5,
            errorRate: Double = 0.5,
            minimumRequests: Int = 20,
            window: Duration = .seconds(60),
            cooldown: Duration = .seconds(30)
        ) {
            self.consecutiveFailures = consecutiveFailures
            self.errorRate = errorRate
            self.minimumRequests = minimumRequests
            self.window = window
            self.cooldown = cooldown
        }
    }

    package enum State: Sendable, Hashable {
        case closed
        case open(until: ContinuousClock.Instant)
        case halfOpen(probeInFlight: Bool)

        /// 0 closed, 1 half-open, 2 open: the value of the `breaker_state` gauge.
        package var gaugeValue: Int {
            switch self {
            case .closed: return 0
            case .halfOpen: return 1
            case .open: return 2
            }
        }

        package var name: String {
            switch self {
            case .closed: return "closed"
            case .halfOpen: return "half_open"
            case .open: return "open"
            }
        }
    }

    package enum Permission: Sendable, Hashable {
        case allowed
        /// The one call let through while half-open.
        case probe
        case rejected(until: ContinuousClock.Instant?)
    }

    package let policy: Policy
    package private(set) var state: State = .closed
    package private(set) var consecutiveFailures = 0
    /// Outcomes inside the window, oldest first, from `head` on; the entries before `head` have
    /// left the window and are dropped in bulk (see `trim`), so recording one is amortised O(1)
    /// instead of shifting the whole array on every call.
    private var outcomes: [(at: ContinuousClock.Instant, success: Bool)] = []
    private var head = 0

    /// The outcomes still inside the window.
    private var live: ArraySlice<(at: ContinuousClock.Instant, success: Bool)> { outcomes[head...] }

    package init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// Asks to make a call now. A `.probe` must be followed by `record` or `abandonProbe`.
    package mutating func acquire(now: ContinuousClock.Instant) -> Permission {
        switch state {
        case .closed:
            return .allowed
        case .open(let until):
            guard now >= until else { return .rejected(until: until) }
            state = .halfOpen(probeInFlight: true)
            return .probe
        case .halfOpen(let probeInFlight):
            guard !probeInFlight else { return .rejected(until: nil) }
            state = .halfOpen(probeInFlight: true)
            return .probe
        }
    }

    /// Whether a call would be let through now, without taking the probe.
    package func wouldAllow(now: ContinuousClock.Instant) -> Bool {
        switch state {
        case .closed: return true
        case .open(let until): return now >= until
        case .halfOpen(let probeInFlight): return !probeInFlight
        }
    }

    /// Records a call's outcome; returns the new state when it changed.
    @discardableResult
    package mutating func record(success: Bool, now: ContinuousClock.Instant) -> State? {
        let before = state
        trim(now: now)
        outcomes.append((now, success))
        switch state {
        case .closed:
            if success {
                consecutiveFailures = 0
            } else {
                consecutiveFailures += 1
                if consecutiveFailures >= policy.consecutiveFailures || errorRateExceeded() {
                    open(now: now)
                }
            }
        case .halfOpen:
            if success {
                state = .closed
                consecutiveFailures = 0
                outcomes.removeAll()
                head = 0
            } else {
                open(now: now)
            }
        case .open:
            // A call admitted before the breaker opened finished late; it changes nothing.
            break
        }
        return state == before ? nil : state
    }

    /// The probe's call ended without an outcome (the client left): let another probe through.
    package mutating func abandonProbe() {
        if case .halfOpen = state { state = .halfOpen(probeInFlight: false) }
    }

    /// Calls and failures inside the window.
    package func windowCounts(now: ContinuousClock.Instant) -> (requests: Int, failures: Int) {
        let start = now - policy.window
        var requests = 0
        var failures = 0
        for outcome in live where outcome.at >= start {
            requests += 1
            if !outcome.success { failures += 1 }
        }
        return (requests, failures)
    }

    private mutating func open(now: ContinuousClock.Instant) {
        state = .open(until: now + policy.cooldown)
        consecutiveFailures = 0
        outcomes.removeAll()
        head = 0
    }

    private func errorRateExceeded() -> Bool {
        let count = outcomes.count - head
        guard count >= policy.minimumRequests else { return false }
        let failures = live.reduce(0) { $0 + ($1.success ? 0 : 1) }
        return Double(failures) / Double(count) >= policy.errorRate
    }

    private mutating func trim(now: ContinuousClock.Instant) {
        let start = now - policy.window
        if let firstInside = live.firstIndex(where: { $0.at >= start }) {
            head = firstInside
        } else {
            outcomes.removeAll(keepingCapacity: true)
            head = 0
        }
        // Bound memory under very high rates: the error rate needs proportions, not every call.
        if outcomes.count - head > Self.maxOutcomes { head = outcomes.count - Self.maxOutcomes }
        // Drop the dead prefix once it is at least half the array: one shift per ~4,096 calls.
        if head > 0, head >= outcomes.count / 2 {
            outcomes.removeFirst(head)
            head = 0
        }
    }

    /// Most outcomes kept for the error rate.
    static let maxOutcomes = 4096
}
