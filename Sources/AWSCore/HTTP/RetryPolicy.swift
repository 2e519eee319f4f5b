import Foundation
import Synchronization

/// The AWS SDKs' retry modes: a few attempts, exponential backoff with full jitter, capped,
/// so a throttled fleet backs off instead of hammering the API in lockstep. `adaptive` adds
/// the SDKs' client-side rate limiting: one token bucket for the whole run, shared by every
/// worker (the policy is copied, the limiter is not), off until the first throttle and then
/// sending at a rate that drops on each throttle and climbs back on success.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int = 3
    public var baseDelay: Duration = .milliseconds(100)
    public var maxDelay: Duration = .seconds(20)
    public var mode: RetryMode = .standard
    /// Present in `adaptive` mode only.
    public let rateLimiter: AdaptiveRateLimiter?

    public init(maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(20), mode: RetryMode = .standard) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.mode = mode
        self.rateLimiter = mode == .adaptive ? AdaptiveRateLimiter() : nil
    }

    /// The sleep before retry number `attempt` (1 for the first retry): uniform in
    /// `[0, min(maxDelay, base * 2^attempt)]`.
    public func delay(beforeRetry attempt: Int) -> Duration {
        let ceiling = min(maxDelay / .seconds(1), baseDelay / .seconds(1) * pow(2, Double(attempt)))
        return .nanoseconds(Int64(Double.random(in: 0...ceiling) * 1e9))
    }
}

/// botocore's `ClientRateLimiter`, simplified to what a poll needs: a token bucket that is
/// enabled by the first throttling response, whose fill rate is cut by `beta` on each
/// throttle (never below `minimumRate`) and raised again, step by step, after successes.
public final class AdaptiveRateLimiter: Sendable {
    private struct State {
        var enabled = false
        var rate: Double = 0
        var tokens: Double = 0
        var last = ContinuousClock.now
        var sentThisSecond = 0
        var secondStarted = ContinuousClock.now
        var measuredRate: Double = 0
    }

    public static let beta = 0.7
    public static let minimumRate = 0.5
    private let state = Mutex(State())
    /// How many sends had to wait for a token: the limiter's visible effect (logged, tested).
    private let waits = Atomic<Int>(0)

    public init() {}

    public var waitCount: Int { waits.load(ordering: .relaxed) }
    public var isEnabled: Bool { state.withLock { $0.enabled } }

    /// Waits for a send token when the limiter is on. True when the send had to wait (a
    /// stop request cuts the wait short; the caller's next cancellation check ends the call).
    @discardableResult
    public func acquire(cancellation: CancellationFlag) -> Bool {
        var waited = false
        while true {
            let wait: Double = state.withLock { s in
                let now = ContinuousClock.now
                if now - s.secondStarted >= .seconds(1) {
                    s.measuredRate = Double(s.sentThisSecond) / ((now - s.secondStarted) / .seconds(1))
                    s.sentThisSecond = 0
                    s.secondStarted = now
                }
                guard s.enabled else {
                    s.sentThisSecond += 1
                    return 0
                }
                s.tokens = min(max(1, s.rate), s.tokens + (now - s.last) / .seconds(1) * s.rate)
                s.last = now
                if s.tokens >= 1 {
                    s.tokens -= 1
                    s.sentThisSecond += 1
                    return 0
                }
                return (1 - s.tokens) / s.rate
            }
            if wait == 0 { return waited }
            if !waited {
                waited = true
                waits.add(1, ordering: .relaxed)
            }
            if !cancellation.sleep(for: .seconds(wait)) { return true }
        }
    }

    /// A response arrived: throttled ones cut the rate, others raise it toward where it was.
    public func record(throttled: Bool) {
        state.withLock { s in
            if throttled {
                let base = s.enabled ? s.rate : max(s.measuredRate, Double(s.sentThisSecond), 2)
                s.rate = max(Self.minimumRate, base * Self.beta)
                if !s.enabled {
                    s.enabled = true
                    s.tokens = 0
                    s.last = ContinuousClock.now
                }
            } else if s.enabled {
                s.rate = min(s.rate + 0.5, 1000)
            }
        }
    }
}
