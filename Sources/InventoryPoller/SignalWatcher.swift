import CloudInventory
import Foundation
import Glibc
import Logging

/// The write end of the watcher's self-pipe. A C signal handler can capture nothing, so the
/// descriptor is a global, set before any handler is installed and never changed after.
nonisolated(unsafe) private var signalPipe: Int32 = -1

/// SIGTERM, SIGINT and SIGHUP (an operator's SSH session dropping) stop the run gracefully
/// in every phase (lock wait, credentials, replay, polling, storage): the shared
/// `CancellationFlag` is set, which every wait and transfer observes, complete slices are
/// stored or spooled, and the run exits 143, 130 or 129.
///
/// The handlers are installed with `sigaction` before `init` returns, so no signal is ever
/// lost to a window between "ignored" and "watched" (a dispatch signal source registers
/// asynchronously, and a SIGINT sent in that window vanished). The handler only writes the
/// signal's number into a pipe (async-signal-safe); a thread reads it and does the rest.
final class SignalWatcher: @unchecked Sendable {
    static let signals = [SIGTERM, SIGINT, SIGHUP]
    private let lock = NSLock()
    private var signal: Int32?

    init(cancellation: CancellationFlag, logger: Logger) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            logger.error("no pipe for the signal watcher; signals end the run at once")
            return
        }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        signalPipe = ends[1]
        // A parent may start us with these blocked (the mask is inherited across exec), and
        // a blocked signal would stay pending forever.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for sig in Self.signals { sigaddset(&unblock, sig) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for sig in Self.signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipe, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(sig, &action, nil)
        }
        let readEnd = ends[0]
        Thread.detachNewThread { [self] in
            var byte: UInt8 = 0
            while true {
                let n = read(readEnd, &byte, 1)
                if n < 0, errno == EINTR { continue }
                guard n == 1 else { return }
                let sig = Int32(byte)
                lock.withLock { if signal == nil { signal = sig } }
                logger.warning("signal received: finishing what is complete", metadata: ["signal": "\(sig)"])
                cancellation.cancel()
            }
        }
    }

    var received: Int32? {
        lock.withLock { signal }
    }
}
