import Foundation
import Synchronization

/// The run-wide shared state every AWS call takes part in: statistics for the summary, the
/// retry quota, the per-slice request budgets, the stop flag, and the signing clock's
/// correction. Each is a small `Sendable` reference type, so copies of the context share them.
public struct RunContext: Sendable {
    public var statistics: RunStatistics
    public var quota: RetryQuota
    public var budgets: RequestBudgets
    public var cancellation: CancellationFlag
    /// The offset between the host clock and AWS's, learned from a clock-skew error once and
    /// used by every later request of the run.
    public var clock: SigningClock

    public init(statistics: RunStatistics = RunStatistics(), quota: RetryQuota = RetryQuota(),
                budgets: RequestBudgets = RequestBudgets(), cancellation: CancellationFlag = CancellationFlag(),
                clock: SigningClock = SigningClock()) {
        self.statistics = statistics
        self.quota = quota
        self.budgets = budgets
        self.cancellation = cancellation
        self.clock = clock
    }
}

/// Set once when the run is asked to stop (SIGTERM, SIGINT). Checked before every request
/// and by libcurl's progress callback, so in-flight transfers are abandoned within a moment.
public final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    /// Releasing and acquiring: what was written before `cancel` (the signal that caused it)
    /// is seen by whoever sees the flag set. Async-signal-safe (a lock-free store).
    public func cancel() { flag.store(true, ordering: .releasing) }
    public var isCancelled: Bool { flag.load(ordering: .acquiring) }

    /// Sleeps for `duration` in short steps, returning early (false) once cancelled, so a
    /// retry backoff, an IMDS retry or a request budget's wait never holds a stopping run.
    /// The one cancellable sleep of the library.
    @discardableResult
    public func sleep(for duration: Duration) -> Bool {
        let deadline = ContinuousClock.now + duration
        while !isCancelled {
            let left = deadline - ContinuousClock.now
            if left <= .zero { return true }
            Thread.sleep(forTimeInterval: min(left, .milliseconds(20)) / .seconds(1))
        }
        return false
    }
}

/// Counters for the run summary and the metrics file. Shared by every worker.
public final class RunStatistics: Sendable {
    public struct Snapshot: Sendable {
        public var requests = 0
        public var retries = 0
        public var throttles = 0
        public var bytesReceived = 0
        /// New TCP connections opened, as libcurl reports them for each request.
        public var connectionsOpened = 0
        public var throttlesBySlice: [String: Int] = [:]
        /// For the progress line: slices planned and finished (either way), instances received.
        public var slicesPlanned = 0
        public var slicesDone = 0
        public var instances = 0
        /// `--instance-ids` EC2 did not know, by the slice that asked (`InvalidInstanceID.NotFound`).
        public var unknownInstanceIds: [SliceID: [String]] = [:]
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    /// One HTTP request (IMDS's too), fed by `HTTPClient`, the only place requests are counted.
    func transfer(bytes: Int, connections: Int) {
        state.withLock { $0.requests += 1; $0.bytesReceived += bytes; $0.connectionsOpened += connections }
    }
    func retry() { state.withLock { $0.retries += 1 } }
    package func planned(slices: Int) { state.withLock { $0.slicesPlanned = slices } }
    package func sliceDone() { state.withLock { $0.slicesDone += 1 } }
    package func received(instances: Int) { state.withLock { $0.instances += instances } }
    package func unknown(instanceIds: [String], slice: SliceID) { state.withLock { $0.unknownInstanceIds[slice, default: []] += instanceIds } }
    func throttle(slice: String) { state.withLock { $0.throttles += 1; $0.throttlesBySlice[slice, default: 0] += 1 } }
}

/// The SDKs' retry quota: retries spend tokens, successes earn a little back, so a failing
/// endpoint cannot multiply the load by the attempt count for long.
public final class RetryQuota: Sendable {
    public static let initialTokens = 500
    static let retryCost = 5
    static let timeoutCost = 10
    private let tokens = Mutex(RetryQuota.initialTokens)

    public init() {}

    /// Takes the cost of one retry, or says no when the quota is spent.
    func acquire(timeout: Bool) -> Int? {
        let cost = timeout ? Self.timeoutCost : Self.retryCost
        return tokens.withLock { t in
            guard t >= cost else { return nil }
            t -= cost
            return cost
        }
    }

    /// A success gives back what its retries took, or one token when it needed none.
    func release(_ cost: Int?) {
        tokens.withLock { $0 = min(Self.initialTokens, $0 + (cost ?? 1)) }
    }
}

/// A client-side request budget for one (account, region): a token bucket kept below EC2's
/// own, so a run over many accounts and regions paces itself instead of being throttled.
public final class TokenBucket: Sendable {
    private struct State {
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    public let rate: Double
    public let burst: Double
    private let state: Mutex<State>

    public init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
        state = Mutex(State(tokens: burst, last: .now))
    }

    /// Blocks until a token is available (or the run is cancelled).
    func acquire(cancellation: CancellationFlag) {
        while true {
            let wait: Double = state.withLock { s in
                let now = ContinuousClock.now
                let elapsed = now - s.last
                s.tokens = min(burst, s.tokens + rate * (elapsed / .seconds(1)))
                s.last = now
                if s.tokens >= 1 {
                    s.tokens -= 1
                    return 0
                }
                return (1 - s.tokens) / rate
            }
            if wait == 0 || !cancellation.sleep(for: .seconds(wait)) { return }
        }
    }
}

/// One budget per key, created on first use: EC2's per (account, region); STS's and
/// Organizations' per calling account and region, each at its own service's rate, so
/// ListAccounts and a thousand AssumeRole calls never queue behind one slice's 10/s, nor
/// one caller-account slice behind them.
public final class RequestBudgets: Sendable {
    /// A token bucket's size: `rate` tokens a second, at most `burst` saved up.
    public struct Rate: Sendable, Equatable {
        public var rate: Double
        public var burst: Double

        public init(rate: Double, burst: Double) {
            self.rate = rate
            self.burst = burst
        }
    }

    /// The services with a budget of their own, below their published limits:
    /// - `sts`: AWS STS allows 600 requests a second per account and Region, all STS
    ///   operations together (IAM User Guide, "IAM and AWS STS quotas", request quotas;
    ///   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html; the
    ///   same 600 met in practice: awslabs/mountpoint-s3#1358). The caller's account shares
    ///   that with whatever else it runs, so a poll takes a sixth.
    /// - `organizations`: AWS publishes no request rate for Organizations ("Quotas for AWS
    ///   Organizations" lists none; https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html,
    ///   asked for in awsdocs/aws-organizations-docs#39) and answers TooManyRequestsException
    ///   to bursts; ListAccounts is one chain of pages, one at a time, so 10 a second (200
    ///   accounts a second) only caps what a fast endpoint would allow.
    public static let serviceDefaults: [String: Rate] = [
        "sts": Rate(rate: 100, burst: 100),
        "organizations": Rate(rate: 10, burst: 10),
    ]

    public let rate: Double
    public let burst: Double
    public let services: [String: Rate]
    private let buckets = Mutex<[String: TokenBucket]>([:])

    /// Defaults well under EC2's non-mutating API bucket (100 burst, 20/s refill).
    public init(rate: Double = 10, burst: Double = 20, services: [String: Rate] = RequestBudgets.serviceDefaults) {
        self.rate = rate
        self.burst = burst
        self.services = services
    }

    func bucket(_ key: String) -> TokenBucket {
        bucket(key, rate: Rate(rate: rate, burst: burst))
    }

    /// The budget an `operation` (`sts:AssumeRole`) for `slice` (`account/region`) spends:
    /// its service's own when it has one, else the slice's.
    func bucket(operation: String, slice: String) -> TokenBucket {
        let service = operation.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        guard let own = services[service] else { return bucket(slice) }
        return bucket("\(service) \(slice)", rate: own)
    }

    private func bucket(_ key: String, rate: Rate) -> TokenBucket {
        buckets.withLock { b in
            if let existing = b[key] { return existing }
            let new = TokenBucket(rate: rate.rate, burst: rate.burst)
            b[key] = new
            return new
        }
    }
}
