/// The executor's decisions for one call, as a value with no I/O: which target to try next,
/// when to wait and retry, when to fall back to another model, and when to give up and with
/// what error. The driver (``Gateway``) does what ``next(now:)`` says and reports back what
/// happened; the clock and the random source come from outside, so retry, cooldown and
/// fallback timing are tested without a socket (`ExecutionPlanTests`).
///
/// The rules: a route's targets are tried in strategy order; a target the request cannot use
/// (unsupported fields) or the health board will not admit (breaker open, cooling down after a
/// 429, at its concurrency bound) is skipped with a typed reason; a retryable failure is retried
/// on the same target up to the route's `retries`, after a full-jitter backoff that honours
/// `Retry-After`; a failure specific to the target (credentials, unknown model) moves to the
/// next target; a client error stops the call, except a context-window error, which moves to
/// the route's context-window fallbacks; when every target failed, the route's fallbacks are
/// tried in order; nothing runs past the request's deadline.
package struct ExecutionPlan<Random: RandomNumberGenerator> {
    /// Why a target was passed over without an attempt.
    package enum SkipReason: Sendable, Equatable {
        /// The request has fields this target cannot honour (the 400 to give if none can).
        case unsupported(GatewayError)
        case breakerOpen
        case coolingDown(until: ContinuousClock.Instant)
        case saturated(limit: Int)

        /// Busy, not broken: a client should retry shortly.
        var isBusy: Bool {
            switch self {
            case .coolingDown, .saturated: return true
            case .unsupported, .breakerOpen: return false
            }
        }
    }

    package enum Action {
        /// Try `target` (after the board admits it), within `timeouts`.
        case attempt(RouteTarget, AttemptTimeouts)
        /// Wait, then ask again: a backoff before retrying `target`.
        case wait(Duration, retrying: RouteTarget)
        /// Moving on from the route `from` to its fallback `to` (for the metrics).
        case fallBack(from: String, to: String)
        /// Give up with this error.
        case fail(GatewayError)
    }

    /// What the driver reports after an ``Action/attempt(_:_:)``.
    package enum Outcome {
        /// The health board did not admit the target.
        case notAdmitted(HealthBoard.Admission)
        /// The attempt failed after `elapsed` of upstream time.
        case failed(UpstreamError, elapsed: Duration)
    }

    private let model: String
    private let requestTimeout: Duration
    private let deadline: ContinuousClock.Instant
    private let refusal: (RouteTarget) -> GatewayError?
    private let resolve: (String) -> Route?
    private let order: (Route, inout Random) -> [RouteTarget]
    private var random: Random

    private var routes: [Route]
    private var visited: Set<String>
    private var routeIndex = 0
    private var targets: [RouteTarget] = []
    private var targetIndex = 0
    /// Attempts made on the current target.
    private var tries = 0
    private var pendingFallback: (from: String, to: String)?
    /// A backoff to take before retrying the current target.
    private var pendingWait: Duration?
    private var contextWindowExceeded = false
    private var done = false
    /// A failure no other attempt can mend (a client error): the call ends with it.
    private var fatal: UpstreamError?

    /// Attempts made so far, all targets counted.
    package private(set) var attempts = 0
    /// Time spent waiting on upstreams, all attempts counted.
    package private(set) var upstreamTime = Duration.zero
    package private(set) var failures: [UpstreamError] = []
    package private(set) var skipped: [(target: TargetID, reason: SkipReason)] = []

    /// - Parameters:
    ///   - primary: the route of the model asked for.
    ///   - requestTimeout: the most the call may take, every attempt and wait included.
    ///   - now: when the call started.
    ///   - refusal: why a target cannot take the request at all, if it cannot.
    ///   - resolve: a fallback model's route.
    ///   - order: a route's targets in the order its strategy tries them.
    package init(
        primary: Route,
        requestTimeout: Duration,
        now: ContinuousClock.Instant,
        random: Random,
        refusal: @escaping (RouteTarget) -> GatewayError? = { _ in nil },
        resolve: @escaping (String) -> Route?,
        order: @escaping (Route, inout Random) -> [RouteTarget] = { route, _ in route.targets }
    ) {
        self.model = primary.name
        self.requestTimeout = requestTimeout
        self.deadline = now + requestTimeout
        self.refusal = refusal
        self.resolve = resolve
        self.order = order
        self.random = random
        self.routes = [primary]
        self.visited = [primary.name]
        self.targets = order(primary, &self.random)
    }

    private var route: Route { routes[routeIndex] }

    /// The time left before the request's deadline.
    package func remaining(now: ContinuousClock.Instant) -> Duration { deadline - now }

    /// What to do now.
    package mutating func next(now: ContinuousClock.Instant) -> Action {
        guard !done else { return .fail(summary(now: now)) }
        if let wait = pendingWait {
            pendingWait = nil
            return .wait(wait, retrying: targets[targetIndex])
        }
        if let fallback = pendingFallback {
            pendingFallback = nil
            return .fallBack(from: fallback.from, to: fallback.to)
        }
        while true {
            guard targetIndex < targets.count else {
                guard advanceRoute() else {
                    done = true
                    return .fail(summary(now: now))
                }
                if let fallback = pendingFallback {
                    pendingFallback = nil
                    return .fallBack(from: fallback.from, to: fallback.to)
                }
                continue
            }
            let target = targets[targetIndex]
            if tries == 0, let refused = refusal(target) {
                skipped.append((target.id, .unsupported(refused)))
                moveToNextTarget()
                continue
            }
            let remaining = deadline - now
            guard remaining > .zero else {
                failures.append(UpstreamError(
                    .timeout, provider: target.provider.name,
                    detail: "the request used up its \(requestTimeout) before `\(target.id)` could be tried"
                ))
                done = true
                return .fail(summary(now: now))
            }
            var timeouts = route.timeouts
            // Each attempt gets its own timeout, but never more than the request has left.
            timeouts.total = min(timeouts.total, remaining)
            return .attempt(target, timeouts)
        }
    }

    /// The target of the last ``Action/attempt(_:_:)`` was admitted and the attempt made.
    package mutating func attempted() {
        attempts += 1
        tries += 1
    }

    /// The attempt succeeded after `elapsed`: what served the call.
    package mutating func succeeded(elapsed: Duration) -> (target: RouteTarget, attempts: Int, upstreamTime: Duration) {
        upstreamTime += elapsed
        done = true
        return (targets[targetIndex], attempts, upstreamTime)
    }

    /// Reports what became of the last ``Action/attempt(_:_:)``.
    package mutating func record(_ outcome: Outcome, now: ContinuousClock.Instant) {
        let target = targets[targetIndex]
        switch outcome {
        case .notAdmitted(let admission):
            switch admission {
            case .admitted: return
            case .breakerOpen: skipped.append((target.id, .breakerOpen))
            case .coolingDown(let until): skipped.append((target.id, .coolingDown(until: until)))
            case .saturated(let limit): skipped.append((target.id, .saturated(limit: limit)))
            }
            moveToNextTarget()
        case .failed(let error, let elapsed):
            upstreamTime += elapsed
            failures.append(error)
            if error.isContextWindowExceeded, !route.contextWindowFallbacks.isEmpty {
                contextWindowExceeded = true
                targetIndex = targets.count
                tries = 0
                return
            }
            if error.isTargetSpecific {
                moveToNextTarget()
                return
            }
            guard error.isRetryable else {
                fatal = error
                done = true
                return
            }
            let retry = tries
            guard retry <= route.retry.retries,
                let delay = route.retry.delay(beforeRetry: retry, retryAfter: Self.retryAfter(error), using: &random),
                now + delay < deadline
            else {
                moveToNextTarget()
                return
            }
            pendingWait = delay
        }
    }

    /// After a non-retryable failure the call ends with that failure's error.
    package var isFinished: Bool { done }

    /// A 429 without `Retry-After` is waited for a second before a retry.
    static func retryAfter(_ error: UpstreamError) -> Duration? {
        error.retryAfterSeconds.map { Duration.seconds($0) } ?? (error.kind == .status(429) ? .seconds(1) : nil)
    }

    /// How long a target that answered `error` cools down (429s only).
    package static func cooldown(after error: UpstreamError) -> Duration? {
        error.kind == .status(429) ? retryAfter(error) : nil
    }

    private mutating func moveToNextTarget() {
        targetIndex += 1
        tries = 0
    }

    /// Moves to the next route with targets: the fallbacks of every route tried so far, in order.
    private mutating func advanceRoute() -> Bool {
        let next = contextWindowExceeded ? route.contextWindowFallbacks : route.fallbacks
        contextWindowExceeded = false
        for fallback in next where visited.insert(fallback).inserted {
            if let resolved = resolve(fallback) { routes.append(resolved) }
        }
        guard routeIndex + 1 < routes.count else { return false }
        routeIndex += 1
        targets = order(route, &random)
        targetIndex = 0
        tries = 0
        pendingFallback = (routes[0].name, route.name)
        return true
    }

    /// One error for a call that was not served: a client error as it is; otherwise the last
    /// failure's kind with every attempt and skip named; only skips that are all "busy" make a 429.
    package func summary(now: ContinuousClock.Instant) -> GatewayError {
        if let fatal { return fatal.gatewayError }
        let skips = skipped.map { "\($0.target): \(Self.describe($0.reason))" }
        guard let last = failures.last else {
            let refusals = skipped.compactMap { entry -> GatewayError? in
                if case .unsupported(let error) = entry.reason { return error }
                return nil
            }
            // Only refusals: no target accepts these fields, so it is the request that must change.
            if let refusal = refusals.first, refusals.count == skipped.count {
                return refusal
            }
            if !skipped.isEmpty, skipped.allSatisfy({ $0.reason.isBusy }) {
                let until = skipped.compactMap { entry -> ContinuousClock.Instant? in
                    if case .coolingDown(let until) = entry.reason { return until }
                    return nil
                }.max()
                let wait = until.map { until -> Int in
                    let remaining = until - now
                    return max(1, Int(remaining.components.seconds) + (remaining.components.attoseconds > 0 ? 1 : 0))
                } ?? 1
                return GatewayError(
                    .rateLimitExceeded,
                    "Every target of `\(model)` is busy (\(skips.joined(separator: "; "))); retry in \(wait) s.",
                    retryAfterSeconds: wait
                )
            }
            if !skipped.isEmpty {
                return GatewayError(.upstreamError, "No healthy target for `\(model)`: \(skips.joined(separator: "; ")).", retryAfterSeconds: 1)
            }
            return GatewayError(.upstreamError, "No provider is configured to serve `\(model)`.")
        }
        var error = last.gatewayError
        let attempts = failures.map { "\($0.provider): \($0.gatewayError.message)" } + skips
        if attempts.count > 1 {
            error.message = "All \(attempts.count) attempts for `\(model)` failed. " + attempts.joined(separator: " | ")
        }
        return error
    }

    static func describe(_ reason: SkipReason) -> String {
        switch reason {
        case .unsupported(let error): return "does not support \(error.param.map { "`\($0)`" } ?? "the request")"
        case .breakerOpen: return "circuit open"
        case .coolingDown: return "cooling down after a 429"
        case .saturated(let limit): return "at its limit of \(limit) concurrent calls"
        }
    }
}
