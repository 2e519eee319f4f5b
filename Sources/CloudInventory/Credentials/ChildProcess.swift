#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Runs one command without a shell (`posix_spawnp`, `PATH` lookup as Python's `Popen`),
/// collecting stdout up to a cap and counting stderr without keeping it. The wait has no
/// timeout but watches the run's stop flag: a stop sends the child SIGTERM, reaps it, and
/// throws `cancelled`.
enum ChildProcess {
    struct Result {
        var status: Int32
        var signal: Int32?
        var stdout: [UInt8]
        var stderrBytes: Int

        var statusText: String {
            signal.map { "was killed by signal \($0)" } ?? "exited with status \(status)"
        }
    }

    static func run(_ arguments: [String], environment: [String: String], cancellation: CancellationFlag,
                    maxOutput: Int, what: String) throws(CredentialError) -> Result {
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard makePipe(&out) else { throw .unavailable("\(what): cannot create a pipe (errno \(errno))") }
        guard makePipe(&err) else {
            close(out[0]); close(out[1])
            throw .unavailable("\(what): cannot create a pipe (errno \(errno))")
        }
        let pid: pid_t
        do {
            pid = try spawn(arguments, environment: environment, stdout: out[1], stderr: err[1], what: what)
        } catch {
            for fd in out + err { close(fd) }
            throw error
        }
        close(out[1]); close(err[1])
        defer { close(out[0]); close(err[0]) }
        var result = Result(status: 0, signal: nil, stdout: [], stderrBytes: 0)
        let finished = collect(stdout: out[0], stderr: err[0], into: &result, cancellation: cancellation, maxOutput: maxOutput)
        let status = reap(pid, terminate: !finished, cancellation: cancellation)
        if cancellation.isCancelled { throw .cancelled("\(what) interrupted: the run is stopping (the process was sent SIGTERM)") }
        if result.stdout.count > maxOutput { throw .unavailable("\(what) printed more than \(maxOutput) bytes") }
        if status & 0x7f != 0 { result.signal = status & 0x7f } else { result.status = (status >> 8) & 0xff }
        return result
    }

    /// A pipe whose ends are not inherited by other children (close-on-exec).
    private static func makePipe(_ fds: inout [Int32]) -> Bool {
        guard pipe(&fds) == 0 else { return false }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    /// Waits for the child; a stop request (or `terminate`) sends it SIGTERM, and SIGKILL if
    /// it is still there two seconds later. Returns the wait status.
    private static func reap(_ pid: pid_t, terminate: Bool, cancellation: CancellationFlag) -> Int32 {
        var status: Int32 = 0
        var terminatedAt: ContinuousClock.Instant?
        if terminate { kill(pid, SIGTERM); terminatedAt = .now }
        while true {
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid || (r < 0 && errno != EINTR) { return status }
            if terminatedAt == nil, cancellation.isCancelled { kill(pid, SIGTERM); terminatedAt = .now }
            if let t = terminatedAt, ContinuousClock.now - t > .seconds(2) {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return status
            }
            usleep(10_000)
        }
    }

    private static func spawn(_ arguments: [String], environment: [String: String], stdout: Int32, stderr: Int32,
                              what: String) throws(CredentialError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, nil, argv, envp)
        guard rc == 0 else {
            throw .unavailable("\(what): cannot start \(arguments[0].prefix(200)): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// Reads both pipes to their end; false when stopped early (a stop request, or stdout
    /// past the cap).
    private static func collect(stdout: Int32, stderr: Int32, into result: inout Result, cancellation: CancellationFlag,
                                maxOutput: Int) -> Bool {
        var fds = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0), pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while fds.contains(where: { $0.fd >= 0 }) {
            if cancellation.isCancelled { return false }
            let ready = poll(&fds, nfds_t(fds.count), 100)
            if ready < 0 && errno != EINTR { return false }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { fds[i].fd = -1; continue }
                if i == 0 {
                    result.stdout += buffer[0..<n]
                    if result.stdout.count > maxOutput { return false }
                } else {
                    result.stderrBytes += n
                }
            }
        }
        return true
    }
}
