import AWSCore
import CloudInventory
import Foundation
import Glibc

/// The overlap lock for cron: `flock` on a file that holds the owner's PID. The kernel drops
/// the lock when the process dies, however it dies, so a killed run never wedges the next one.
///
/// A lock file someone else created (root's manual run leaves one owned by root, mode 0644)
/// cannot be opened for writing by the service user. `flock` works on a read-only descriptor
/// too, so the lock is then taken read-only, only without the PID written into it. One that
/// root creates in a directory another user owns is given to that user (`DirectoryOwner`).
final class RunLock {
    struct Busy: Error, Sendable, CustomStringConvertible {
        let path: String
        let holder: String?
        var description: String {
            "another inventory-poller run holds \(path)" + (holder.map { " (pid \($0))" } ?? "")
        }
    }

    /// The lock file could not be opened or locked at all (not merely busy).
    struct Failure: Error, Sendable, CustomStringConvertible {
        let description: String
    }

    /// The run was stopped (SIGTERM, SIGINT) while waiting for the lock.
    struct Cancelled: Error, Sendable, CustomStringConvertible {
        var description: String { "stopped while waiting for the lock" }
    }

    let path: String
    private var fd: Int32 = -1
    private var writable = false

    init(path: String) {
        self.path = path
    }

    /// `/run/lock/inventory-poller.lock` when that directory is writable (root, or the
    /// deployed service user), else `$XDG_RUNTIME_DIR/inventory-poller.lock`, else `/tmp`.
    static func defaultPath(environment: Environment) -> String {
        if unsafe access("/run/lock", W_OK) == 0 { return "/run/lock/inventory-poller.lock" }
        if let runtime = environment["XDG_RUNTIME_DIR"], unsafe access(runtime, W_OK) == 0 { return runtime + "/inventory-poller.lock" }
        return "/tmp/inventory-poller-\(getuid()).lock"
    }

    /// Takes the lock, waiting up to `wait` seconds for a running holder to finish, and
    /// giving up at once when `cancellation` is set.
    func acquire(wait: TimeInterval = 0, cancellation: CancellationFlag? = nil) throws {
        try open()
        let deadline = Date().addingTimeInterval(wait)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let reason = errnoDescription()
                closeDescriptor()
                throw Failure(description: "cannot lock \(path): \(reason)")
            }
            if cancellation?.isCancelled == true {
                closeDescriptor()
                throw Cancelled()
            }
            if Date() >= deadline {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                closeDescriptor()
                throw Busy(path: path, holder: holder?.isEmpty == false ? holder : nil)
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        guard writable else { return }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = unsafe pid.withCString { unsafe pwrite(fd, $0, strlen($0), 0) }
    }

    /// Read-write (creating it 0644) when possible, else read-only. Never through a symlink
    /// and never anything but a regular file: the lock lives in world-writable directories,
    /// where another user could plant a link to a file root's manual run would then truncate,
    /// or a FIFO that would block the open. The PID is written only into a file of our own
    /// with no other name (`writable`).
    private func open() throws {
        let flags = O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK
        fd = unsafe Glibc.open(path, O_RDWR | O_CREAT | O_EXCL | flags, 0o644)
        let created = fd >= 0
        if fd < 0, errno == EEXIST { fd = unsafe Glibc.open(path, O_RDWR | flags) }
        if fd < 0, errno == EACCES || errno == EPERM || errno == EROFS {
            fd = unsafe Glibc.open(path, O_RDONLY | flags)
        }
        guard fd >= 0 else {
            let reason = errno == ELOOP ? "it is a symbolic link" : errnoDescription()
            throw Failure(description: "cannot open lock file \(path): \(reason)")
        }
        var info = stat()
        guard unsafe fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            closeDescriptor()
            throw Failure(description: "cannot use lock file \(path): it is not a regular file")
        }
        writable = fcntl(fd, F_GETFL) & O_ACCMODE == O_RDWR && info.st_uid == geteuid() && info.st_nlink == 1
        // Created by root in a directory the service user owns: the service's file, as the
        // spool's are. Only a file this run created, never one found there.
        if created, let owner = DirectoryOwner.adopting(file: path) {
            do {
                try owner.apply(to: fd, path: path)
            } catch {
                closeDescriptor()
                throw Failure(description: error.description)
            }
        }
    }

    private func closeDescriptor() {
        Glibc.close(fd)
        fd = -1
    }

    func release() {
        guard fd >= 0 else { return }
        if writable { _ = ftruncate(fd, 0) }
        flock(fd, LOCK_UN)
        closeDescriptor()
    }

    /// Releases the lock if `release()` was forgotten, but a debug build stops there: the
    /// lock is let go explicitly, at a point the run chooses.
    deinit {
        assert(fd < 0, "RunLock deinitialized without release()")
        release()
    }
}
