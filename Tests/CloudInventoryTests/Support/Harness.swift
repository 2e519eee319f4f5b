import Foundation
import Testing

/// Paths and processes shared by the tests.
enum Harness {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let support = repoRoot.appendingPathComponent("Tests/Support")

    /// The venv python `make test` sets up, else whatever `python3` is on PATH.
    static var python: String {
        ProcessInfo.processInfo.environment["CLOUD_INVENTORY_PYTHON"] ?? "/usr/bin/env"
    }

    static func pythonArguments(_ args: [String]) -> [String] {
        ProcessInfo.processInfo.environment["CLOUD_INVENTORY_PYTHON"] == nil ? ["python3"] + args : args
    }

    /// The `inventory-poller` binary SwiftPM built next to the test bundle.
    static var pollerBinary: String {
        if let explicit = ProcessInfo.processInfo.environment["INVENTORY_POLLER_BIN"] { return explicit }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("inventory-poller").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return repoRoot.appendingPathComponent(".build/debug/inventory-poller").path
    }

    static func temporaryDirectory() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("inventory-poller-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The bare environment a child process gets: nothing of the test runner's AWS settings leaks in.
    static func baseEnvironment() -> [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        var env: [String: String] = [:]
        for key in ["PATH", "HOME", "LANG", "TMPDIR"] { env[key] = inherited[key] }
        // libmongoc's load-time counters use /dev/shm/mongoc-<pid>; a file left by an earlier
        // process with the same pid makes it print an unstamped warning before main runs.
        env["MONGOC_DISABLE_SHM"] = "1"
        return env
    }
}

struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
    /// Every non-empty stdout line.
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

/// Runs a program to completion, collecting both streams. A run that outlives `timeout` is
/// killed and reported as such, so a hang fails the test instead of stalling the suite.
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String],
                stdin: Data? = nil, timeout: TimeInterval = 300) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = environment
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try? input.fileHandleForWriting.close()

    let output = OutputCollector(out, err)
    let killer = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    process.waitUntilExit()
    killer.cancel()
    let (stdout, stderr) = output.collected()
    return ProcessResult(status: process.terminationStatus,
                         stdout: String(decoding: stdout, as: UTF8.self),
                         stderr: String(decoding: stderr, as: UTF8.self))
}

/// Reads a child's stdout and stderr while it runs. Once it has exited, EOF is awaited only
/// for a grace period: a child spawned at the same moment (a test server) may have inherited
/// the pipes' write ends, since Foundation's spawn does not close them, and EOF would then
/// wait for that server to exit. Everything the exited child wrote is already in the pipe.
final class OutputCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var data = [Data(), Data()]
    private let group = DispatchGroup()

    init(_ out: Pipe, _ err: Pipe) {
        for (i, pipe) in [out, err].enumerated() {
            group.enter()
            DispatchQueue.global().async {
                let handle = pipe.fileHandleForReading
                while let chunk = try? handle.read(upToCount: 1 << 16), !chunk.isEmpty {
                    self.lock.withLock { self.data[i].append(chunk) }
                }
                self.group.leave()
            }
        }
    }

    /// Call after the child has exited.
    func collected(grace: TimeInterval = 10) -> (stdout: Data, stderr: Data) {
        _ = group.wait(timeout: .now() + grace)
        return lock.withLock { (data[0], data[1]) }
    }
}

/// A process started in the background; `finish()` waits for it and collects its output.
final class RunningProcess: @unchecked Sendable {
    let process = Process()
    private let out = Pipe(), err = Pipe()
    private var output: OutputCollector?

    init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        output = OutputCollector(out, err)
    }

    var pid: Int32 { process.processIdentifier }

    func finish(timeout: TimeInterval = 120) -> ProcessResult {
        let killer = DispatchWorkItem { [process] in if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
        process.waitUntilExit()
        killer.cancel()
        let (stdout, stderr) = output?.collected() ?? (Data(), Data())
        return ProcessResult(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                             stderr: String(decoding: stderr, as: UTF8.self))
    }
}

/// The run summary: the last stderr line (`<UTC time> {...}`), as JSON.
func summary(of result: ProcessResult) -> [String: Any]? {
    guard let line = result.stderr.split(separator: "\n").last(where: { $0.contains("Z {\"event\":\"summary\"") }),
          let json = line.firstIndex(of: "{") else { return nil }
    return (try? parseJSON(String(line[json...]))) as? [String: Any]
}

/// Runs a script from Tests/Support; `environment` (else the harness's own) is passed on to
/// any program the script starts.
func runPython(_ script: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil) throws -> ProcessResult {
    var env = environment ?? Harness.baseEnvironment()
    env["PYTHONIOENCODING"] = "utf-8"
    return try runProcess(Harness.python, Harness.pythonArguments([Harness.support.appendingPathComponent(script).path] + arguments),
                          environment: env, stdin: stdin)
}

func parseJSON(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}

/// Blocks this thread. Tests that watch another process use it instead of `Task.sleep`: an
/// await can be starved for seconds when the other tests hold every cooperative thread.
func pause(_ seconds: Double) {
    usleep(UInt32(seconds * 1_000_000))
}
