import Synchronization

/// Identifies one target: a provider and that provider's model id.
package struct TargetID: Hashable, Sendable, CustomStringConvertible {
    package var provider: String
    package var model: String

    package init(provider: String, model: String) {
        self.provider = provider
        self.model = model
    }

    package var description: String { "\(provider)/\(model)" }
}

/// What the gateway has observed of one target.
package struct TargetStats: Sendable {
    package var inFlight = 0
    /// Exponentially weighted moving average of successful call latency.
    package var latencyEWMAMilliseconds: Double?
    package var breaker: CircuitBreaker
    /// Set by a 429: the target is skipped until then.
    package var cooldownUntil: ContinuousClock.Instant?
    package var lastError: String?
    package var lastErrorAt: ContinuousClock.Instant?
    package var successes = 0
    package var failures = 0
    /// Recent calls (time, latency, success), a fixed-size ring: recording one is O(1).
    var samples = SampleRing(capacity: 2048)

    init(policy: CircuitBreaker.Policy) {
        self.breaker = CircuitBreaker(policy: policy)
    }

    /// The latency under which 95% of successful calls in the last `window` finished.
    package func latencyP95(now: ContinuousClock.Instant, window: Duration) -> Double? {
        let start = now - window
        let values = samples.filter { $0.at >= start && $0.success }.map(\.milliseconds).sorted()
        guard !values.isEmpty else { return nil }
        let rank = Int((Double(values.count) * 0.95).rounded(.up)) - 1
        return values[max(0, min(values.count - 1, rank))]
    }

    /// Share of failed calls in the last `window`, and how many calls that is of.
    package func errorRate(now: ContinuousClock.Instant, window: Duration) -> (rate: Double, requests: Int) {
        let start = now - window
        var requests = 0
        var failed = 0
        for sample in samples where sample.at >= start {
            requests += 1
            if !sample.success { failed += 1 }
        }
        return (requests == 0 ? 0 : Double(failed) / Double(requests), requests)
    }

    package func isCoolingDown(now: ContinuousClock.Instant) -> Bool {
        guard let cooldownUntil else { return false }
        return now < cooldownUntil
    }
}

/// The last `capacity` call outcomes of a target, overwriting the oldest.
package struct SampleRing: Sendable, Sequence {
    package struct Sample: Sendable {
        package var at: ContinuousClock.Instant
        package var milliseconds: Double
        package var success: Bool
    }

    private var storage: [Sample] = []
    private var next = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    mutating func append(_ sample: Sample) {
        if storage.count < capacity {
            storage.append(sample)
        } else {
            storage[next] = sample
        }
        next = (next + 1) % capacity
    }

    package var count: Int { storage.count }

    package func makeIterator() -> IndexingIterator<[Sample]> { storage.makeIterator() }
}

/// Health of every target, shared by all requests. Each target has its own lock, so requests to
/// different targets never contend; every operation is O(1) apart from the bounded sample trim.
package final class HealthBoard: Sendable {
    private final class Entry: Sendable {
        let stats: Mutex<TargetStats>
        init(policy: CircuitBreaker.Policy) { stats = Mutex(TargetStats(policy: policy)) }
    }

    /// Configured targets, fixed at start: looked up without any shared lock.
    private let known: [TargetID: Entry]
    /// Targets met at run time (`provider/model` addressing).
    private let entries = Mutex<[TargetID: Entry]>([:])
    private let policy: CircuitBreaker.Policy
    /// How long 429 cooldowns and Retry-After waits may be at most.
    package let maxCooldown: Duration

    /// Hides configured secrets in the last errors the board reports.
    private let scrubber: SecretScrubber

    package init(
        policy: CircuitBreaker.Policy = .init(), maxCooldown: Duration = .seconds(60), targets: [TargetID] = [],
        scrubber: SecretScrubber = .none
    ) {
        self.policy = policy
        self.maxCooldown = maxCooldown
        self.scrubber = scrubber
        self.known = Dictionary(targets.map { ($0, Entry(policy: policy)) }, uniquingKeysWith: { first, _ in first })
    }

    /// Past this many targets, new ones share one record per provider (model `other`): clients
    /// naming endless `provider/<anything>` models must not grow memory without bound.
    package static let maxTargets = 4096

    private func entry(_ id: TargetID) -> Entry {
        if let entry = known[id] { return entry }
        return entries.withLock { entries in
            if let entry = entries[id] { return entry }
            let key = entries.count < Self.maxTargets ? id : TargetID(provider: id.provider, model: "other")
            if let shared = entries[key] { return shared }
            let entry = Entry(policy: policy)
            entries[key] = entry
            return entry
        }
    }

    package func snapshot(_ id: TargetID) -> TargetStats {
        entry(id).stats.withLock { $0 }
    }

    package func allTargets() -> [TargetID] {
        Array(known.keys) + entries.withLock { Array($0.keys) }
    }

    package enum Admission: Sendable, Equatable {
        case admitted(probe: Bool)
        case breakerOpen(until: ContinuousClock.Instant?)
        case coolingDown(until: ContinuousClock.Instant)
        case saturated(limit: Int)
    }

    /// Takes an in-flight slot on the target if its breaker, cooldown and concurrency bound allow.
    package func admit(_ id: TargetID, maxConcurrent: Int?, now: ContinuousClock.Instant) -> Admission {
        entry(id).stats.withLock { stats in
            if let until = stats.cooldownUntil, now < until { return .coolingDown(until: until) }
            if let limit = maxConcurrent, stats.inFlight >= limit { return .saturated(limit: limit) }
            switch stats.breaker.acquire(now: now) {
            case .rejected(let until): return .breakerOpen(until: until)
            case .allowed:
                stats.inFlight += 1
                return .admitted(probe: false)
            case .probe:
                stats.inFlight += 1
                return .admitted(probe: true)
            }
        }
    }

    /// Whether the target would be tried now (for ordering; takes nothing).
    package func isAvailable(_ id: TargetID, now: ContinuousClock.Instant) -> Bool {
        entry(id).stats.withLock { !$0.isCoolingDown(now: now) && $0.breaker.wouldAllow(now: now) }
    }

    /// Ends a call: releases its slot and records the outcome. Returns the breaker's new state if it changed.
    @discardableResult
    package func finish(
        _ id: TargetID,
        success: Bool,
        latency: Duration,
        error: String? = nil,
        cooldown: Duration? = nil,
        now: ContinuousClock.Instant
    ) -> CircuitBreaker.State? {
        entry(id).stats.withLock { stats in
            stats.inFlight = max(0, stats.inFlight - 1)
            let milliseconds = Double(latency.components.seconds) * 1000 + Double(latency.components.attoseconds) / 1e15
            if success {
                stats.successes += 1
                stats.latencyEWMAMilliseconds = stats.latencyEWMAMilliseconds.map { 0.8 * $0 + 0.2 * milliseconds } ?? milliseconds
            } else {
                stats.failures += 1
                stats.lastError = error.map(scrubber.scrub)
                stats.lastErrorAt = now
            }
            if let cooldown {
                stats.cooldownUntil = now + min(cooldown, maxCooldown)
            }
            stats.samples.append(.init(at: now, milliseconds: milliseconds, success: success))
            return stats.breaker.record(success: success, now: now)
        }
    }

    /// Ends a call that has no verdict (the client went away): releases the slot only.
    package func abandon(_ id: TargetID, probe: Bool) {
        entry(id).stats.withLock { stats in
            stats.inFlight = max(0, stats.inFlight - 1)
            if probe { stats.breaker.abandonProbe() }
        }
    }
}
