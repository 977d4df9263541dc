#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The ledger and the request log: refuses a call whose row could not be kept (the writer's
/// queue is too far behind), and writes exactly one row per call when it is over — with the
/// request and answer text when `request_log.mode` is `bodies`. It also counts the call in the
/// business metrics.
package struct LedgerStage: CallStage {
    let sink: any RequestRecordSink
    let metrics: GatewayMetrics
    /// Characters of bodies kept for the log; `nil` when bodies are not logged.
    let captureLimit: Int?
    let backlogged: @Sendable () -> Bool

    /// - Parameters:
    ///   - sink: where rows go (the batching writer, behind the log mode's filter).
    ///   - captureLimit: `request_log.preview_chars` in `bodies` mode, else `nil`.
    ///   - backlogged: whether the writer's queue is too far behind to take more calls.
    package init(sink: any RequestRecordSink, metrics: GatewayMetrics, captureLimit: Int?, backlogged: @escaping @Sendable () -> Bool) {
        self.sink = sink
        self.metrics = metrics
        self.captureLimit = captureLimit
        self.backlogged = backlogged
    }

    package func prepare(_ call: inout ModelCall) async throws(GatewayError) -> StagePlan {
        if backlogged() {
            throw GatewayError(
                .internalError, "The gateway cannot record calls right now (its database is behind); retry shortly.",
                retryAfterSeconds: 1, status: 503
            )
        }
        let body = captureLimit.flatMap { limit in call.context.body.map { String(decoding: $0.prefix(limit * 4 + 256), as: UTF8.self) } }
        return .observe(Recorder(sink: sink, metrics: metrics, captureLimit: captureLimit, requestBody: body))
    }

    package func refused(_ call: ModelCall, _ error: GatewayError) {
        let body = captureLimit.flatMap { limit in call.context.body.map { String(decoding: $0.prefix(limit * 4 + 256), as: UTF8.self) } }
        Recorder(sink: sink, metrics: metrics, captureLimit: captureLimit, requestBody: body)
            .finish(CallSettlement(call: call, outcome: .failed(error), elapsed: .now - call.context.started))
    }

    struct Recorder: CallObserver {
        let sink: any RequestRecordSink
        let metrics: GatewayMetrics
        let captureLimit: Int?
        let requestBody: String?
        /// A stream's text so far, when bodies are logged.
        var streamed: String?

        init(sink: any RequestRecordSink, metrics: GatewayMetrics, captureLimit: Int?, requestBody: String?) {
            self.sink = sink
            self.metrics = metrics
            self.captureLimit = captureLimit
            self.requestBody = requestBody
            self.streamed = captureLimit == nil ? nil : ""
        }

        mutating func observe(_ chunk: ChatChunk) {
            guard let limit = captureLimit, let captured = streamed, captured.utf8.count < (limit + 64) * 4 else { return }
            for choice in chunk.choices {
                if let content = choice.delta.content { streamed = (streamed ?? "") + content }
            }
        }

        func finish(_ settlement: CallSettlement) {
            let call = settlement.call
            let context = call.context
            var record = RequestRecord(
                requestID: context.requestID,
                timestamp: Date().timeIntervalSince1970,
                principal: context.principal.id,
                endpoint: call.endpoint.rawValue,
                modelRequested: call.request.model,
                provider: settlement.servedBy?.provider ?? settlement.error?.provider,
                modelServed: settlement.servedBy?.model,
                status: settlement.status,
                errorCode: settlement.error?.code.rawValue,
                promptTokens: settlement.consumed ? settlement.usage.promptTokens : 0,
                completionTokens: settlement.consumed ? settlement.usage.completionTokens : 0,
                usageEstimated: settlement.consumed && settlement.usageEstimated,
                latencyMilliseconds: settlement.elapsed.milliseconds,
                upstreamMilliseconds: settlement.servedBy?.upstreamDuration.milliseconds ?? 0,
                attempts: settlement.servedBy?.attempts ?? 0,
                stream: call.stream,
                costUSD: settlement.consumed ? settlement.cost : nil
            )
            record.attribute(to: context.principal)
            if settlement.consumed {
                record.cachedTokens = settlement.usage.cachedPromptTokens
                record.reasoningTokens = settlement.usage.reasoningTokens
            }
            if let cache = settlement.notes.cache, cache.isHit {
                record.cacheHit = true
                record.costSavedUSD = cache.savedUSD
            }
            if let limit = captureLimit {
                record.requestBody = requestBody
                record.responseBody = answerText(settlement).map { String($0.prefix(limit + 64)) }
            }
            if call.endpoint == .chat {
                let provider = record.provider ?? "none"
                let model = record.modelServed ?? record.modelRequested
                metrics.chatCompleted(model: model, provider: provider, status: String(record.status))
                metrics.tokens(model: model, provider: provider, prompt: record.promptTokens, completion: record.completionTokens)
            }
            sink.record(record)
        }

        /// The answer as the client got it: an OpenAI-format provider's bytes, else the core
        /// answer encoded; a stream's text.
        private func answerText(_ settlement: CallSettlement) -> String? {
            if settlement.call.stream { return streamed }
            guard let response = settlement.response else { return nil }
            if !response.upstreamBody.isEmpty { return String(decoding: response.upstreamBody.bytes, as: UTF8.self) }
            return (try? JSONCoding.encode(response)).map { String(decoding: $0, as: UTF8.self) }
        }
    }
}

/// Drops the rows `request_log.mode: off` does not keep (everything but spend rows), and the
/// bodies `metadata` mode does not keep.
package struct LogModeSink: RequestRecordSink {
    let base: any RequestRecordSink
    let mode: RequestLogConfig.Mode

    package init(base: any RequestRecordSink, mode: RequestLogConfig.Mode) {
        self.base = base
        self.mode = mode
    }

    package func record(_ record: RequestRecord) {
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
