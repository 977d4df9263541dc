/// One step of every model call, in the pipeline's stage list.
///
/// Before the upstream call each stage, in order, may rewrite the request (prepend
/// conversation or memory context), refuse the call (limits, budget, back-pressure) or answer it
/// itself (a cache hit); it may hand back a ``CallObserver`` that sees the answer — each chunk of
/// a stream — and, exactly once, how the call ended. Observers finish in reverse stage order,
/// like unwinding middleware, so the first stage (the ledger) records what later ones settled.
///
/// ```swift
/// struct ShoutStage: CallStage {
///     func prepare(_ call: inout ModelCall) async throws(GatewayError) -> StagePlan {
///         guard case .chat(var chat) = call.request else { return .proceed }
///         chat.messages.insert(ChatMessage(role: .system, content: .text("Answer in capitals.")), at: 0)
///         call.request = .chat(chat)
///         return .proceed
///     }
/// }
/// ```
package protocol CallStage: Sendable {
    /// Runs before the upstream call. Throwing refuses the call with that error; observers of
    /// the stages before this one still finish (a reservation is released, a row written).
    func prepare(_ call: inout ModelCall) async throws(GatewayError) -> StagePlan

    /// A call the front door refused before any stage ran (input it could not accept): stages
    /// that keep records record it; nothing else happens.
    func refused(_ call: ModelCall, _ error: GatewayError)
}

extension CallStage {
    package func refused(_ call: ModelCall, _ error: GatewayError) {}
}

/// What a stage decided for one call.
package struct StagePlan: Sendable {
    /// The stage's own answer: later stages and the upstream call are skipped.
    package var answer: StageAnswer?
    /// Sees the rest of the call.
    package var observer: (any CallObserver)?
    /// What the front door should tell the client (rate-limit standing, ...).
    package var notes: CallNotes

    package init(answer: StageAnswer? = nil, observer: (any CallObserver)? = nil, notes: CallNotes = CallNotes()) {
        self.answer = answer
        self.observer = observer
        self.notes = notes
    }

    package static let proceed = StagePlan()

    package static func observe(_ observer: any CallObserver) -> StagePlan {
        StagePlan(observer: observer)
    }
}

/// An answer a stage gives without calling the upstream (a cached answer, say).
package struct StageAnswer: Sendable {
    package var response: ChatResponse
    /// Who is named as having served it (`X-Switchboard-Provider`, the ledger row).
    package var servedBy: ServedBy
    package var usage: Usage
    /// What the answer cost (a cached answer: 0).
    package var cost: Double?
    /// Streamed back: the pause between chunks (`nil`: all at once).
    package var replayDelay: Duration?

    package init(response: ChatResponse, servedBy: ServedBy, usage: Usage, cost: Double? = nil, replayDelay: Duration? = nil) {
        self.response = response
        self.servedBy = servedBy
        self.usage = usage
        self.cost = cost
        self.replayDelay = replayDelay
    }
}

/// Sees one call's answer and its end. Values: the pipeline keeps each call's observers.
package protocol CallObserver: Sendable {
    /// Each streamed chunk, in order, as it passes to the client (on the stream's task: cheap work only).
    mutating func observe(_ chunk: ChatChunk)
    /// Once, when the call is over — served, refused, failed or (streams) cut short. Runs
    /// before a non-streamed answer is sent and after a stream's last byte; slow work belongs
    /// in a background service this only enqueues to.
    func finish(_ settlement: CallSettlement)
}

extension CallObserver {
    package mutating func observe(_ chunk: ChatChunk) {}
}
