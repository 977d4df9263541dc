import Synchronization

/// Settles one upstream call on the health board exactly once: success, failure, or abandoned.
final class CallLease: Sendable {
    let board: any TargetHealth
    let target: TargetID
    let probe: Bool
    let started: ContinuousClock.Instant
    private let settled = Atomic<Bool>(false)
    /// Called once when the call settles, with its outcome (for metrics).
    private let onSettle: @Sendable (CallOutcome) -> Void

    enum CallOutcome: Sendable {
        case success
        case failure(UpstreamError)
        case abandoned
    }

    init(board: any TargetHealth, target: TargetID, probe: Bool, onSettle: @escaping @Sendable (CallOutcome) -> Void) {
        self.board = board
        self.target = target
        self.probe = probe
        self.started = .now
        self.onSettle = onSettle
    }

    private func claim() -> Bool {
        settled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    func succeed(latency: Duration? = nil) {
        guard claim() else { return }
        board.finish(target, success: true, latency: latency ?? (.now - started), error: nil, cooldown: nil, now: .now)
        onSettle(.success)
    }

    /// Records a failure; client errors (a 400 the provider rightly refused) count as healthy.
    func fail(_ error: UpstreamError, cooldown: Duration?) {
        guard claim() else { return }
        let healthy: Bool
        switch error.kind {
        case .status(let status): healthy = status >= 400 && status < 500 && ![401, 403, 408, 429].contains(status)
        case .unsupported: healthy = true
        default: healthy = false
        }
        board.finish(
            target,
            success: healthy,
            latency: .now - started,
            error: error.gatewayError.message,
            cooldown: cooldown,
            now: .now
        )
        onSettle(.failure(error))
    }

    func abandon() {
        guard claim() else { return }
        board.abandon(target, probe: probe)
        onSettle(.abandoned)
    }

    deinit {
        abandon()
    }
}
