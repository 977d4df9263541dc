import CoreMetrics
import Logging
import SwitchboardCore
import Synchronization
import Testing

/// The executor's decisions, driven by hand: no sockets, no sleeping, the clock moved by the test.
@Suite struct ExecutionPlanTests {
    struct StubAdapter: ProviderAdapter {
        let name: String
        let type = ProviderType("stub")
        let knownModels: [String] = []

        func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse { throw CancellationError() }
        func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream { throw CancellationError() }
        func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse { throw CancellationError() }
    }

    static func target(_ provider: String, _ model: String = "m") -> RouteTarget {
        RouteTarget(provider: StubAdapter(name: provider), model: model)
    }

    static func route(
        _ name: String, _ targets: [RouteTarget], retries: Int = 0, fallbacks: [String] = [], contextWindowFallbacks: [String] = [],
        timeout: Duration = .seconds(30)
    ) -> Route {
        var retry = RetryPolicy(retries: retries, maxRetryAfter: .seconds(10))
        retry.baseDelay = .milliseconds(100)
        return Route(
            name: name, targets: targets, fallbacks: fallbacks, contextWindowFallbacks: contextWindowFallbacks,
            timeouts: AttemptTimeouts(total: timeout), retry: retry
        )
    }

    /// A generator that always draws the top of the range: full jitter waits its whole ceiling.
    static let maximal = RandomSource { UInt64.max }

    static func plan(_ primary: Route, others: [Route] = [], requestTimeout: Duration = .seconds(600), now: ContinuousClock.Instant) -> ExecutionPlan<RandomSource> {
        let routes = Dictionary(uniqueKeysWithValues: others.map { ($0.name, $0) })
        return ExecutionPlan(primary: primary, requestTimeout: requestTimeout, now: now, random: maximal, resolve: { routes[$0] })
    }

    static func error(_ status: Int, retryAfter: Int? = nil, code: String? = nil) -> UpstreamError {
        UpstreamError(.status(status), provider: "p", detail: "HTTP \(status)", errorCode: code, retryAfterSeconds: retryAfter)
    }

    /// Runs the plan to its end, every attempt failing with the next of `failures` (the last repeats),
    /// and returns the actions taken in a readable form.
    static func run(
        _ plan: inout ExecutionPlan<RandomSource>, now start: ContinuousClock.Instant, failures: [UpstreamError],
        admission: (RouteTarget) -> HealthBoard.Admission = { _ in .admitted(probe: false) }
    ) -> (steps: [String], error: GatewayError?) {
        var now = start
        var steps: [String] = []
        var failureIndex = 0
        for _ in 0..<100 {
            switch plan.next(now: now) {
            case .attempt(let target, let timeouts):
                let admitted = admission(target)
                guard case .admitted = admitted else {
                    steps.append("skip \(target.id)")
                    plan.record(.notAdmitted(admitted), now: now)
                    continue
                }
                plan.attempted()
                steps.append("try \(target.id) within \(timeouts.total)")
                now += .milliseconds(10)
                plan.record(.failed(failures[min(failureIndex, failures.count - 1)], elapsed: .milliseconds(10)), now: now)
                failureIndex += 1
            case .wait(let delay, let target):
                steps.append("wait \(delay) for \(target.id)")
                now += delay
            case .fallBack(let from, let to):
                steps.append("fall back \(from) → \(to)")
            case .fail(let error):
                return (steps, error)
            }
        }
        Issue.record("the plan did not end")
        return (steps, nil)
    }

    @Test func retriesOnTheSameTargetWithBackoffThenMovesOn() {
        let now = ContinuousClock.now
        var plan = Self.plan(Self.route("fast", [Self.target("a"), Self.target("b")], retries: 2), now: now)
        let (steps, error) = Self.run(&plan, now: now, failures: [Self.error(503)])
        #expect(steps == [
            "try a/m within 30.0 seconds", "wait 0.1 seconds for a/m", "try a/m within 30.0 seconds", "wait 0.2 seconds for a/m",
            "try a/m within 30.0 seconds", "try b/m within 30.0 seconds", "wait 0.1 seconds for b/m", "try b/m within 30.0 seconds",
            "wait 0.2 seconds for b/m", "try b/m within 30.0 seconds",
        ])
        #expect(plan.attempts == 6)
        #expect(error?.code == .upstreamError)
        #expect(error?.message.contains("All 6 attempts for `fast` failed") == true)
        #expect(plan.upstreamTime == .milliseconds(60))
    }

    @Test func aRetryWaitsForRetryAfterButNotWhenItIsTooLong() {
        let now = ContinuousClock.now
        var plan = Self.plan(Self.route("r", [Self.target("a"), Self.target("b")], retries: 1), now: now)
        let (steps, error) = Self.run(&plan, now: now, failures: [Self.error(429, retryAfter: 3), Self.error(429, retryAfter: 60)])
        // 3 s is honoured (it beats the 100 ms backoff); 60 s is beyond max_retry_after: next target, no wait.
        #expect(steps == [
            "try a/m within 30.0 seconds", "wait 3.0 seconds for a/m", "try a/m within 30.0 seconds", "try b/m within 30.0 seconds",
        ])
        #expect(error?.code == .rateLimitExceeded)
        // A 429 cools the target down for its Retry-After (or a second without one).
        #expect(ExecutionPlan<RandomSource>.cooldown(after: Self.error(429, retryAfter: 7)) == .seconds(7))
        #expect(ExecutionPlan<RandomSource>.cooldown(after: Self.error(429)) == .seconds(1))
        #expect(ExecutionPlan<RandomSource>.cooldown(after: Self.error(503)) == nil)
    }

    @Test func skipsTargetsTheBoardRefusesWithTypedReasons() {
        let now = ContinuousClock.now
        let until = now + .seconds(5)
        var plan = Self.plan(Self.route("busy", [Self.target("a"), Self.target("b")]), now: now)
        let (steps, error) = Self.run(&plan, now: now, failures: [Self.error(503)]) { target in
            target.id.provider == "a" ? .coolingDown(until: until) : .saturated(limit: 4)
        }
        #expect(steps == ["skip a/m", "skip b/m"])
        #expect(plan.skipped.map(\.reason) == [.coolingDown(until: until), .saturated(limit: 4)])
        // Only busy targets: a 429 that says when the cooldown ends.
        #expect(error?.code == .rateLimitExceeded)
        #expect(error?.retryAfterSeconds == 5)
        #expect(error?.message.contains("cooling down after a 429") == true)

        var broken = Self.plan(Self.route("broken", [Self.target("a")]), now: now)
        let (_, brokenError) = Self.run(&broken, now: now, failures: [Self.error(503)]) { _ in .breakerOpen(until: nil) }
        #expect(brokenError?.code == .upstreamError)
        #expect(brokenError?.message.contains("No healthy target for `broken`: a/m: circuit open") == true)
    }

    @Test func fallsBackToTheRoutesFallbacksInOrder() {
        let now = ContinuousClock.now
        let primary = Self.route("primary", [Self.target("a")], fallbacks: ["second", "third"])
        let second = Self.route("second", [Self.target("b")], fallbacks: ["primary"])
        let third = Self.route("third", [Self.target("c")])
        var plan = Self.plan(primary, others: [second, third], now: now)
        let (steps, _) = Self.run(&plan, now: now, failures: [Self.error(500)])
        #expect(steps == [
            "try a/m within 30.0 seconds", "fall back primary → second", "try b/m within 30.0 seconds",
            "fall back primary → third", "try c/m within 30.0 seconds",
        ])
    }

    @Test func aContextWindowErrorGoesToTheContextWindowFallbacks() {
        let now = ContinuousClock.now
        let primary = Self.route("small", [Self.target("a"), Self.target("b")], fallbacks: ["other"], contextWindowFallbacks: ["large"])
        let large = Self.route("large", [Self.target("big")])
        var plan = Self.plan(primary, others: [large, Self.route("other", [Self.target("o")])], now: now)
        let (steps, _) = Self.run(&plan, now: now, failures: [Self.error(400, code: "context_length_exceeded"), Self.error(500)])
        #expect(steps == ["try a/m within 30.0 seconds", "fall back small → large", "try big/m within 30.0 seconds"])
    }

    @Test func clientErrorsStopAndTargetErrorsMoveOn() {
        let now = ContinuousClock.now
        var stop = Self.plan(Self.route("x", [Self.target("a"), Self.target("b")], retries: 3), now: now)
        let (stopSteps, stopError) = Self.run(&stop, now: now, failures: [Self.error(400)])
        #expect(stopSteps == ["try a/m within 30.0 seconds"])
        #expect(stopError?.code == .validationError)

        var move = Self.plan(Self.route("y", [Self.target("a"), Self.target("b")], retries: 3), now: now)
        let (moveSteps, moveError) = Self.run(&move, now: now, failures: [Self.error(401), Self.error(404)])
        #expect(moveSteps == ["try a/m within 30.0 seconds", "try b/m within 30.0 seconds"])
        #expect(moveError?.code == .modelNotFound)
    }

    @Test func nothingRunsPastTheRequestDeadline() {
        let now = ContinuousClock.now
        var plan = Self.plan(
            Self.route("slow", [Self.target("a"), Self.target("b")], retries: 5, timeout: .seconds(30)), requestTimeout: .seconds(20), now: now
        )
        // Each attempt's timeout is what the request has left.
        guard case .attempt(_, let first) = plan.next(now: now) else {
            Issue.record("expected an attempt")
            return
        }
        #expect(first.total == .seconds(20))
        plan.attempted()
        // The first attempt timed out after 19.95 s: a 100 ms backoff would end past the deadline.
        plan.record(.failed(UpstreamError(.timeout, provider: "a", detail: "no response"), elapsed: .milliseconds(19_950)), now: now + .milliseconds(19_950))
        guard case .attempt(let next, let second) = plan.next(now: now + .milliseconds(19_950)) else {
            Issue.record("expected the next target")
            return
        }
        #expect(next.id.provider == "b" && second.total == .milliseconds(50))
        plan.attempted()
        plan.record(.failed(UpstreamError(.timeout, provider: "b", detail: "no response"), elapsed: .milliseconds(50)), now: now + .seconds(20))
        guard case .fail(let error) = plan.next(now: now + .seconds(20)) else {
            Issue.record("expected the end")
            return
        }
        #expect(error.code == .upstreamTimeout)
    }

    @Test func targetsThatCannotTakeTheRequestAreSkippedAndOnlyThenA400() {
        let now = ContinuousClock.now
        let refusal = GatewayError.validation("Provider `a` does not support `n`.", param: "n")
        var plan = ExecutionPlan(
            primary: Self.route("r", [Self.target("a"), Self.target("b")]), requestTimeout: .seconds(60), now: now, random: Self.maximal,
            refusal: { _ in refusal }, resolve: { _ in nil }
        )
        let (steps, error) = Self.run(&plan, now: now, failures: [Self.error(500)])
        #expect(steps.isEmpty)
        #expect(error == refusal)
    }

    @Test func theServedByCountsEveryAttempt() {
        let now = ContinuousClock.now
        var plan = Self.plan(Self.route("r", [Self.target("a"), Self.target("b")]), now: now)
        _ = plan.next(now: now)
        plan.attempted()
        plan.record(.failed(Self.error(500), elapsed: .milliseconds(40)), now: now)
        guard case .attempt(let target, _) = plan.next(now: now) else {
            Issue.record("expected an attempt")
            return
        }
        plan.attempted()
        let served = plan.succeeded(elapsed: .milliseconds(25))
        #expect(target.id.provider == "b" && served.target.id == target.id)
        #expect(served.attempts == 2 && served.upstreamTime == .milliseconds(65))
    }
}

/// The executor with its clock and random source injected: a retry schedule checked without waiting.
@Suite struct InjectedClockTests {
    /// Moves time forward by exactly what is slept, instantly, and remembers each sleep.
    final class ManualClock: GatewayClock {
        private let state: Mutex<(now: ContinuousClock.Instant, sleeps: [Duration])>

        init() { state = Mutex((.now, [])) }
        var now: ContinuousClock.Instant { state.withLock { $0.now } }
        var sleeps: [Duration] { state.withLock { $0.sleeps } }

        func sleep(for duration: Duration) async throws {
            state.withLock { state in
                state.now += duration
                state.sleeps.append(duration)
            }
        }
    }

    /// Fails with 503 until its fourth call.
    final class FlakyAdapter: ProviderAdapter {
        let name = "flaky"
        let type = ProviderType("stub")
        let knownModels = ["m"]
        let calls = Mutex(0)

        func chat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatResponse {
            let count = calls.withLock { calls -> Int in
                calls += 1
                return calls
            }
            guard count >= 4 else { throw UpstreamError(.status(503), provider: name, detail: "HTTP 503") }
            return ChatResponse(id: "ok", created: 0, model: "m", choices: [], usage: Usage(promptTokens: 1, completionTokens: 1))
        }

        func streamChat(_ request: ChatRequest, call: UpstreamCall) async throws -> ChatStream { throw CancellationError() }
        func embeddings(_ request: EmbeddingsRequest, call: UpstreamCall) async throws -> EmbeddingsResponse { throw CancellationError() }
    }

    @Test func retriesSleepTheBackoffOnTheInjectedClock() async throws {
        var config = GatewayConfig()
        config.models = [ModelConfig(name: "wobbly", targets: [.init(provider: "flaky", model: "m")], retries: 3, backoffMilliseconds: 200)]
        let clock = ManualClock()
        let gateway = Gateway(
            catalog: ModelCatalog(providers: [FlakyAdapter()], config: config), metrics: GatewayMetrics(factory: NOOPMetricsHandler.instance),
            clock: clock, random: RandomSource { UInt64.max }
        )
        let result = try await gateway.chat(
            ChatRequest(model: "wobbly", messages: [ChatMessage(role: .user, content: .text("hi"))]), requestID: "r", logger: Logger(label: "t")
        )
        #expect(result.servedBy.attempts == 4)
        // Full jitter at its ceiling: 200 ms, 400 ms, 800 ms.
        #expect(clock.sleeps == [.milliseconds(200), .milliseconds(400), .milliseconds(800)])
    }
}
