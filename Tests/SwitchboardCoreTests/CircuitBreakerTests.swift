import SwitchboardCore
import Testing

@Suite struct CircuitBreakerTests {
    let start = ContinuousClock.now
    let policy = CircuitBreaker.Policy(consecutiveFailures: 3, errorRate: 0.5, minimumRequests: 6, window: .seconds(10), cooldown: .seconds(5))

    @Test func opensAfterConsecutiveFailures() {
        var breaker = CircuitBreaker(policy: policy)
        #expect(breaker.acquire(now: start) == .allowed)
        #expect(breaker.record(success: false, now: start) == nil)
        #expect(breaker.record(success: false, now: start + .seconds(1)) == nil)
        #expect(breaker.record(success: false, now: start + .seconds(2)) == .open(until: start + .seconds(7)))
        #expect(breaker.acquire(now: start + .seconds(3)) == .rejected(until: start + .seconds(7)))
        #expect(!breaker.wouldAllow(now: start + .seconds(6)))
    }

    @Test func successResetsTheConsecutiveCount() {
        var breaker = CircuitBreaker(policy: policy)
        breaker.record(success: false, now: start)
        breaker.record(success: false, now: start)
        breaker.record(success: true, now: start)
        breaker.record(success: false, now: start)
        breaker.record(success: false, now: start)
        #expect(breaker.state == .closed)
        #expect(breaker.consecutiveFailures == 2)
    }

    @Test func opensOnErrorRateOverTheWindow() {
        var breaker = CircuitBreaker(policy: policy)
        // Alternating outcomes never reach 3 in a row, but half of 6 calls failed.
        var transition: CircuitBreaker.State?
        for index in 0..<6 {
            transition = breaker.record(success: index % 2 == 0, now: start + .milliseconds(index * 100))
        }
        #expect(transition == .open(until: start + .milliseconds(500) + .seconds(5)))
    }

    @Test func oldOutcomesLeaveTheWindow() {
        var breaker = CircuitBreaker(policy: policy)
        for index in 0..<5 { breaker.record(success: index % 2 == 0, now: start) }
        // Eleven seconds later the old calls no longer count towards the rate.
        breaker.record(success: false, now: start + .seconds(11))
        #expect(breaker.state == .closed)
        #expect(breaker.windowCounts(now: start + .seconds(11)) == (1, 1))
    }

    @Test func keepsOnlyTheNewestOutcomesAcrossCompactions() {
        let wide = CircuitBreaker.Policy(consecutiveFailures: 1000, errorRate: 0.9, minimumRequests: 10, window: .seconds(60), cooldown: .seconds(5))
        var breaker = CircuitBreaker(policy: wide)
        // 10,000 calls a millisecond apart, all inside the window: each record keeps the newest
        // 4,096 and adds its own, so 4,097 count, the last 100 (failures) among them, whatever
        // the dead prefix's compactions did.
        for index in 0..<10_000 {
            breaker.record(success: index < 9_900, now: start + .milliseconds(index))
        }
        let now = start + .milliseconds(9_999)
        #expect(breaker.windowCounts(now: now) == (4097, 100))
        #expect(breaker.state == .closed)
        // A minute on, every one of them has left the window.
        breaker.record(success: true, now: now + .seconds(61))
        #expect(breaker.windowCounts(now: now + .seconds(61)) == (1, 0))
    }

    @Test func windowTrimKeepsOutcomesInsideIt() {
        var breaker = CircuitBreaker(policy: policy)
        for index in 0..<20 { breaker.record(success: true, now: start + .seconds(index)) }
        // Window 10 s: at t=19 the calls from t=9 on are inside.
        #expect(breaker.windowCounts(now: start + .seconds(19)) == (11, 0))
        breaker.record(success: true, now: start + .seconds(25))
        #expect(breaker.windowCounts(now: start + .seconds(25)) == (6, 0))
    }

    @Test func halfOpenLetsOneProbeThrough() {
        var breaker = CircuitBreaker(policy: policy)
        for _ in 0..<3 { breaker.record(success: false, now: start) }
        let later = start + .seconds(5)
        #expect(breaker.acquire(now: later) == .probe)
        #expect(breaker.state == .halfOpen(probeInFlight: true))
        #expect(breaker.acquire(now: later) == .rejected(until: nil))
        #expect(breaker.record(success: true, now: later) == .closed)
        #expect(breaker.acquire(now: later) == .allowed)
    }

    @Test func failedProbeOpensAgain() {
        var breaker = CircuitBreaker(policy: policy)
        for _ in 0..<3 { breaker.record(success: false, now: start) }
        let later = start + .seconds(6)
        #expect(breaker.acquire(now: later) == .probe)
        #expect(breaker.record(success: false, now: later) == .open(until: later + .seconds(5)))
    }

    @Test func abandonedProbeFreesTheSlot() {
        var breaker = CircuitBreaker(policy: policy)
        for _ in 0..<3 { breaker.record(success: false, now: start) }
        let later = start + .seconds(6)
        #expect(breaker.acquire(now: later) == .probe)
        breaker.abandonProbe()
        #expect(breaker.acquire(now: later) == .probe)
    }
}

@Suite struct RetryPolicyTests {
    struct Sequence: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { value }
    }

    @Test func backoffIsBoundedAndGrows() {
        let policy = RetryPolicy(retries: 5, baseDelay: .milliseconds(100), maxDelay: .seconds(1), maxRetryAfter: .seconds(10))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let first = policy.delay(beforeRetry: 1, retryAfter: nil, using: &generator)!
            let third = policy.delay(beforeRetry: 3, retryAfter: nil, using: &generator)!
            let tenth = policy.delay(beforeRetry: 10, retryAfter: nil, using: &generator)!
            #expect(first >= .zero && first <= .milliseconds(100))
            #expect(third <= .milliseconds(400))
            #expect(tenth <= .seconds(1))
        }
        // Full jitter: the top of the range is reachable.
        var high = Sequence(value: .max)
        #expect(policy.delay(beforeRetry: 3, retryAfter: nil, using: &high) == .milliseconds(400))
    }

    @Test func retryAfterIsHonouredUpToTheCap() {
        let policy = RetryPolicy(retries: 2, baseDelay: .milliseconds(10), maxDelay: .milliseconds(50), maxRetryAfter: .seconds(3))
        var generator = SystemRandomNumberGenerator()
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(2), using: &generator) == .seconds(2))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(4), using: &generator) == nil)
    }
}
