#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Runs one command without a shell (`Spawn`: `PATH` lookup as Python's `Popen`, its three
/// streams and nothing else of the poller's, default signal handling), collecting stdout up to a cap and counting stderr without keeping it. The wait has no
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
        let out: (read: Int32, write: Int32), err: (read: Int32, write: Int32)
        do {
            out = try Spawn.pipe()
            do { err = try Spawn.pipe() } catch { close(out.read); close(out.write); throw error }
        } catch {
            throw .unavailable("\(what): cannot create a pipe (\(error))")
        }
        let pid: pid_t
        do {
            pid = try Spawn.run(arguments, environment: environment, streams: [nil, out.write, err.write])
        } catch {
            for fd in [out.read, out.write, err.read, err.write] { close(fd) }
            throw .unavailable("\(what): \(error)")
        }
        close(out.write); close(err.write)
        defer { close(out.read); close(err.read) }
        var result = Result(status: 0, signal: nil, stdout: [], stderrBytes: 0)
        let finished = collect(stdout: out.read, stderr: err.read, into: &result, cancellation: cancellation, maxOutput: maxOutput)
        let status = reap(pid, terminate: !finished, cancellation: cancellation)
        if cancellation.isCancelled { throw .cancelled("\(what) interrupted: the run is stopping (the process was sent SIGTERM)") }
        if result.stdout.count > maxOutput { throw .unavailable("\(what) printed more than \(maxOutput) bytes") }
        if status & 0x7f != 0 { result.signal = status & 0x7f } else { result.status = (status >> 8) & 0xff }
        return result
    }

    /// Waits for the child; a stop request (or `terminate`) sends it SIGTERM, and SIGKILL if
    /// it is still there two seconds later. Returns the wait status.
    private static func reap(_ pid: pid_t, terminate: Bool, cancellation: CancellationFlag) -> Int32 {
        var status: Int32 = 0
        var terminatedAt: ContinuousClock.Instant?
        if terminate { kill(pid, SIGTERM); terminatedAt = .now }
        while true {
            let r = unsafe waitpid(pid, &status, WNOHANG)
            if r == pid || (r < 0 && errno != EINTR) { return status }
            if terminatedAt == nil, cancellation.isCancelled { kill(pid, SIGTERM); terminatedAt = .now }
            if let t = terminatedAt, ContinuousClock.now - t > .seconds(2) {
                kill(pid, SIGKILL)
                while unsafe waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                return status
            }
            usleep(10_000)
        }
    }

    /// Reads both pipes to their end; false when stopped early (a stop request, or stdout
    /// past the cap).
    private static func collect(stdout: Int32, stderr: Int32, into result: inout Result, cancellation: CancellationFlag,
                                maxOutput: Int) -> Bool {
        var fds = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0), pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while fds.contains(where: { $0.fd >= 0 }) {
            if cancellation.isCancelled { return false }
            let ready = unsafe poll(&fds, nfds_t(fds.count), 100)
            if ready < 0 && errno != EINTR { return false }
            for i in fds.indices where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = unsafe read(fds[i].fd, &buffer, buffer.count)
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
