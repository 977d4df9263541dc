package import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which target finally served a call, and what it took.
package struct ServedBy: Sendable, Hashable {
    package var provider: String
    package var model: String
    /// Time spent waiting on upstreams, all attempts included.
    package var upstreamDuration: Duration
    package var attempts: Int
    /// Request fields the serving provider could not honour and that were dropped.
    package var droppedParameters: [String]

    package init(provider: String, model: String, upstreamDuration: Duration, attempts: Int, droppedParameters: [String] = []) {
        self.provider = provider
        self.model = model
        self.upstreamDuration = upstreamDuration
        self.attempts = attempts
        self.droppedParameters = droppedParameters
    }
}

package struct ChatResult: Sendable {
    package var response: ChatResponse
    package var servedBy: ServedBy
    /// Usage as counted (the provider's, or an estimate when it reported none).
    package var usage: Usage
    package var usageEstimated: Bool
}

package struct EmbeddingsResult: Sendable {
    package var response: EmbeddingsResponse
    package var servedBy: ServedBy
}

package struct StreamResult: Sendable {
    package var stream: ChatStream
    package var servedBy: ServedBy
}

/// The executor: resolves the model and calls a target, moving on when one fails (retries,
/// next target, fallbacks), within the request's deadline and the gateway's concurrency bound.
///
/// The ``CallPipeline`` runs it between its before- and after-stages; it knows nothing of
/// HTTP servers, accounting or the ledger.
package struct Gateway: Sendable {
    package let catalog: ModelCatalog
    package let metrics: GatewayMetrics
    package let board: any TargetHealth
    package let limiter: ConcurrencyLimiter
    /// The most one request may take across all its attempts, retries and fallbacks.
    package let requestTimeout: Duration
    /// Hides configured secrets in every error message and log line derived from an upstream.
    package let scrubber: SecretScrubber
    /// Time and waiting (the executor's retries and deadlines), injectable for tests.
    package let clock: any GatewayClock
    /// Weighted routing and retry jitter draw from this.
    package let random: RandomSource
    private let selector = TargetSelector()

    package init(
        catalog: ModelCatalog,
        metrics: GatewayMetrics,
        board: any TargetHealth = HealthBoard(),
        limiter: ConcurrencyLimiter = ConcurrencyLimiter(limit: nil),
        requestTimeout: Duration = .seconds(600),
        scrubber: SecretScrubber = .none,
        clock: any GatewayClock = SystemClock(),
        random: RandomSource = .system
    ) {
        self.scrubber = scrubber
        self.clock = clock
        self.random = random
        self.requestTimeout = requestTimeout
        self.catalog = catalog
        self.metrics = metrics
        self.board = board
        self.limiter = limiter
    }

    package func chat(_ request: ChatRequest, requestID: String, logger: Logger) async throws(GatewayError) -> ChatResult {
        var request = request
        request.stream = false
        request.streamOptions = nil
        let slot = try acquireSlot()
        defer { slot.release() }
        let (response, servedBy) = try await execute(
            request.model, requestID: requestID, logger: logger, refuse: { Attempt.refusal(request, for: $0) }
        ) { target, call, attempt in
            let upstream = try attempt.prepare(request, for: target)
            return try await target.provider.chat(upstream, call: call)
        }
        if let usage = response.usage {
            return ChatResult(response: response, servedBy: servedBy, usage: usage, usageEstimated: false)
        }
        let estimate = Usage(
            promptTokens: TokenEstimator.estimatePrompt(request.messages),
            completionTokens: response.choices.reduce(0) { $0 + TokenEstimator.estimate($1.message.content?.text ?? "") }
        )
        return ChatResult(response: response, servedBy: servedBy, usage: estimate, usageEstimated: true)
    }

    /// Opens a stream on the first target whose first chunk arrives in time; the upstream is always asked for usage.
    ///
    /// The first chunk is read before this returns, so a target that fails before producing
    /// anything is replaced invisibly; after that the stream is the client's and is never retried.
    package func streamChat(_ request: ChatRequest, requestID: String, logger: Logger) async throws(GatewayError) -> StreamResult {
        var request = request
        request.stream = true
        var options = request.streamOptions ?? StreamOptions(includeUsage: true)
        options.includeUsage = true
        request.streamOptions = options
        let slot = try acquireSlot()
        let (stream, servedBy) = try await execute(
            request.model, requestID: requestID, logger: logger, refuse: { Attempt.refusal(request, for: $0) }
        ) { target, call, attempt in
            let upstream = try attempt.prepare(request, for: target)
            let started = ContinuousClock.now
            let deadline = started + attempt.timeouts.total
            let opened = try await target.provider.streamChat(upstream, call: call)
            let box = SourceBox(opened.makeAsyncIterator())
            let firstLimit = min(attempt.timeouts.firstByte ?? attempt.timeouts.total, deadline - .now)
            guard let first = try await box.next(within: firstLimit, provider: target.provider.name, what: "first chunk") else {
                throw UpstreamError(.streamInterrupted, provider: target.provider.name, detail: "the stream ended before its first chunk")
            }
            let lease = attempt.takeLease()
            let firstByteLatency = ContinuousClock.now - started
            let idle = attempt.timeouts.idle
            let provider = target.provider.name
            // One upstream body, so one reader: a second iterator gets an error, not a race.
            let taken = LockedValue(false)
            return ChatStream {
                let isFirst = taken.withLock { taken in
                    defer { taken = true }
                    return !taken
                }
                guard isFirst else { return ConsumedChunkSource(provider: provider) }
                return GuardedChunkSource(
                    box: box, first: first, lease: lease, slot: slot, idle: idle, deadline: deadline,
                    provider: provider, firstByteLatency: firstByteLatency
                )
            }
        }
        return StreamResult(stream: stream, servedBy: servedBy)
    }

    package func embeddings(_ request: EmbeddingsRequest, requestID: String, logger: Logger) async throws(GatewayError) -> EmbeddingsResult {
        let slot = try acquireSlot()
        defer { slot.release() }
        let (response, servedBy) = try await execute(request.model, requestID: requestID, logger: logger) {
            target, call, _ in
            var upstream = request
            upstream.model = target.model
            return try await target.provider.embeddings(upstream, call: call)
        }
        return EmbeddingsResult(response: response, servedBy: servedBy)
    }

    /// A prompt's token count from the route's first target: the provider's own count when it
    /// can count (``TokenCounting``), else the gateway's estimate.
    package func countTokens(
        _ request: ChatRequest, requestID: String, logger: Logger
    ) async throws(GatewayError) -> (tokens: Int, estimated: Bool, servedBy: ServedBy) {
        let route = try catalog.resolve(request.model)
        guard let target = route.targets.first else {
            throw GatewayError(.upstreamError, "No provider is configured to serve `\(request.model)`.")
        }
        guard let counter = target.provider as? any TokenCounting else {
            var estimate = TokenEstimator.estimatePrompt(request.messages)
            for tool in request.tools ?? [] {
                estimate += TokenEstimator.estimate(tool.function.name)
                    + TokenEstimator.estimate(String(decoding: (try? JSONCoding.encode(tool.function.parameters ?? [:])) ?? Data(), as: UTF8.self))
            }
            let servedBy = ServedBy(provider: target.provider.name, model: target.model, upstreamDuration: .zero, attempts: 0)
            return (estimate, true, servedBy)
        }
        var upstream = request
        upstream.model = target.model
        let started = ContinuousClock.now
        do {
            let count = try await counter.countTokens(upstream, call: UpstreamCall(requestID: requestID, timeout: route.timeout, logger: logger))
            let servedBy = ServedBy(provider: target.provider.name, model: target.model, upstreamDuration: .now - started, attempts: 1)
            return (count, false, servedBy)
        } catch let error as UpstreamError {
            var failure = scrubber.scrub(error.gatewayError)
            failure.provider = target.provider.name
            throw failure
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError(.upstreamError, "Provider `\(target.provider.name)` could not count the tokens.", provider: target.provider.name)
        }
    }

    /// What a served call cost at the price table's rates for the model that served it.
    package func cost(of servedBy: ServedBy, usage: Usage) -> Double? {
        catalog.prices.cost(model: servedBy.model, usage: usage)
    }

    private func acquireSlot() throws(GatewayError) -> SlotRelease {
        guard limiter.tryAcquire() else {
            metrics.overloaded(scope: "global")
            throw GatewayError(
                .rateLimitExceeded,
                "The gateway is at its limit of \(limiter.limit ?? 0) concurrent upstream calls; retry shortly.",
                retryAfterSeconds: 1
            )
        }
        return SlotRelease(limiter)
    }

    /// What one attempt's closure gets besides the target and call.
    final class Attempt: Sendable {
        let timeouts: AttemptTimeouts
        private let lease: CallLease
        private let transferred = LockedValue(false)
        private let dropped = LockedValue<[String]>([])

        /// Why this target cannot take the request at all: fields it cannot honour, unless its
        /// provider drops them. Such a target is skipped; the 400 comes only when no target can.
        static func refusal(_ request: ChatRequest, for target: RouteTarget) -> GatewayError? {
            if let refusal = builtInToolRefusal(request, for: target) { return refusal }
            guard !target.dropUnsupported else { return nil }
            let unsupported = target.provider.unsupportedParameters(in: request)
            guard !unsupported.isEmpty else { return nil }
            let names = unsupported.map { "`\($0)`" }.joined(separator: ", ")
            return GatewayError(
                .validationError,
                "Provider `\(target.provider.name)` (\(target.provider.type.rawValue)) does not support \(names);"
                    + " remove \(unsupported.count == 1 ? "it" : "them") or set drop_unsupported_params: true on the provider.",
                param: unsupported[0],
                provider: target.provider.name
            )
        }

        /// Built-in tools (and their items) run at OpenAI's own Responses API; no other provider can take them.
        static func builtInToolRefusal(_ request: ChatRequest, for target: RouteTarget) -> GatewayError? {
            guard let parts = request.gatewayExtensions.nativeResponses?.nativeOnly, let first = parts.first, !target.provider.servesResponses else {
                return nil
            }
            return GatewayError(
                .validationError,
                "Provider `\(target.provider.name)` (\(target.provider.type.rawValue)) cannot take \(parts.map(\.name).joined(separator: ", ")):"
                    + " built-in tools and their items need an OpenAI-type provider with `responses: native`; use function tools instead.",
                param: first.param, provider: target.provider.name
            )
        }

        /// The request as this target gets it: its model id, and without the fields it cannot
        /// honour when its provider is configured to drop them.
        func prepare(_ request: ChatRequest, for target: RouteTarget) throws(GatewayError) -> ChatRequest {
            var upstream = request
            upstream.model = target.model
            if let refusal = Self.builtInToolRefusal(upstream, for: target) { throw refusal }
            let unsupported = target.provider.unsupportedParameters(in: upstream)
            guard !unsupported.isEmpty else { return upstream }
            if let refusal = Self.refusal(upstream, for: target) { throw refusal }
            dropped.withLock { $0 = unsupported }
            return upstream.removing(parameters: unsupported)
        }

        var droppedParameters: [String] { dropped.withLock { $0 } }

        init(timeouts: AttemptTimeouts, lease: CallLease) {
            self.timeouts = timeouts
            self.lease = lease
        }

        /// Hands the call's settlement to whoever holds the result (a stream settles at its end).
        func takeLease() -> CallLease {
            transferred.withLock { $0 = true }
            return lease
        }

        var isTransferred: Bool { transferred.withLock { $0 } }
        var callLease: CallLease { lease }
    }

    /// Carries out the ``ExecutionPlan``: admits each target it names on the health board,
    /// makes the attempt through `attempt`, settles it on the board, waits when it says wait.
    private func execute<Result: Sendable>(
        _ modelName: String,
        requestID: String,
        logger: Logger,
        refuse: @escaping (RouteTarget) -> GatewayError? = { _ in nil },
        _ attempt: (RouteTarget, UpstreamCall, Attempt) async throws -> Result
    ) async throws(GatewayError) -> (Result, ServedBy) {
        let primary = try catalog.resolve(modelName)
        let catalog = self.catalog
        let board = self.board
        let selector = self.selector
        let clock = self.clock
        var plan = ExecutionPlan(
            primary: primary, requestTimeout: requestTimeout, now: clock.now, random: random, refusal: refuse,
            resolve: { try? catalog.resolve($0) },
            order: { route, random in
                selector.order(
                    route.targets, strategy: route.strategy, board: board, prices: { catalog.prices.price(for: $0.model) },
                    now: clock.now, using: &random
                )
            }
        )
        while true {
            switch plan.next(now: clock.now) {
            case .fail(let error):
                throw scrubber.scrub(error)
            case .fallBack(let from, let to):
                metrics.fallback(from: from, to: to)
            case .wait(let delay, let target):
                metrics.retried(target: target.id)
                do {
                    try await clock.sleep(for: delay)
                } catch {
                    throw GatewayError(.upstreamError, "The request was cancelled.")
                }
            case .attempt(let target, let timeouts):
                let admission = board.admit(target.id, maxConcurrent: target.maxConcurrent, now: clock.now)
                guard case .admitted(let probe) = admission else {
                    if case .saturated = admission { metrics.overloaded(scope: "target") }
                    plan.record(.notAdmitted(admission), now: clock.now)
                    continue
                }
                plan.attempted()
                let lease = CallLease(board: board, target: target.id, probe: probe) { [metrics] outcome in
                    metrics.upstreamSettled(target: target.id, outcome: outcome)
                }
                let context = Attempt(timeouts: timeouts, lease: lease)
                let call = UpstreamCall(requestID: requestID, timeout: timeouts.total, logger: logger)
                let start = clock.now
                do {
                    let result = try await attempt(target, call, context)
                    let elapsed = clock.now - start
                    if !context.isTransferred { lease.succeed(latency: elapsed) }
                    metrics.upstreamLatency(target: target.id, duration: elapsed)
                    let served = plan.succeeded(elapsed: elapsed)
                    return (
                        result,
                        ServedBy(
                            provider: target.provider.name, model: target.model, upstreamDuration: served.upstreamTime,
                            attempts: served.attempts, droppedParameters: context.droppedParameters
                        )
                    )
                } catch let error as UpstreamError {
                    lease.fail(error, cooldown: ExecutionPlan<RandomSource>.cooldown(after: error))
                    logger.warning(
                        "upstream attempt failed",
                        metadata: [
                            "provider": "\(target.provider.name)", "model": "\(target.model)",
                            "error": "\(scrubber.scrub(error.gatewayError.message))",
                        ]
                    )
                    plan.record(.failed(error, elapsed: clock.now - start), now: clock.now)
                } catch is CancellationError {
                    lease.abandon()
                    throw GatewayError(.upstreamError, "The request was cancelled.")
                } catch let error as GatewayError {
                    lease.abandon()
                    throw error
                } catch {
                    lease.abandon()
                    logger.error("adapter failed unexpectedly", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                    throw GatewayError(.internalError, "The provider adapter failed unexpectedly.")
                }
                if Task.isCancelled { throw GatewayError(.upstreamError, "The request was cancelled.") }
            }
        }
    }
}
