import AWSCore
import CloudInventory
import Foundation
import Glibc
import Logging
import Synchronization

/// What the C signal handler touches. A handler can capture nothing, so these are globals,
/// set before any handler is installed and never changed after. Everything the handler does
/// with them is async-signal-safe: lock-free atomic stores and a `write(2)`.
private enum SignalTarget {
    /// The first signal received (0: none yet).
    static let received = Atomic<Int32>(0)
    /// The run's flag, cancelled by the handler itself, so that a stop never depends on
    /// another thread being scheduled, alive or unblocked.
    nonisolated(unsafe) static var cancellation: Unmanaged<CancellationFlag>?
    /// The write end of the self-pipe that wakes the thread which logs the signal.
    nonisolated(unsafe) static var pipe: Int32 = -1
}

/// SIGTERM, SIGINT and SIGHUP (an operator's SSH session dropping) stop the run gracefully
/// in every phase (lock wait, credentials, replay, polling, storage): the shared
/// `CancellationFlag` is set, which every wait and transfer observes, complete slices are
/// stored or spooled, and the run exits 143, 130 or 129.
///
/// The handler itself records the signal and sets the flag; a thread woken through a
/// self-pipe only writes the warning line. The handlers are installed with `sigaction`
/// before the signals are unblocked and before `init` returns: a parent may start us with
/// them blocked (a libdispatch worker thread blocks nearly every signal, and the mask is
/// inherited across exec), and a signal already pending must meet our handler, not the
/// default action. The signals are unblocked on the calling thread and on the logging thread,
/// which lives for the process: a signal is taken even if every other thread blocks it.
final class SignalWatcher: Sendable {
    static let signals = [SIGTERM, SIGINT, SIGHUP]

    init(cancellation: CancellationFlag, logger: Logger) {
        // Every global the handler reads is initialized here, outside any handler.
        _ = SignalTarget.received.load(ordering: .relaxed)
        unsafe SignalTarget.pipe = -1
        unsafe SignalTarget.cancellation = unsafe Unmanaged.passRetained(cancellation)  // lives for the process
        var ends: [Int32] = [-1, -1]
        let piped = unsafe pipe(&ends) == 0
        if piped {
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
            unsafe SignalTarget.pipe = ends[1]
        } else {
            logger.error("no pipe for the signal watcher; a signal stops the run without its warning line")
        }
        for sig in Self.signals {
            var action = sigaction()
            unsafe action.__sigaction_handler.sa_handler = { number in
                let saved = errno  // the interrupted code may be about to read it
                // Recorded before the flag is set (`cancel` releases), so whoever sees the flag
                // sees the signal too.
                _ = SignalTarget.received.compareExchange(expected: 0, desired: number, ordering: .sequentiallyConsistent)
                unsafe SignalTarget.cancellation?._withUnsafeGuaranteedRef { $0.cancel() }
                if unsafe SignalTarget.pipe >= 0 {
                    var byte = UInt8(truncatingIfNeeded: number)
                    _ = unsafe write(SignalTarget.pipe, &byte, 1)
                }
                errno = saved
            }
            unsafe sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            unsafe sigaction(sig, &action, nil)
        }
        // Once the handlers are in place: the logging thread unblocks the signals for itself,
        // so some thread always takes them, whatever masks the others carry.
        if piped { Self.startLogging(from: ends[0], logger: logger) }
        Self.unblockSignals()
    }

    private static func unblockSignals() {
        var unblock = sigset_t()
        unsafe sigemptyset(&unblock)
        for sig in signals { unsafe sigaddset(&unblock, sig) }
        unsafe pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// One warning line for the first signal. The stop does not wait for it: a run that ends
    /// at once may exit before the line is written; its final line names the signal anyway.
    private static func startLogging(from readEnd: Int32, logger: Logger) {
        Thread.detachNewThread {
            unblockSignals()
            var byte: UInt8 = 0
            var logged = false
            while true {
                let n = unsafe read(readEnd, &byte, 1)
                if n < 0, errno == EINTR { continue }
                guard n == 1 else { return }
                guard !logged else { continue }
                logged = true
                let signal = SignalTarget.received.load(ordering: .sequentiallyConsistent)
                logger.warning("signal received: finishing what is complete", metadata: ["signal": "\(signal)"])
            }
        }
    }

    var received: Int32? {
        let signal = SignalTarget.received.load(ordering: .sequentiallyConsistent)
        return signal == 0 ? nil : signal
    }
}
