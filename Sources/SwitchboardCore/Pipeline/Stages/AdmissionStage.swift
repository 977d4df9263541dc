/// Admission and metering: the caller's allowed models, RPM/TPM and budget reservation before
/// the call; after it, the real tokens charged against TPM and the real cost against budgets.
///
/// A call a later stage answers from the cache counts against the rate limits like any other,
/// unless `countCacheHits` is off: then its request and tokens are given back.
package struct AdmissionStage: CallStage {
    let governor: Governor
    let countCacheHits: Bool

    package init(governor: Governor, countCacheHits: Bool = true) {
        self.governor = governor
        self.countCacheHits = countCacheHits
    }

    package func prepare(_ call: inout ModelCall) async throws(GatewayError) -> StagePlan {
        let principal = call.principal
        let admission: Governor.Admission
        switch call.request {
        case .chat(let chat):
            // The estimate only feeds limits and budgets; a caller without any skips it.
            let prompt = principal.scopes.isEmpty ? 0 : TokenEstimator.estimatePrompt(chat.messages)
            admission = try await governor.admit(
                principal, model: chat.model, promptTokens: prompt, maxTokens: chat.outputTokenLimit, choices: chat.choiceCount
            )
        case .embeddings(let request):
            admission = try await governor.admit(principal, model: request.model, promptTokens: request.input.estimatedTokens, maxTokens: 0)
        case .countTokens(let request):
            // Counting costs nothing, but it is a call: models and RPM apply.
            admission = try await governor.admit(principal, model: request.model, promptTokens: 0, maxTokens: 0)
        }
        let settle = Settle(governor: governor, admission: admission, countCacheHits: countCacheHits)
        return StagePlan(observer: settle, notes: CallNotes(rateLimit: admission.rate))
    }

    struct Settle: CallObserver {
        let governor: Governor
        let admission: Governor.Admission
        let countCacheHits: Bool

        func finish(_ settlement: CallSettlement) {
            if !countCacheHits, settlement.notes.cache?.isHit == true {
                governor.refund(admission)
            } else if settlement.consumed {
                governor.settle(admission, usage: settlement.usage, cost: settlement.cost)
            } else {
                governor.settle(admission, usage: nil, cost: nil)
            }
        }
    }
}
