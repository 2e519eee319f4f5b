import AWSCore
import CloudInventory
import Foundation
import Glibc
import Synchronization

/// The operator's progress line: when stderr is a terminal and the run has lasted a second,
/// one line there says how far the poll is (slices done of planned, instances so far,
/// retries, elapsed). It is redrawn in place a few times a second and erased at the end;
/// `StandardError` clears it before any log line and draws it again after, so the two never
/// mix. Cron never sees it: its stderr is a file or a pipe, not a terminal.
final class ProgressLine: Sendable {
    /// Quiet for this long first: a quick run never flickers a line it erases at once.
    static let delay: Duration = .seconds(1)
    static let interval: Duration = .milliseconds(200)

    private let statistics: RunStatistics
    private let started: ContinuousClock.Instant
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    private init(statistics: RunStatistics, started: ContinuousClock.Instant) {
        self.statistics = statistics
        self.started = started
    }

    /// A running progress line, or nil when stderr is not a terminal (or a dumb one), or when
    /// stdout writes to that same terminal: results stream there unannounced and would land
    /// in the middle of the line (and they show the run's progress themselves).
    static func start(statistics: RunStatistics, since started: ContinuousClock.Instant,
                      environment: AWSCore.Environment) -> ProgressLine? {
        guard isatty(2) == 1, environment["TERM"] != "dumb", !sameFile(1, 2) else { return nil }
        let line = ProgressLine(statistics: statistics, started: started)
        let thread = Thread { line.loop() }
        thread.stackSize = 1 << 18
        thread.start()
        return line
    }

    private static func sameFile(_ a: Int32, _ b: Int32) -> Bool {
        var sa = stat(), sb = stat()
        guard unsafe fstat(a, &sa) == 0, unsafe fstat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && sa.st_rdev == sb.st_rdev
    }

    /// Stops redrawing and erases the line. Call once, before the run's last lines.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
        StandardError.clearProgress()
    }

    private func loop() {
        defer { finished.signal() }
        while !stopping.load(ordering: .relaxed) {
            let elapsed = ContinuousClock.now - started
            if elapsed >= Self.delay { StandardError.showProgress(Self.text(statistics.snapshot, elapsed: elapsed)) }
            Thread.sleep(forTimeInterval: Self.interval / .seconds(1))
        }
    }

    /// `3/12 slices, 4512 instances, 0 retries, 7s`: ASCII only, so its width is its length.
    static func text(_ s: RunStatistics.Snapshot, elapsed: Duration) -> String {
        let seconds = Int(elapsed / .seconds(1))
        let time = seconds >= 60 ? "\(seconds / 60)m\(String(format: "%02d", seconds % 60))s" : "\(seconds)s"
        let slices = s.slicesPlanned == 0 ? "planning" : "\(s.slicesDone)/\(s.slicesPlanned) slices"
        return "inventory-poller: \(slices), \(s.instances) instances, \(s.retries) retries, \(time)"
    }
}
