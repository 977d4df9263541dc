/// Admission and metering: the caller's allowed models, RPM/TPM and budget reservation before
/// the call; after it, the real tokens charged against TPM and the real cost against budgets.
package struct AdmissionStage: CallStage {
    let governor: Governor

    package init(governor: Governor) {
        self.governor = governor
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
        return StagePlan(observer: Settle(governor: governor, admission: admission), notes: CallNotes(rateLimit: admission.rate))
    }

    struct Settle: CallObserver {
        let governor: Governor
        let admission: Governor.Admission

        func finish(_ settlement: CallSettlement) {
            if settlement.consumed {
                governor.settle(admission, usage: settlement.usage, cost: settlement.cost)
            } else {
                governor.settle(admission, usage: nil, cost: nil)
            }
        }
    }
}
