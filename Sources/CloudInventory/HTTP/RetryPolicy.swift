import Foundation

/// The AWS SDKs' "standard" retry mode: a few attempts, exponential backoff with full jitter,
/// capped, so a throttled fleet backs off instead of hammering the API in lockstep.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int = 3
    public var baseDelay: Duration = .milliseconds(100)
    public var maxDelay: Duration = .seconds(20)

    public init(maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(20)) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The sleep before retry number `attempt` (1 for the first retry): uniform in
    /// `[0, min(maxDelay, base * 2^attempt)]`.
    public func delay(beforeRetry attempt: Int) -> Duration {
        let ceiling = min(maxDelay / .seconds(1), baseDelay / .seconds(1) * pow(2, Double(attempt)))
        return .nanoseconds(Int64(Double.random(in: 0...ceiling) * 1e9))
    }
}
