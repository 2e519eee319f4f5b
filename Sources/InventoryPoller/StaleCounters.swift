import Foundation
import Glibc

/// libmongoc (Debian builds it to initialise itself when the library loads, before `main`)
/// keeps its performance counters in `/dev/shm/mongoc-<pid>` and removes the file at exit. A
/// run killed with SIGKILL leaves its file behind; a later process that gets the same pid
/// then finds it, and libmongoc prints "Falling back to malloc for counters" on stderr
/// before any handler of ours exists. So each run removes the files of processes that are
/// gone (its own user's only), and the next run with a recycled pid starts clean.
enum StaleCounters {
    static let directory = "/dev/shm"

    static func removeDead() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let uid = getuid()
        for name in names where name.hasPrefix("mongoc-") {
            guard let pid = pid_t(name.dropFirst("mongoc-".count)), pid > 0, pid != getpid() else { continue }
            var info = stat()
            let path = "\(directory)/\(name)"
            guard unsafe lstat(path, &info) == 0, info.st_uid == uid, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { unsafe unlink(path) }
        }
    }
}
