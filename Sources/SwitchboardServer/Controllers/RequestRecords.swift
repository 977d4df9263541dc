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
        RequestRecord(
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
    }

    /// The ledger row of a request that failed before any answer started.
    func failedRecord(_ error: GatewayError, endpoint: String, model: String, stream: Bool) -> RequestRecord {
        RequestRecord(
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
    }
}

/// Accounts for one streamed answer, whichever wire format it is written in.
struct StreamLedger: Sendable {
    let gateway: Gateway
    let servedBy: ServedBy
    let request: ChatRequest
    let requestID: String
    let principal: String
    let start: ContinuousClock.Instant

    init(gateway: Gateway, servedBy: ServedBy, request: ChatRequest, context: GatewayRequestContext) {
        self.gateway = gateway
        self.servedBy = servedBy
        self.request = request
        self.requestID = context.requestID
        self.principal = (context.principal ?? .anonymous).id
        self.start = context.start
    }

    /// Writes the stream's row: 200, the upstream's error status, or 499 when the client left.
    func record(status: Int, errorCode: String?, tally: StreamTally) {
        let usage = tally.usage
        gateway.complete(
            RequestRecord(
                requestID: requestID,
                timestamp: Date().timeIntervalSince1970,
                principal: principal,
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
                costUSD: gateway.cost(of: servedBy, usage: usage)
            )
        )
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

extension Gateway {
    /// Finishes a served, non-streamed answer for any front door: the routing and cost headers,
    /// then its ledger row.
    func settle(
        _ response: inout Response,
        endpoint: String,
        model: String,
        servedBy: ServedBy,
        usage: Usage,
        estimated: Bool,
        elapsed: Duration,
        context: GatewayRequestContext
    ) {
        OpenAIController.addRoutingHeaders(&response.headers, servedBy: servedBy, elapsed: elapsed)
        let cost = cost(of: servedBy, usage: usage)
        if let cost { response.headers[.costUSD] = formatCost(cost) }
        complete(
            context.servedRecord(
                endpoint: endpoint, model: model, servedBy: servedBy, usage: usage,
                estimated: estimated, elapsed: elapsed, costUSD: cost
            )
        )
    }
}
