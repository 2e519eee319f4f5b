#if canImport(Glibc)
@testable import AWSCore
import Glibc
#endif
@testable import CloudInventory
import Foundation
import Synchronization

/// A program a test starts: the one place tests spawn, wait for and stop a child.
///
/// Not Foundation's `Process`: on Linux it learns of an exit through a socket the child
/// inherits, created without close-on-exec, so a child spawned at that moment by another
/// test can inherit it too; the first child's exit then goes unseen until the second one
/// ends, and `waitUntilExit()` never returns when that is a server waiting on the first
/// test. Here the child is started by the package's own `Spawn` (its three streams and no
/// other descriptor, an empty signal mask where test threads block nearly every signal),
/// and a thread of its own waits for it with `waitpid`. Every wait is bounded: a child
/// that outlives its time gets SIGTERM, then SIGKILL.
final class TestChild: @unchecked Sendable {
    /// Where the child's stdin comes from.
    enum Input {
        case null
        /// A pipe whose write end is `input`.
        case pipe
    }

    /// Where the child's stdout or stderr goes.
    enum Output {
        case inherit
        /// A pipe read into `collected()`.
        case capture
        case file(FileHandle)
    }

    /// The status reported for a child whose exit was never seen, even after SIGKILL.
    static let neverExited: Int32 = -1
    /// Between SIGTERM and SIGKILL, and after SIGKILL.
    static let killGrace: TimeInterval = 10

    let pid: pid_t
    /// The write end of the child's stdin, with `Input.pipe`.
    let input: FileHandle?
    private let output: OutputCollector
    private let exitSignal = DispatchSemaphore(value: 0)
    /// The status once the exit has been seen; set by the waiting thread.
    private final class ExitStatus: Sendable {
        let value = Mutex<Int32?>(nil)
    }
    private let exitStatus = ExitStatus()

    /// A child that stops reading its stdin early must fail a write (EPIPE), not kill the
    /// test process with SIGPIPE. `Spawn` gives children the default action back.
    private static let pipeSignalIgnored: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    init(_ executable: String, _ arguments: [String], environment: [String: String],
         stdin: Input = .null, stdout: Output = .inherit, stderr: Output = .inherit) throws {
        Self.pipeSignalIgnored
        var streams = ChildStreams()
        defer { streams.closeChildEnds() }
        input = try streams.add(stdin)
        let captured = try [stdout, stderr].compactMap { try streams.add($0) }
        // Its own process group, as Foundation's `Process` did: the terminal's ^C stays ours.
        pid = try Spawn.run([executable] + arguments, environment: environment, streams: streams.streams, newProcessGroup: true)
        output = OutputCollector(captured)
        let thread = Thread { [pid, exitSignal, exitStatus] in
            // Learn of the exit without reaping: the pid stays ours until the status is stored
            // under the lock that every signal is sent under, so no signal can reach a reused pid.
            var info = unsafe siginfo_t()
            while unsafe waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
            exitStatus.value.withLock { stored in
                var status: Int32 = 0
                var reaped: pid_t = -1
                repeat { reaped = unsafe waitpid(pid, &status, 0) } while reaped < 0 && errno == EINTR
                // As Foundation's `terminationStatus`: the exit code, or the signal that ended it.
                stored = reaped != pid ? Self.neverExited : status & 0x7f != 0 ? status & 0x7f : (status >> 8) & 0xff
            }
            exitSignal.signal()
        }
        thread.stackSize = 1 << 16
        thread.start()
    }

    /// A child dropped while it runs is stopped: none outlives the test that started it.
    deinit {
        stop()
    }

    /// False once the exit has been seen.
    var isRunning: Bool { exitStatus.value.withLock { $0 } == nil }

    /// Sends `signal` to the child (`group`: to its whole process group) unless its exit has
    /// been seen; true when sent.
    @discardableResult
    func signal(_ signal: Int32, group: Bool = false) -> Bool {
        exitStatus.value.withLock { $0 == nil && kill(group ? -pid : pid, signal) == 0 }
    }

    /// Waits up to `timeout` for the exit; true once it has been seen.
    @discardableResult
    func wait(timeout: TimeInterval) -> Bool {
        if !isRunning { return true }
        guard exitSignal.wait(timeout: .now() + max(0, timeout)) == .success else { return false }
        exitSignal.signal()  // for any later wait
        return true
    }

    /// Waits up to `timeout`, then stops the child. Returns its exit code, the signal that
    /// ended it, or `neverExited`.
    @discardableResult
    func finish(timeout: TimeInterval) -> Int32 {
        if !wait(timeout: timeout) { stop() }
        return exitStatus.value.withLock { $0 } ?? Self.neverExited
    }

    /// SIGTERM to the child's process group (a shell pipeline, a server's helpers) now, SIGKILL
    /// if the child is still there `killGrace` later; waits (bounded) for the end.
    func stop() {
        guard signal(SIGTERM, group: true) else { return }
        guard !wait(timeout: Self.killGrace) else { return }
        signal(SIGKILL, group: true)
        wait(timeout: Self.killGrace)
    }

    /// What the captured streams gave, stdout first. Call once the child has ended.
    func collected(grace: TimeInterval = 10) -> [Data] { output.collected(grace: grace) }
}

/// The three descriptors a child gets, and the parent's ends of its pipes.
private struct ChildStreams {
    var streams: [Int32?] = []
    /// Descriptors the child gets and the parent closes once it is spawned.
    var childEnds: [Int32] = []

    func closeChildEnds() {
        for fd in childEnds { close(fd) }
    }

    /// Sets the child's stdin; returns the parent's write end for `.pipe`.
    mutating func add(_ input: TestChild.Input) throws -> FileHandle? {
        switch input {
        case .null:
            streams.append(try open("/dev/null", O_RDONLY))
            return nil
        case .pipe:
            return try pipe(childReads: true)
        }
    }

    /// Sets the child's stdout or stderr; returns the parent's read end for `.capture`.
    mutating func add(_ output: TestChild.Output) throws -> FileHandle? {
        switch output {
        case .inherit:
            streams.append(nil)
            return nil
        case .file(let handle):
            streams.append(handle.fileDescriptor)
            return nil
        case .capture:
            return try pipe(childReads: false)
        }
    }

    /// A pipe: the child's end becomes its next stream, the parent's end is returned.
    private mutating func pipe(childReads: Bool) throws -> FileHandle {
        let ends = try Spawn.pipe()
        let (child, parent) = childReads ? (ends.read, ends.write) : (ends.write, ends.read)
        childEnds.append(child)
        streams.append(child)
        return FileHandle(fileDescriptor: parent, closeOnDealloc: true)
    }

    private mutating func open(_ path: String, _ flags: Int32) throws -> Int32 {
        let fd = unsafe Glibc.open(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw HarnessError("open \(path): errno \(errno)") }
        childEnds.append(fd)
        return fd
    }
}

struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    /// Every non-empty stdout line.
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

/// Runs a program to completion, collecting both streams (stdout unless `stdout` is given).
/// A run that outlives `timeout` is stopped and reported as such (`TestChild.finish`), so a
/// hang fails the test instead of stalling the suite.
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String],
                stdin: Data? = nil, stdout: FileHandle? = nil, timeout: TimeInterval = 300) throws -> ProcessResult {
    let child = try TestChild(executable, arguments, environment: environment, stdin: stdin == nil ? .null : .pipe,
                              stdout: stdout.map { .file($0) } ?? .capture, stderr: .capture)
    if let stdin, let input = child.input {
        // On its own thread: a child that does not read must not block the wait below.
        DispatchQueue.global().async {
            try? input.write(contentsOf: stdin)
            try? input.close()
        }
    }
    let status = child.finish(timeout: timeout)
    let streams = child.collected()
    return ProcessResult(status: status, stdout: String(decoding: stdout == nil ? streams[0] : Data(), as: UTF8.self),
                         stderr: String(decoding: streams[streams.count - 1], as: UTF8.self))
}

/// Reads a child's pipes while it runs. Once it has exited, EOF is awaited only for a grace
/// period (a grandchild may still hold a write end); everything the child wrote is already
/// in the pipe.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data: [Data]
    private let group = DispatchGroup()

    init(_ handles: [FileHandle]) {
        data = Array(repeating: Data(), count: handles.count)
        for (i, handle) in handles.enumerated() {
            group.enter()
            DispatchQueue.global().async {
                // `read(2)`, not `FileHandle.read(upToCount:)`: that one waits for the full count
                // or EOF, and a chunk still short of it would be lost at the grace period's end.
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let n = unsafe read(handle.fileDescriptor, &buffer, buffer.count)
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    self.lock.withLock { self.data[i].append(contentsOf: buffer[0..<n]) }
                }
                self.group.leave()
            }
        }
    }

    /// Call after the child has exited: what each pipe gave, in the order passed to `init`.
    func collected(grace: TimeInterval = 10) -> [Data] {
        _ = group.wait(timeout: .now() + grace)
        return lock.withLock { data }
    }
}

/// A process started in the background; `finish()` waits for it and collects its output.
final class RunningProcess: @unchecked Sendable {
    private let child: TestChild

    init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        child = try TestChild(executable, arguments, environment: environment, stdout: .capture, stderr: .capture)
    }

    var pid: Int32 { child.pid }
    var isRunning: Bool { child.isRunning }

    /// Sends `signal` unless the exit has been seen (`TestChild.signal`).
    @discardableResult
    func signal(_ signal: Int32) -> Bool { child.signal(signal) }

    func finish(timeout: TimeInterval = 120) -> ProcessResult {
        let status = child.finish(timeout: timeout)
        let streams = child.collected()
        return ProcessResult(status: status, stdout: String(decoding: streams[0], as: UTF8.self),
                             stderr: String(decoding: streams[1], as: UTF8.self))
    }
}
