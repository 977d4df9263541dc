/// The one place every model call runs: admit → before-stages → execute → after-stages →
/// settle → record.
///
/// Front doors decode their wire format into a ``ModelCall``, call one of the methods here and
/// encode what comes back; they hold no call logic. The stage list is fixed at start-up
/// (`buildGateway`): the ledger first (it refuses calls it could not record, and records last),
/// then admission (allowed models, RPM/TPM, the budget reservation), then whatever the later
/// capabilities add — conversation context, memory, the response cache.
package struct CallPipeline: Sendable {
    /// Executes the call: routes, retries, falls back.
    package let gateway: Gateway
    package let stages: [any CallStage]

    package init(gateway: Gateway, stages: [any CallStage]) {
        self.gateway = gateway
        self.stages = stages
    }

    /// Runs the before-stages; returns the observers, the notes and a stage's own answer.
    private func prepare(_ call: inout ModelCall, observers: inout [any CallObserver]) async throws(GatewayError) -> (CallNotes, StageAnswer?) {
        var notes = CallNotes()
        for stage in stages {
            let plan = try await stage.prepare(&call)
            if let observer = plan.observer { observers.append(observer) }
            notes.merge(plan.notes)
            if let answer = plan.answer { return (notes, answer) }
        }
        return (notes, nil)
    }

    private func finish(_ observers: [any CallObserver], _ settlement: CallSettlement) {
        for observer in observers.reversed() {
            observer.finish(settlement)
        }
    }

    private func failed(_ call: ModelCall, _ error: GatewayError, observers: [any CallObserver]) -> GatewayError {
        finish(observers, CallSettlement(call: call, outcome: .failed(error), elapsed: .now - call.context.started))
        return error
    }

    /// Records a call the front door refused before it reached the stages (bad input).
    package func refuse(_ call: ModelCall, _ error: GatewayError) {
        for stage in stages {
            stage.refused(call, error)
        }
    }

    /// A non-streamed chat answer.
    package func chat(_ call: ModelCall) async throws(GatewayError) -> ChatAnswer {
        var call = call
        var observers: [any CallObserver] = []
        do throws(GatewayError) {
            let (notes, own) = try await prepare(&call, observers: &observers)
            let answer: ChatAnswer
            if let own {
                answer = ChatAnswer(
                    response: own.response, servedBy: own.servedBy, usage: own.usage, usageEstimated: false, cost: own.cost, notes: notes
                )
            } else {
                guard let request = call.request.chat else { throw GatewayError(.internalError, "Not a chat request.") }
                let result = try await gateway.chat(request, requestID: call.context.requestID, logger: call.context.logger)
                answer = ChatAnswer(
                    response: result.response, servedBy: result.servedBy, usage: result.usage, usageEstimated: result.usageEstimated,
                    cost: gateway.cost(of: result.servedBy, usage: result.usage), notes: notes
                )
            }
            var settlement = CallSettlement(
                call: call, outcome: .served, servedBy: answer.servedBy, response: answer.response, usage: answer.usage,
                usageEstimated: answer.usageEstimated, cost: answer.cost, elapsed: .now - call.context.started
            )
            settlement.notes = notes
            finish(observers, settlement)
            return answer
        } catch {
            throw failed(call, error, observers: observers)
        }
    }

    /// A streamed chat answer: the stream is open (its first chunk in) when this returns.
    package func stream(_ call: ModelCall) async throws(GatewayError) -> CallStream {
        var call = call
        call.stream = true
        var observers: [any CallObserver] = []
        do throws(GatewayError) {
            let (notes, own) = try await prepare(&call, observers: &observers)
            guard let request = call.request.chat else { throw GatewayError(.internalError, "Not a chat request.") }
            let wantsUsage = request.streamOptions?.includeUsage == true
            if let own {
                let cost = own.cost
                let settler = StreamSettler(
                    call: call, request: request, observers: observers, servedBy: own.servedBy, notes: notes, price: { _ in cost }
                )
                return CallStream(
                    source: ChatStream.replaying(own.response.streamChunks(usage: own.usage), delay: own.replayDelay), servedBy: own.servedBy,
                    notes: notes, clientWantsUsage: wantsUsage, settler: settler
                )
            }
            let result = try await gateway.streamChat(request, requestID: call.context.requestID, logger: call.context.logger)
            let servedBy = result.servedBy
            let settler = StreamSettler(
                call: call, request: request, observers: observers, servedBy: servedBy, notes: notes,
                price: { [gateway] usage in gateway.cost(of: servedBy, usage: usage) }
            )
            return CallStream(source: result.stream, servedBy: servedBy, notes: notes, clientWantsUsage: wantsUsage, settler: settler)
        } catch {
            throw failed(call, error, observers: observers)
        }
    }

    package func embeddings(_ call: ModelCall) async throws(GatewayError) -> EmbeddingsAnswer {
        var call = call
        var observers: [any CallObserver] = []
        do throws(GatewayError) {
            let (notes, _) = try await prepare(&call, observers: &observers)
            guard case .embeddings(let request) = call.request else { throw GatewayError(.internalError, "Not an embeddings request.") }
            let result = try await gateway.embeddings(request, requestID: call.context.requestID, logger: call.context.logger)
            let usage = Usage(promptTokens: result.response.usage?.promptTokens ?? request.input.estimatedTokens, completionTokens: 0)
            let cost = gateway.cost(of: result.servedBy, usage: usage)
            finish(observers, CallSettlement(
                call: call, outcome: .served, servedBy: result.servedBy, usage: usage, usageEstimated: result.response.usage == nil,
                cost: cost, elapsed: .now - call.context.started
            ))
            return EmbeddingsAnswer(response: result.response, servedBy: result.servedBy, cost: cost, notes: notes)
        } catch {
            throw failed(call, error, observers: observers)
        }
    }

    /// Counts a chat request's prompt tokens: with the provider when it can, else estimated.
    package func countTokens(_ call: ModelCall) async throws(GatewayError) -> TokenCountAnswer {
        var call = call
        var observers: [any CallObserver] = []
        do throws(GatewayError) {
            let (notes, _) = try await prepare(&call, observers: &observers)
            guard case .countTokens(let request) = call.request else { throw GatewayError(.internalError, "Not a token count.") }
            let count = try await gateway.countTokens(request, requestID: call.context.requestID, logger: call.context.logger)
            finish(observers, CallSettlement(
                call: call, outcome: .served, servedBy: count.servedBy, elapsed: .now - call.context.started
            ))
            return TokenCountAnswer(inputTokens: count.tokens, estimated: count.estimated, servedBy: count.servedBy, notes: notes)
        } catch {
            throw failed(call, error, observers: observers)
        }
    }
}
