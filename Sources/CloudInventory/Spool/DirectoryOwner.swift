import AWSCore
import Glibc

/// Who a file a root run creates should belong to. The service's directories (the spool, the
/// metrics file's directory) belong to the service user; an operator who runs the poller by
/// hand as root must not leave files there that the service cannot read (a 0600 root spool
/// file is never replayed by cron). So a file created by euid 0 in a directory that another
/// user owns is given that directory's owner and group, through its descriptor, before it
/// takes its final name: there is no moment where the committed file is root's.
public struct DirectoryOwner: Sendable, Equatable {
    public let uid: uid_t
    public let gid: gid_t

    /// Why a file could not be handed over, in one line.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The owner a file created in `directory` must get: nil unless this process runs as root
    /// and `directory` belongs to another user (then files stay as created).
    public static func adopting(directory: String) -> DirectoryOwner? {
        guard geteuid() == 0 else { return nil }
        var info = stat()
        guard unsafe stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid != 0 else { return nil }
        return DirectoryOwner(uid: info.st_uid, gid: info.st_gid)
    }

    /// The owner for a file created at `path`: that of the directory it sits in.
    public static func adopting(file path: String) -> DirectoryOwner? {
        adopting(directory: parent(of: path))
    }

    /// Gives the open file `fd` (named `path` in messages) to this owner.
    public func apply(to fd: Int32, path: String) throws(Failure) {
        guard fchown(fd, uid, gid) != 0 else { return }
        throw Failure(description: "cannot give \(path) to \(DirectoryOwner.name(of: uid)) (the owner of its directory): \(errnoDescription())")
    }

    /// The directory part of `path` (`.` for a bare name).
    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// A user's name for messages: from the password database, else `uid N`.
    public static func name(of uid: uid_t) -> String {
        var entry = unsafe passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        // The name points into `buffer`: read it while the buffer is in reach.
        let name = unsafe buffer.withUnsafeMutableBufferPointer { buf -> String? in
            guard unsafe getpwuid_r(uid, &entry, buf.baseAddress!, buf.count, &result) == 0, unsafe result != nil, let name = unsafe entry.pw_name else { return nil }
            return unsafe String(cString: name)
        }
        guard let name, !name.isEmpty else { return "uid \(uid)" }
        return name
    }
}
