/// What the gateway knows of each target's health: in-flight calls, latency, errors, its
/// circuit breaker and 429 cooldown. ``HealthBoard`` keeps it per replica; the scale-out issue
/// may share it behind the same protocol.
package protocol TargetHealth: Sendable {
    /// Takes an in-flight slot on the target if its breaker, cooldown and concurrency bound allow.
    func admit(_ id: TargetID, maxConcurrent: Int?, now: ContinuousClock.Instant) -> HealthBoard.Admission
    /// Whether the target would be tried now (for ordering; takes nothing).
    func isAvailable(_ id: TargetID, now: ContinuousClock.Instant) -> Bool
    /// Ends a call: releases its slot and records the outcome; returns the breaker's new state if it changed.
    @discardableResult
    func finish(
        _ id: TargetID, success: Bool, latency: Duration, error: String?, cooldown: Duration?, now: ContinuousClock.Instant
    ) -> CircuitBreaker.State?
    /// Ends a call that has no verdict (the client went away): releases the slot only.
    func abandon(_ id: TargetID, probe: Bool)
    func snapshot(_ id: TargetID) -> TargetStats
    /// Every target with a record (configured ones first).
    func allTargets() -> [TargetID]
}

extension HealthBoard: TargetHealth {}
