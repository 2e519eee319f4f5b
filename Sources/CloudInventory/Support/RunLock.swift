#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The overlap lock for cron: `flock` on a file that holds the owner's PID. The kernel drops
/// the lock when the process dies, however it dies, so a killed run never wedges the next one.
public final class RunLock {
    public struct Busy: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let holder: String?
        public var description: String {
            "another inventory-poller run holds \(path)" + (holder.map { " (pid \($0))" } ?? "")
        }
    }

    /// The lock file could not be opened or locked at all (not merely busy).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public let path: String
    private var fd: Int32 = -1

    public init(path: String) {
        self.path = path
    }

    /// `/run/lock/inventory-poller.lock` when that directory is writable (root, or the
    /// deployed service user), else `$XDG_RUNTIME_DIR/inventory-poller.lock`, else `/tmp`.
    public static func defaultPath(environment: Environment) -> String {
        if access("/run/lock", W_OK) == 0 { return "/run/lock/inventory-poller.lock" }
        if let runtime = environment["XDG_RUNTIME_DIR"], access(runtime, W_OK) == 0 { return runtime + "/inventory-poller.lock" }
        return "/tmp/inventory-poller-\(getuid()).lock"
    }

    /// Takes the lock, waiting up to `wait` for a running holder to finish.
    public func acquire(wait: TimeInterval = 0) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw Failure(description: "cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        let deadline = Date().addingTimeInterval(wait)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw Failure(description: "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
            if Date() >= deadline {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                close(fd)
                fd = -1
                throw Busy(path: path, holder: holder?.isEmpty == false ? holder : nil)
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    public func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
