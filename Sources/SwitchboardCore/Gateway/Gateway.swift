public import Logging

/// Which target finally served a call, and what it took.
public struct ServedBy: Sendable, Hashable {
    public var provider: String
    public var model: String
    /// Time spent waiting on upstreams, all attempts included.
    public var upstreamDuration: Duration
    public var attempts: Int

    public init(provider: String, model: String, upstreamDuration: Duration, attempts: Int) {
        self.provider = provider
        self.model = model
        self.upstreamDuration = upstreamDuration
        self.attempts = attempts
    }
}

public struct ChatResult: Sendable {
    public var response: ChatResponse
    public var servedBy: ServedBy
    /// Usage as counted (the provider's, or an estimate when it reported none).
    public var usage: Usage
    public var usageEstimated: Bool
}

public struct EmbeddingsResult: Sendable {
    public var response: EmbeddingsResponse
    public var servedBy: ServedBy
}

public struct StreamResult: Sendable {
    public var stream: ChatStream
    public var servedBy: ServedBy
}

/// The gateway's core: resolves the model, calls a target (moving on when one fails), and accounts.
///
/// It knows nothing of HTTP servers: front doors decode their wire format into core requests,
/// call this, and encode what comes back.
public struct Gateway: Sendable {
    public let catalog: ModelCatalog
    public let metrics: GatewayMetrics
    private let sink: any RequestRecordSink

    public init(catalog: ModelCatalog, metrics: GatewayMetrics, sink: any RequestRecordSink) {
        self.catalog = catalog
        self.metrics = metrics
        self.sink = sink
    }

    public func chat(_ request: ChatRequest, requestID: String, logger: Logger) async throws(GatewayError) -> ChatResult {
        var request = request
        request.stream = false
        request.streamOptions = nil
        let (response, servedBy) = try await execute(request.model, requestID: requestID, logger: logger) {
            target, call in
            var upstream = request
            upstream.model = target.model
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

    /// Opens a stream on the first target that accepts it; the upstream is always asked for usage.
    public func streamChat(_ request: ChatRequest, requestID: String, logger: Logger) async throws(GatewayError) -> StreamResult {
        var request = request
        request.stream = true
        var options = request.streamOptions ?? StreamOptions(includeUsage: true)
        options.includeUsage = true
        request.streamOptions = options
        let (stream, servedBy) = try await execute(request.model, requestID: requestID, logger: logger) {
            target, call in
            var upstream = request
            upstream.model = target.model
            return try await target.provider.streamChat(upstream, call: call)
        }
        return StreamResult(stream: stream, servedBy: servedBy)
    }

    public func embeddings(_ request: EmbeddingsRequest, requestID: String, logger: Logger) async throws(GatewayError) -> EmbeddingsResult {
        let (response, servedBy) = try await execute(request.model, requestID: requestID, logger: logger) {
            target, call in
            var upstream = request
            upstream.model = target.model
            return try await target.provider.embeddings(upstream, call: call)
        }
        return EmbeddingsResult(response: response, servedBy: servedBy)
    }

    /// Counts a finished request in the metrics and hands it to the ledger.
    ///
    /// `errors_total` is counted where the error reaches the client (the HTTP edge, or the
    /// stream relay for errors after the first byte), not here.
    public func complete(_ record: RequestRecord) {
        let provider = record.provider ?? "none"
        let model = record.modelServed ?? record.modelRequested
        if record.endpoint == "chat" {
            metrics.chatCompleted(model: model, provider: provider, status: String(record.status))
            metrics.tokens(model: model, provider: provider, prompt: record.promptTokens, completion: record.completionTokens)
        }
        sink.record(record)
    }

    /// Tries the route's targets (then its fallbacks' targets) until one answers.
    ///
    /// A client error (4xx other than 408/409/429) stops at once: another target would refuse it too.
    private func execute<Result: Sendable>(
        _ modelName: String,
        requestID: String,
        logger: Logger,
        _ attempt: (RouteTarget, UpstreamCall) async throws -> Result
    ) async throws(GatewayError) -> (Result, ServedBy) {
        let clock = ContinuousClock()
        var routes = [try catalog.resolve(modelName)]
        var visited: Set<String> = [modelName]
        var attempts = 0
        var upstreamTime = Duration.zero
        var failures: [UpstreamError] = []
        var index = 0
        while index < routes.count {
            let route = routes[index]
            index += 1
            for target in order(route.targets, strategy: route.strategy) {
                for retry in 0...route.retries {
                    if retry > 0 {
                        try? await Task.sleep(for: .milliseconds(Int64.random(in: 0...(100 << min(retry, 5)))))
                    }
                    attempts += 1
                    let call = UpstreamCall(requestID: requestID, timeout: route.timeout, logger: logger)
                    let start = clock.now
                    do {
                        let result = try await attempt(target, call)
                        upstreamTime += clock.now - start
                        metrics.upstreamRequest(provider: target.provider.name, model: target.model, outcome: "success")
                        return (
                            result,
                            ServedBy(
                                provider: target.provider.name, model: target.model,
                                upstreamDuration: upstreamTime, attempts: attempts
                            )
                        )
                    } catch let error as UpstreamError {
                        upstreamTime += clock.now - start
                        metrics.upstreamRequest(provider: target.provider.name, model: target.model, outcome: outcome(error))
                        logger.warning(
                            "upstream attempt failed",
                            metadata: [
                                "provider": "\(target.provider.name)", "model": "\(target.model)",
                                "error": "\(error.gatewayError.message)",
                            ]
                        )
                        failures.append(error)
                        if !error.isRetryable { throw error.gatewayError }
                    } catch is CancellationError {
                        throw GatewayError(.upstreamError, "The request was cancelled.")
                    } catch let error as GatewayError {
                        throw error
                    } catch {
                        upstreamTime += clock.now - start
                        logger.error("adapter failed unexpectedly", metadata: ["error": "\(error)"])
                        throw GatewayError(.internalError, "The provider adapter failed unexpectedly.")
                    }
                    if Task.isCancelled { throw GatewayError(.upstreamError, "The request was cancelled.") }
                }
            }
            for fallback in route.fallbacks where visited.insert(fallback).inserted {
                if let next = try? catalog.resolve(fallback) { routes.append(next) }
            }
        }
        throw summarize(failures)
    }

    private func order(_ targets: [RouteTarget], strategy: RoutingStrategy) -> [RouteTarget] {
        guard strategy == .weighted, targets.count > 1 else { return targets }
        var remaining = targets
        var ordered: [RouteTarget] = []
        ordered.reserveCapacity(targets.count)
        while !remaining.isEmpty {
            let total = remaining.reduce(0) { $0 + max(0, $1.weight) }
            var pick = 0
            if total > 0 {
                var point = Double.random(in: 0..<total)
                for (position, target) in remaining.enumerated() {
                    point -= max(0, target.weight)
                    if point < 0 {
                        pick = position
                        break
                    }
                }
            }
            ordered.append(remaining.remove(at: pick))
        }
        return ordered
    }

    private func outcome(_ error: UpstreamError) -> String {
        switch error.kind {
        case .status(let status): return status == 429 ? "rate_limited" : "http_\(status / 100)xx"
        case .timeout: return "timeout"
        case .connect: return "connect_error"
        case .invalidResponse: return "invalid_response"
        case .streamInterrupted: return "stream_interrupted"
        case .unsupported: return "unsupported"
        }
    }

    /// One error for a request every target failed: the last failure's kind, every attempt named.
    private func summarize(_ failures: [UpstreamError]) -> GatewayError {
        guard let last = failures.last else {
            return GatewayError(.upstreamError, "No provider is configured to serve this model.")
        }
        var error = last.gatewayError
        if failures.count > 1 {
            let attempts = failures.map { "\($0.provider): \($0.gatewayError.message)" }
            error.message = "All \(failures.count) attempts failed. " + attempts.joined(separator: " | ")
        }
        return error
    }
}
