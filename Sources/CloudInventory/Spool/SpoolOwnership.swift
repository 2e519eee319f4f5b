import AWSCore
import Glibc
import Foundation

/// The spool belongs to the service (issue 23): a root run's files go to the directory's owner
/// (`DirectoryOwner`, applied where each file is created). What waits in the spool, and what
/// of it this user cannot read: a file another user left unreadable (root's manual run before
/// files were handed over, or another account) is never replayed by the service, so it must
/// fail the run, `--check` and the metrics, not be skipped in silence.
extension Spool {
    /// Creates the spool directory if it is missing. Created by root inside a directory
    /// another user owns (`/var/lib/inventory-poller`), it gets that owner, as files do.
    func makeDirectory() throws {
        var info = stat()
        if unsafe stat(directory.path, &info) == 0 { return }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let owner = DirectoryOwner.adopting(file: directory.path) {
            _ = unsafe chown(directory.path, owner.uid, owner.gid)
        }
    }

    /// A file that waits in the spool but cannot be opened by this user.
    public struct UnreadableFile: Sendable, CustomStringConvertible {
        public let path: String
        /// nil when even its owner cannot be found (it went away meanwhile).
        public let owner: uid_t?
        public let reason: String

        /// `/var/lib/…/x.ndjson (owner root: Permission denied)`.
        public var description: String {
            "\(path) (owner \(owner.map(DirectoryOwner.name(of:)) ?? "unknown"): \(reason))"
        }
    }

    public struct Census: Sendable {
        /// Spooled polls waiting: complete files and `.tmp` files of runs that died.
        public var waiting = 0
        public var unreadable: [UnreadableFile] = []

        public init() {}

        /// One line for the run's end and `--check`: every file (up to three named) and its
        /// owner, and what to do.
        public func problem(user: String) -> String? {
            guard let first = unreadable.first else { return nil }
            let named = unreadable.prefix(3).map(\.description).joined(separator: ", ")
            let more = unreadable.count > 3 ? " and \(unreadable.count - 3) more" : ""
            let what = unreadable.count == 1 ? "a spooled poll" : "\(unreadable.count) spooled polls"
            let directory = URL(fileURLWithPath: first.path).deletingLastPathComponent().path
            return "\(what) cannot be read by \(user) and will not be stored: \(named)\(more); "
                + "give the file(s) to the spool's owner (chown --reference=\(directory) FILE) or run once as the owner"
        }
    }

    /// Counts what waits, and opens each file as replay would to find the unreadable ones. A
    /// `.tmp` a live run is writing counts as waiting too (its poll waits, for that run).
    public func census() -> Census {
        var census = Census()
        for url in pending() + temporaries() {
            census.waiting += 1
            let fd = unsafe open(url.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            if fd >= 0 {
                Glibc.close(fd)
                continue
            }
            let code = errno
            guard code == EACCES || code == EPERM else { continue }
            var info = stat()
            let owner = unsafe lstat(url.path, &info) == 0 ? info.st_uid : nil
            census.unreadable.append(UnreadableFile(path: url.path, owner: owner, reason: errnoDescription(code)))
        }
        return census
    }
}
