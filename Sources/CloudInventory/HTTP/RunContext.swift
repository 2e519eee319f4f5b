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
