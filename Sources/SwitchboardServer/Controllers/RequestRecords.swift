import HTTPTypes
import Hummingbird
import SwitchboardCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension GatewayRequestContext {
    /// The ledger row of a request a provider served.
    func servedRecord(
        endpoint: String,
        model: String,
        servedBy: ServedBy,
        usage: Usage,
        estimated: Bool,
        elapsed: Duration,
        costUSD: Double?
    ) -> RequestRecord {
        var record = RequestRecord(
            requestID: requestID,
            timestamp: Date().timeIntervalSince1970,
            principal: (principal ?? .anonymous).id,
            endpoint: endpoint,
            modelRequested: model,
            provider: servedBy.provider,
            modelServed: servedBy.model,
            status: 200,
            promptTokens: usage.promptTokens,
            completionTokens: usage.completionTokens,
            usageEstimated: estimated,
            latencyMilliseconds: elapsed.milliseconds,
            upstreamMilliseconds: servedBy.upstreamDuration.milliseconds,
            attempts: servedBy.attempts,
            costUSD: costUSD
        )
        record.attribute(to: principal ?? .anonymous)
        record.cachedTokens = usage.cachedPromptTokens
        record.reasoningTokens = usage.reasoningTokens
        return record
    }

    /// The ledger row of a request that failed before any answer started.
    func failedRecord(_ error: GatewayError, endpoint: String, model: String, stream: Bool) -> RequestRecord {
        var record = RequestRecord(
            requestID: requestID,
            timestamp: Date().timeIntervalSince1970,
            principal: (principal ?? .anonymous).id,
            endpoint: endpoint,
            modelRequested: model,
            provider: error.provider,
            status: error.status,
            errorCode: error.code.rawValue,
            latencyMilliseconds: (ContinuousClock.now - start).milliseconds,
            stream: stream
        )
        record.attribute(to: principal ?? .anonymous)
        return record
    }
}

/// Accounts for one streamed answer, whichever wire format it is written in.
struct StreamLedger: Sendable {
    let gateway: Gateway
    let governor: Governor
    let admission: Governor.Admission
    let servedBy: ServedBy
    let request: ChatRequest
    let requestID: String
    let principal: Principal
    let start: ContinuousClock.Instant
    let body: String?
    /// Characters of the answer kept for the log; 0 when bodies are not logged.
    let captureLimit: Int

    init(
        gateway: Gateway, governor: Governor, admission: Governor.Admission, servedBy: ServedBy, request: ChatRequest,
        context: GatewayRequestContext, body: String?, captureLimit: Int
    ) {
        self.gateway = gateway
        self.governor = governor
        self.admission = admission
        self.servedBy = servedBy
        self.request = request
        self.requestID = context.requestID
        self.principal = context.principal ?? .anonymous
        self.start = context.start
        self.body = body
        self.captureLimit = captureLimit
    }

    func makeTally() -> StreamTally {
        StreamTally(request: request, captureLimit: captureLimit)
    }

    /// Writes the stream's row and settles its budget: 200, the upstream's error status, or
    /// 499 when the client left. Called exactly once per stream.
    func record(status: Int, errorCode: String?, tally: StreamTally) {
        let usage = tally.usage
        let cost = gateway.cost(of: servedBy, usage: usage)
        governor.settle(admission, usage: usage, cost: cost)
        var record = RequestRecord(
            requestID: requestID,
            timestamp: Date().timeIntervalSince1970,
            principal: principal.id,
            endpoint: "chat",
            modelRequested: request.model,
            provider: servedBy.provider,
            modelServed: servedBy.model,
            status: status,
            errorCode: errorCode,
            promptTokens: usage.promptTokens,
            completionTokens: usage.completionTokens,
            usageEstimated: tally.reportedUsage == nil,
            latencyMilliseconds: (ContinuousClock.now - start).milliseconds,
            upstreamMilliseconds: servedBy.upstreamDuration.milliseconds,
            attempts: servedBy.attempts,
            stream: true,
            costUSD: cost
        )
        record.attribute(to: principal)
        record.cachedTokens = usage.cachedPromptTokens
        record.reasoningTokens = usage.reasoningTokens
        record.requestBody = body
        record.responseBody = tally.capturedText
        gateway.complete(record)
    }
}

/// `X-Cost-USD`: dollars with up to eight decimals, no exponent.
func formatCost(_ value: Double) -> String {
    let scaled = Int64((value * 100_000_000).rounded())
    let fraction = String(scaled % 100_000_000)
    var text = "\(scaled / 100_000_000)." + String(repeating: "0", count: 8 - fraction.count) + fraction
    while text.hasSuffix("0"), !text.hasSuffix(".0") { text.removeLast() }
    return text
}

/// Governance and accounting around one model call, shared by every front door.
///
/// ``admit(model:messages:maxTokens:context:)`` runs the principal's policy before the upstream
/// call; exactly one of ``served(_:admission:endpoint:model:servedBy:usage:estimated:elapsed:context:body:answer:)``,
/// ``failed(_:admission:endpoint:model:stream:context:body:)`` or the stream ledger settles it.
struct CallMeter: Sendable {
    let gateway: Gateway
    let governor: Governor
    /// `request_log.mode: bodies`: keep the request and answer text for the log.
    let captureBodies: Bool
    /// Characters of a body kept for the log (redaction and the exact cut happen in the writer).
    let captureLimit: Int
    /// Whether the ledger's queue is too far behind to take more calls (back-pressure).
    let ledgerBacklogged: @Sendable () -> Bool

    func admit(
        model: String, messages: [ChatMessage], maxTokens: Int?, choices: Int = 1, context: GatewayRequestContext
    ) async throws(GatewayError) -> Governor.Admission {
        try checkLedger()
        let principal = context.principal ?? .anonymous
        // The estimate only feeds limits and budgets; a caller without any skips it.
        let promptTokens = principal.scopes.isEmpty ? 0 : TokenEstimator.estimatePrompt(messages)
        return try await governor.admit(principal, model: model, promptTokens: promptTokens, maxTokens: maxTokens, choices: choices)
    }

    func admit(model: String, promptTokens: Int, context: GatewayRequestContext) async throws(GatewayError) -> Governor.Admission {
        try checkLedger()
        return try await governor.admit(context.principal ?? .anonymous, model: model, promptTokens: promptTokens, maxTokens: 0)
    }

    /// A call whose ledger row could not be kept is not made.
    private func checkLedger() throws(GatewayError) {
        if ledgerBacklogged() {
            throw GatewayError(
                .internalError, "The gateway cannot record calls right now (its database is behind); retry shortly.",
                retryAfterSeconds: 1, status: 503
            )
        }
    }

    /// The request body as the log keeps it, or `nil` when bodies are not logged.
    func body(_ data: Data) -> String? {
        guard captureBodies else { return nil }
        return String(decoding: data.prefix(captureLimit * 4 + 256), as: UTF8.self)
    }

    func answer(_ text: @autoclosure () -> String) -> String? {
        captureBodies ? String(text().prefix(captureLimit + 64)) : nil
    }

    /// Finishes a served, non-streamed answer: routing, cost and rate-limit headers, the
    /// budget settled to the real cost, and the ledger row.
    func served(
        _ response: inout Response,
        admission: Governor.Admission,
        endpoint: String,
        model: String,
        servedBy: ServedBy,
        usage: Usage,
        estimated: Bool,
        elapsed: Duration,
        context: GatewayRequestContext,
        body: String?,
        answer: String?
    ) {
        OpenAIController.addRoutingHeaders(&response.headers, servedBy: servedBy, elapsed: elapsed)
        let cost = gateway.cost(of: servedBy, usage: usage)
        if let cost { response.headers[.costUSD] = formatCost(cost) }
        addRateHeaders(&response.headers, admission.rate)
        governor.settle(admission, usage: usage, cost: cost)
        var record = context.servedRecord(
            endpoint: endpoint, model: model, servedBy: servedBy, usage: usage,
            estimated: estimated, elapsed: elapsed, costUSD: cost
        )
        record.requestBody = body
        record.responseBody = answer
        gateway.complete(record)
    }

    /// Books a call that failed before any answer: the reservation is released, the row written.
    func failed(
        _ error: GatewayError,
        admission: Governor.Admission?,
        endpoint: String,
        model: String,
        stream: Bool,
        context: GatewayRequestContext,
        body: String?
    ) {
        if let admission { governor.settle(admission, usage: nil, cost: nil) }
        var record = context.failedRecord(error, endpoint: endpoint, model: model, stream: stream)
        record.requestBody = body
        gateway.complete(record)
    }

    func ledger(servedBy: ServedBy, request: ChatRequest, admission: Governor.Admission, context: GatewayRequestContext, body: String?) -> StreamLedger {
        StreamLedger(
            gateway: gateway, governor: governor, admission: admission, servedBy: servedBy, request: request,
            context: context, body: body, captureLimit: captureBodies ? captureLimit + 64 : 0
        )
    }

    func addRateHeaders(_ headers: inout HTTPFields, _ status: RateLimitStatus?) {
        guard let status else { return }
        Self.addRateHeaders(&headers, status)
    }

    static func addRateHeaders(_ headers: inout HTTPFields, _ status: RateLimitStatus) {
        headers[.rateLimitLimit] = String(status.limit)
        headers[.rateLimitRemaining] = String(status.remaining)
        headers[.rateLimitResetMs] = String(status.resetMilliseconds)
        if let tokens = status.tokenLimit, let remaining = status.tokensRemaining {
            headers[.rateLimitLimitTokens] = String(tokens)
            headers[.rateLimitRemainingTokens] = String(remaining)
        }
    }
}

/// Drops the rows `request_log.mode: off` does not keep: everything but spend rows.
struct LogModeSink: RequestRecordSink {
    let base: any RequestRecordSink
    let mode: RequestLogConfig.Mode

    func record(_ record: RequestRecord) {
        if mode == .off, !record.isSpend { return }
        if mode != .bodies, record.requestBody != nil || record.responseBody != nil {
            var record = record
            record.requestBody = nil
            record.responseBody = nil
            base.record(record)
            return
        }
        base.record(record)
    }
}
