#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// Starts a child the way a shell starts a command, and gives it nothing else of ours.
///
/// - Its stdin, stdout and stderr are the descriptors given (or ours), and every other
///   descriptor is closed in it: no socket, lock or pipe end that some library opened
///   without close-on-exec, and none that another thread created a moment before.
/// - Its signal mask is empty and every signal has its default action. A worker thread
///   blocks most signals and the poller ignores SIGPIPE; a child would otherwise inherit
///   both, and could not be stopped with SIGTERM.
/// - A name without a slash is looked up on `PATH`, as `Popen` and the shell do.
///
/// The one way this package's code (and its tests) start a program.
enum Spawn {
    struct Failure: Error, Sendable, CustomStringConvertible {
        /// The `errno` of the call that failed.
        let code: Int32
        let call: String

        var description: String { "\(call): \(errnoDescription(code))" }
    }

    /// A pipe whose ends are close-on-exec from the start, so no child spawned by another
    /// thread meanwhile can inherit one.
    static func pipe() throws(Failure) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard unsafe pipe2(&fds, O_CLOEXEC) == 0 else { throw Failure(code: errno, call: "pipe2") }
        return (fds[0], fds[1])
    }

    /// Starts `arguments[0]` with `arguments`. `streams` are the descriptors that become the
    /// child's 0, 1 and 2 (nil: ours); `newProcessGroup` puts it in a group of its own.
    static func run(_ arguments: [String], environment: [String: String], streams: [Int32?],
                    newProcessGroup: Bool = false) throws(Failure) -> pid_t {
        var actions = unsafe posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        unsafe posix_spawn_file_actions_init(&actions)
        unsafe posix_spawnattr_init(&attributes)
        defer {
            unsafe posix_spawn_file_actions_destroy(&actions)
            unsafe posix_spawnattr_destroy(&attributes)
        }
        for (target, source) in streams.prefix(3).enumerated() {
            guard let source else { continue }
            // A closed handle's -1 would leave the child with ours, silently.
            guard source >= 0 else { throw Failure(code: EBADF, call: "stream \(target)") }
            try unsafe check(posix_spawn_file_actions_adddup2(&actions, source, Int32(target)), "posix_spawn_file_actions_adddup2")
        }
        try unsafe check(posix_spawn_file_actions_addclosefrom_np(&actions, 3), "posix_spawn_file_actions_addclosefrom_np")
        try check(setSignals(&attributes, newProcessGroup: newProcessGroup), "posix_spawnattr")
        let argv = unsafe arguments.map { unsafe strdup($0) } + [nil]
        let envp = unsafe environment.map { unsafe strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for unsafe p in unsafe argv + envp { unsafe free(p) } }
        var pid: pid_t = 0
        let rc = unsafe posix_spawnp(&pid, arguments.first ?? "", &actions, &attributes, argv, envp)
        guard rc == 0 else { throw Failure(code: rc, call: "cannot start \(arguments.first?.prefix(200) ?? "")") }
        return pid
    }

    /// An empty mask, every signal at its default action, and maybe a process group of its
    /// own. Returns the first failing call's error number, or 0.
    private static func setSignals(_ attributes: inout posix_spawnattr_t, newProcessGroup: Bool) -> Int32 {
        var empty = sigset_t(), every = sigset_t()
        unsafe sigemptyset(&empty)
        unsafe sigfillset(&every)
        unsafe sigdelset(&every, SIGKILL)
        unsafe sigdelset(&every, SIGSTOP)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        var rc = unsafe posix_spawnattr_setsigmask(&attributes, &empty)
        if rc == 0 { rc = unsafe posix_spawnattr_setsigdefault(&attributes, &every) }
        if rc == 0, newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            rc = unsafe posix_spawnattr_setpgroup(&attributes, 0)
        }
        return unsafe rc == 0 ? posix_spawnattr_setflags(&attributes, Int16(flags)) : rc
    }

    private static func check(_ rc: Int32, _ call: String) throws(Failure) {
        guard rc == 0 else { throw Failure(code: rc, call: call) }
    }
}
