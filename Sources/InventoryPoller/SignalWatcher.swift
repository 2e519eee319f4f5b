import CloudInventory
import Foundation
import Glibc
import Logging

/// SIGTERM, SIGINT and SIGHUP (an operator's SSH session dropping) stop the run gracefully in every phase (lock wait, credentials, replay,
/// polling, storage): the shared `CancellationFlag` is set, which every wait and transfer
/// observes, complete slices are stored or spooled, and the run exits 143, 130 or 129.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var signal: Int32?

    init(cancellation: CancellationFlag, logger: Logger) {
        // A parent may start us with these blocked (the mask is inherited across exec), and
        // a blocked signal would stay pending forever. Unblocked here, before any thread
        // exists to inherit the mask.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGTERM)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGHUP)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            Glibc.signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                if self.signal == nil { self.signal = sig }
                self.lock.unlock()
                logger.warning("signal received: finishing what is complete", metadata: ["signal": "\(sig)"])
                cancellation.cancel()
            }
            source.resume()
            sources.append(source)
        }
    }

    var received: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return signal
    }
}
