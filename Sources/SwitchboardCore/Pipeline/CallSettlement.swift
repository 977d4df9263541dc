/// How one model call ended, as every observer sees it: the facts the ledger row, the budget
/// and the cache need.
package struct CallSettlement: Sendable {
    package enum Outcome: Sendable, Hashable {
        /// The answer was given in full.
        case served
        /// Refused or failed before any answer (the error's status is the row's).
        case failed(GatewayError)
        /// A stream that broke after its first chunk.
        case brokeOff(GatewayError)
        /// A stream whose client went away before the end (499).
        case clientGone
    }

    package var call: ModelCall
    package var outcome: Outcome
    /// Who served it, when anyone did.
    package var servedBy: ServedBy?
    /// The answer of a non-streamed chat call.
    package var response: ChatResponse?
    /// Tokens as counted: the provider's, or an estimate (``usageEstimated``).
    package var usage: Usage
    package var usageEstimated: Bool
    /// What the call cost at the price table's rates, when its model has a price.
    package var cost: Double?
    /// From the request's arrival to now.
    package var elapsed: Duration
    /// What the stages noted (the cache's hit, for the ledger row).
    package var notes = CallNotes()

    package init(
        call: ModelCall, outcome: Outcome, servedBy: ServedBy? = nil, response: ChatResponse? = nil,
        usage: Usage = Usage(promptTokens: 0, completionTokens: 0), usageEstimated: Bool = false, cost: Double? = nil,
        elapsed: Duration
    ) {
        self.call = call
        self.outcome = outcome
        self.servedBy = servedBy
        self.response = response
        self.usage = usage
        self.usageEstimated = usageEstimated
        self.cost = cost
        self.elapsed = elapsed
    }

    /// The HTTP status the ledger records: 200, the error's, or 499 for a client that left.
    package var status: Int {
        switch outcome {
        case .served: return 200
        case .failed(let error), .brokeOff(let error): return error.status
        case .clientGone: return 499
        }
    }

    package var error: GatewayError? {
        switch outcome {
        case .failed(let error), .brokeOff(let error): return error
        case .served, .clientGone: return nil
        }
    }

    /// Whether the upstream did (some of) the work, so usage and cost count.
    package var consumed: Bool {
        switch outcome {
        case .served, .brokeOff, .clientGone: return servedBy != nil
        case .failed: return false
        }
    }
}
