#if canImport(Glibc)
import Glibc
#endif

/// Reads a small file that someone else controls (a token file, the SSO cache, a shared
/// config file for completion) without ever blocking on it.
///
/// `open(2)` of a FIFO for reading blocks until a writer comes, inside the kernel, where no
/// signal handler of ours runs: SIGTERM was logged and the run stayed there until SIGKILL.
/// So: `open` with `O_NONBLOCK` (returns at once for a FIFO, a device, a socket), `fstat` the
/// descriptor, and take only a regular file (symlinks followed, as the SDKs do), at most
/// `maximumBytes`. The checks are on the descriptor read, so a file swapped in between cannot
/// slip past them.
package enum SafeFile {
    package struct Error: Swift.Error, CustomStringConvertible, Sendable {
        enum Code: Sendable { case missing, unreadable, notRegular, tooLarge }
        let code: Code
        let path: String
        let detail: String

        package var isMissing: Bool { code == .missing }

        package var description: String {
            switch code {
            case .missing: return "\(path) does not exist"
            case .unreadable: return "\(path) cannot be read (\(detail))"
            case .notRegular: return "\(path) is not a regular file (\(detail)); it is not read"
            case .tooLarge: return "\(path) is larger than \(detail) bytes"
            }
        }
    }

    package static func read(_ path: String, maximumBytes: Int) throws(Error) -> [UInt8] {
        let fd = unsafe open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw Error(code: code == ENOENT ? .missing : .unreadable, path: path, detail: errnoDescription(code))
        }
        defer { close(fd) }
        var info = stat()
        guard unsafe fstat(fd, &info) == 0 else { throw Error(code: .unreadable, path: path, detail: errnoDescription()) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw Error(code: .notRegular, path: path, detail: kind(info.st_mode))
        }
        guard Int(info.st_size) <= maximumBytes else { throw Error(code: .tooLarge, path: path, detail: "\(maximumBytes)") }
        var bytes = [UInt8](repeating: 0, count: maximumBytes + 1)
        var total = 0
        while total <= maximumBytes {
            let n = unsafe bytes.withUnsafeMutableBytes { unsafe Glibc.read(fd, $0.baseAddress! + total, maximumBytes + 1 - total) }
            if n < 0 {
                if errno == EINTR { continue }
                throw Error(code: .unreadable, path: path, detail: errnoDescription())
            }
            if n == 0 { break }
            total += n
        }
        // The file grew after `fstat`: still capped.
        guard total <= maximumBytes else { throw Error(code: .tooLarge, path: path, detail: "\(maximumBytes)") }
        return Array(bytes[0..<total])
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "not a plain file"
        }
    }
}
