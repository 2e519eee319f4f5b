import AWSCore
import CloudInventory
import Foundation
import Glibc
import Logging
import Synchronization

/// SIGINT, SIGTERM and SIGHUP for the history subcommands, through the poll's own
/// `SignalWatcher`: the run ends with one line (`stopped by SIGINT ...`) and 130, 143 or 129.
///
/// The cursor loop sees the `CancellationFlag` at the next document (`DocumentOutput.write`)
/// and the run closes its cursor and client as usual. A run blocked inside libmongoc (a
/// server that does not answer: server selection, a stalled `getMore`) or in a write to a
/// full pipe never reaches that check; those calls take no flag. A subcommand only reads, so
/// there is nothing to keep: after `grace` the watcher thread ends the process itself, with
/// the same line and status. `finish` and the watcher each claim the end, so exactly one
/// of them writes the final line.
final class HistoryStop: Sendable {
    /// Raised in the cursor loop once a signal has come.
    struct Stopped: Error, CustomStringConvertible {
        var description: String { "stopped by a signal" }
    }

    let cancellation = CancellationFlag()
    private let signals: SignalWatcher
    private let ended = Mutex(false)
    /// How long a run blocked in libmongoc or on stdout gets to notice the flag by itself.
    static let grace = 1.0

    init(logger: Logger) {
        signals = SignalWatcher(cancellation: cancellation, logger: logger)
        Thread.detachNewThread { [self] in watch() }
    }

    private func watch() {
        while !cancellation.isCancelled { Thread.sleep(forTimeInterval: 0.1) }
        Thread.sleep(forTimeInterval: Self.grace)
        ended.withLock { done in
            guard !done, let signal = signals.received else { return }
            done = true
            _exit(Self.report(signal).rawValue)
        }
    }

    /// The end of the run: `error`'s status (success without one), unless a signal came,
    /// which wins as it does for the poll. One line on stderr for any failure.
    func finish(_ error: (any Error)?) -> ExitStatus {
        ended.withLock { done in
            done = true
            if let signal = signals.received { return Self.report(signal) }
            guard let error else { return .success }
            // `changes | head -1`: the reader has what it wanted. A question answered ends
            // quietly (the poll, whose output is a record, keeps its 74).
            if let failure = error as? WriteFailure, failure.errno == EPIPE { return .success }
            StandardError.writeFailure("\(error)")
            return ExitStatus(for: error)
        }
    }

    private static func report(_ signal: Int32) -> ExitStatus {
        StandardError.writeFailure("stopped by \(ExitStatus.name(of: signal)); what was printed is incomplete")
        return ExitStatus(signal: signal)
    }
}
