#if canImport(Glibc)
import Glibc
#endif
import CSpawn

/// Starts a child the way a shell starts a command, and gives it nothing else of ours.
///
/// - Its stdin, stdout and stderr are the descriptors given (or ours), and every other
///   descriptor is closed in it: no socket, lock or pipe end that some library opened
///   without close-on-exec, and none that another thread created a moment before.
/// - Its signal mask is empty and SIGPIPE, SIGINT, SIGTERM, SIGHUP and SIGQUIT have their
///   default actions. A worker thread blocks most signals and the poller ignores SIGPIPE;
///   a child would otherwise inherit both, and could not be stopped with SIGTERM.
/// - A name without a slash is looked up on `PATH`, as `Popen` and the shell do.
///
/// The one way this package's code (and its tests) start a program.
enum Spawn {
    struct Failure: Error, Sendable, CustomStringConvertible {
        /// The `errno` of the call that failed.
        let code: Int32
        let call: String

        var description: String { "\(call): \(String(cString: strerror(code)))" }
    }

    /// The signals a child starts with at their default action.
    static let defaultedSignals = [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// A pipe whose ends are close-on-exec from the start, so no child spawned by another
    /// thread meanwhile can inherit one.
    static func pipe() throws(Failure) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe2(&fds, O_CLOEXEC) == 0 else { throw Failure(code: errno, call: "pipe2") }
        return (fds[0], fds[1])
    }

    /// Starts `arguments[0]` with `arguments`. `streams` are the descriptors that become the
    /// child's 0, 1 and 2 (nil: ours); `newProcessGroup` puts it in a group of its own.
    static func run(_ arguments: [String], environment: [String: String], streams: [Int32?],
                    newProcessGroup: Bool = false) throws(Failure) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        for (target, source) in streams.prefix(3).enumerated() {
            if let source { posix_spawn_file_actions_adddup2(&actions, source, Int32(target)) }
        }
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        var empty = sigset_t(), defaulted = sigset_t()
        sigemptyset(&empty)
        sigemptyset(&defaulted)
        for signal in defaultedSignals { sigaddset(&defaulted, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaulted)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments.first ?? "", &actions, &attributes, argv, envp)
        guard rc == 0 else { throw Failure(code: rc, call: "cannot start \(arguments.first?.prefix(200) ?? "")") }
        return pid
    }

}
