import Glibc

/// A write to a file descriptor that failed for good (`EPIPE`, `ENOSPC`, `EIO`, ...).
struct WriteFailure: Error, Sendable, CustomStringConvertible {
    let errno: Int32
    var description: String { String(cString: strerror(errno)) }
}

/// The one checked write loop of the program, used for stdout and stderr alike: it retries
/// short writes and `EINTR`, and reports anything else. SIGPIPE is ignored (see `main`), so a
/// closed pipe arrives here as `EPIPE` instead of killing the run.
func writeAll(fd: Int32, bytes: UnsafeRawBufferPointer) throws(WriteFailure) {
    var offset = 0
    while offset < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            throw WriteFailure(errno: errno)
        }
        if n == 0 { throw WriteFailure(errno: EIO) }
        offset += n
    }
}

func writeAll(fd: Int32, bytes: [UInt8]) throws(WriteFailure) {
    let failure: WriteFailure? = bytes.withUnsafeBytes { raw in
        do throws(WriteFailure) {
            try writeAll(fd: fd, bytes: raw)
            return nil
        } catch {
            return error
        }
    }
    if let failure { throw failure }
}
