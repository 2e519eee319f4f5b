import Foundation

/// Runs `body` on a thread with a 1 MiB stack, the size of the poller's worker threads, and
/// waits for it: a parser that recursed on its input would die here with SIGSEGV.
func onWorkerSizedStack(_ body: @escaping @Sendable () -> Void) {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        body()
        done.signal()
    }
    thread.stackSize = 1 << 20
    thread.start()
    done.wait()
}
