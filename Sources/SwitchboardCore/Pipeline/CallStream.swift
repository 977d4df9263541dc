import Synchronization

/// A streamed answer on its way to the client: each chunk passes the call's observers as the
/// front door reads it, and the call is settled exactly once when the door says how the stream
/// ended — or, if it never says (its task was torn down), when the stream is released, as a
/// client that went away.
package struct CallStream: Sendable {
    package let servedBy: ServedBy
    package let notes: CallNotes
    /// The client asked for the provider's usage chunk (`stream_options.include_usage`).
    package let clientWantsUsage: Bool
    private let source: ChatStream
    private let settler: StreamSettler

    init(source: ChatStream, servedBy: ServedBy, notes: CallNotes, clientWantsUsage: Bool, settler: StreamSettler) {
        self.source = source
        self.servedBy = servedBy
        self.notes = notes
        self.clientWantsUsage = clientWantsUsage
        self.settler = settler
    }

    /// How a front door ended the stream.
    package enum End: Sendable {
        /// Every chunk was written and the stream's terminator sent.
        case completed
        /// The provider failed after the first chunk; the door wrote an error event.
        case brokeOff(GatewayError)
        /// A write failed: the client is gone.
        case clientGone
    }

    /// One reader per stream (the response writer).
    package func makeIterator() -> Iterator {
        Iterator(base: source.makeAsyncIterator(), settler: settler)
    }

    package struct Iterator {
        var base: ChatStream.AsyncIterator
        let settler: StreamSettler

        /// A chunk already received (no waiting on the network), the end, or `.mustWait`.
        package mutating func nextIfReady() throws -> ReadyChunk {
            let ready = try base.nextIfReady()
            if case .chunk(let chunk) = ready { settler.observe(chunk) }
            return ready
        }

        package mutating func next() async throws -> ChatChunk? {
            let chunk = try await base.next()
            if let chunk { settler.observe(chunk) }
            return chunk
        }

        /// Settles the call: the ledger row, the budget, every stage's observer. Only the first call counts.
        package func finish(_ end: End) {
            settler.finish(end)
        }
    }
}

/// Holds a stream's observers and tally until the stream ends, and settles it once.
final class StreamSettler: Sendable {
    private struct State: Sendable {
        var observers: [any CallObserver]
        var tally: StreamTally
        var done = false
    }

    private let state: Mutex<State>
    private let call: ModelCall
    private let servedBy: ServedBy
    private let notes: CallNotes
    private let price: @Sendable (Usage) -> Double?

    init(
        call: ModelCall, request: ChatRequest, observers: [any CallObserver], servedBy: ServedBy, notes: CallNotes = CallNotes(),
        price: @escaping @Sendable (Usage) -> Double?
    ) {
        self.state = Mutex(State(observers: observers, tally: StreamTally(request: request)))
        self.call = call
        self.servedBy = servedBy
        self.notes = notes
        self.price = price
    }

    func observe(_ chunk: ChatChunk) {
        state.withLock { state in
            state.tally.observe(chunk)
            for index in state.observers.indices {
                state.observers[index].observe(chunk)
            }
        }
    }

    func finish(_ end: CallStream.End) {
        let taken: (observers: [any CallObserver], tally: StreamTally)? = state.withLock { state in
            guard !state.done else { return nil }
            state.done = true
            return (state.observers, state.tally)
        }
        guard let taken else { return }
        let outcome: CallSettlement.Outcome
        switch end {
        case .completed: outcome = .served
        case .brokeOff(let error): outcome = .brokeOff(error)
        case .clientGone: outcome = .clientGone
        }
        let usage = taken.tally.usage
        var settlement = CallSettlement(
            call: call, outcome: outcome, servedBy: servedBy, usage: usage, usageEstimated: taken.tally.reportedUsage == nil,
            cost: price(usage), elapsed: .now - call.context.started
        )
        settlement.notes = notes
        for observer in taken.observers.reversed() {
            observer.finish(settlement)
        }
    }

    deinit {
        // A stream whose writer never reported its end (the task was torn down first) still
        // releases its reservation and gets its row.
        finish(.clientGone)
    }
}
