/// When and how long to wait before another attempt: exponential backoff with full jitter.
package struct RetryPolicy: Sendable, Hashable {
    /// Extra attempts on the same target.
    package var retries: Int
    package var baseDelay: Duration
    package var maxDelay: Duration
    /// A `Retry-After` longer than this is not waited for: the next target is tried instead.
    package var maxRetryAfter: Duration

    package init(
        retries: Int = 0,
        baseDelay: Duration = .milliseconds(100),
        maxDelay: Duration = .seconds(5),
        maxRetryAfter: Duration = .seconds(10)
    ) {
        self.retries = retries
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
    }

    /// The wait before retry number `retry` (1-based), or `nil` when the provider asked for
    /// longer than ``maxRetryAfter`` and the attempt should move on instead.
    package func delay<Generator: RandomNumberGenerator>(
        beforeRetry retry: Int,
        retryAfter: Duration?,
        using generator: inout Generator
    ) -> Duration? {
        if let retryAfter {
            guard retryAfter <= maxRetryAfter else { return nil }
        }
        let exponent = min(max(0, retry - 1), 20)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        let ceilingNanoseconds = max(0, ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000)
        let jittered = Duration.nanoseconds(ceilingNanoseconds == 0 ? 0 : Int64.random(in: 0...ceilingNanoseconds, using: &generator))
        return max(jittered, retryAfter ?? .zero)
    }
}
