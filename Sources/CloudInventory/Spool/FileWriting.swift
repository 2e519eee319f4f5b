import AWSCore
import Glibc

/// A write to a file descriptor that failed for good (`EPIPE`, `ENOSPC`, `EIO`, ...).
package struct WriteFailure: Error, Sendable, CustomStringConvertible {
    package let errno: Int32

    package init(errno: Int32) {
        self.errno = errno
    }

    package var description: String { errnoDescription(errno) }
}

/// The one checked write loop of the package, for stdout, stderr, the metrics file and the
/// spool alike: it retries short writes and `EINTR`, takes a write of zero bytes as `EIO`
/// (rather than spin on it), and reports anything else. The command ignores SIGPIPE, so a
/// closed pipe arrives here as `EPIPE` instead of killing the run.
package func writeAll(fd: Int32, bytes: UnsafeRawBufferPointer) throws(WriteFailure) {
    var offset = 0
    while offset < bytes.count {
        let n = unsafe Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw WriteFailure(errno: errno)
        }
        if n == 0 { throw WriteFailure(errno: EIO) }
        offset += n
    }
}

package func writeAll(fd: Int32, bytes: [UInt8]) throws(WriteFailure) {
    let failure: WriteFailure? = unsafe bytes.withUnsafeBytes { raw in
        do throws(WriteFailure) {
            try unsafe writeAll(fd: fd, bytes: raw)
            return nil
        } catch {
            return error
        }
    }
    if let failure { throw failure }
}
