import Foundation
import Synchronization

/// A server from `Tests/Support` running for a test: the one way tests start one.
///
/// Its ready signal is the port file it writes atomically once listening (`serving.announce`
/// in `Tests/Support/serving.py`): the launcher passes `--port-file PATH`, waits for the file
/// (bounded, and failing early if the server exits), and keeps the write end of the server's
/// stdin. The server stops when that pipe closes or on SIGTERM, so it dies with this object,
/// with `stop()`, or with the test process.
final class PythonServer: @unchecked Sendable {
    let script: String
    /// The file the server announced itself in.
    let portFile: String
    /// What the server wrote to its port file: a port number, or a JSON document.
    let announcement: String
    private let child: TestChild
    private let stopped = Mutex(false)

    /// Starts `script` with `arguments` plus `--port-file PATH` and waits up to `timeout`
    /// for it to announce itself. `output`: where its stdout goes (inherited by default).
    init(_ script: String, _ arguments: [String] = [], timeout: TimeInterval = 30, output: FileHandle? = nil) throws {
        self.script = script
        portFile = Harness.temporaryDirectory().appendingPathComponent("port").path
        var env = Harness.baseEnvironment()
        env["PYTHONIOENCODING"] = "utf-8"
        child = try TestChild(Harness.python, Harness.pythonArguments([Harness.support.appendingPathComponent(script).path]
                                                                      + arguments + ["--port-file", portFile]),
                              environment: env, stdin: .pipe, stdout: output.map { .file($0) } ?? .inherit)
        let deadline = Date().addingTimeInterval(timeout)
        while !FileManager.default.fileExists(atPath: portFile) && child.isRunning && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard let text = try? String(contentsOfFile: portFile, encoding: .utf8) else {
            let why = child.isRunning ? "did not announce a port within \(Int(timeout)) s" : "exited \(child.finish(timeout: 0))"
            announcement = ""
            stop()
            throw HarnessError("\(script) did not start: it \(why)")
        }
        announcement = text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// As `init`, with the bounded wait on a plain thread: a long start (the AWS world) must
    /// not hold one of the few cooperative threads the other tests run on.
    static func start(_ script: String, _ arguments: [String] = [], timeout: TimeInterval = 30,
                      output: FileHandle? = nil) async throws -> PythonServer {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try PythonServer(script, arguments, timeout: timeout, output: output) })
            }
        }
    }

    var pid: Int32 { child.pid }

    /// Sends `signal` to the server unless it has ended (`TestChild.signal`).
    func signal(_ signal: Int32) { child.signal(signal) }

    /// The announced port (for servers that announce a bare port number).
    var port: Int {
        get throws {
            guard let port = Int(announcement) else { throw HarnessError("\(script) announced \(announcement), not a port") }
            return port
        }
    }

    /// The announced JSON document (for servers that announce one).
    func document() throws -> [String: Any] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(announcement.utf8)) as? [String: Any] else {
            throw HarnessError("\(script) announced \(announcement), not a JSON object")
        }
        return object
    }

    /// Closes the server's stdin, then stops it: SIGTERM, and SIGKILL if it is still there
    /// 10 s later (`TestChild.stop`).
    func stop() {
        guard stopped.withLock({ done in defer { done = true }; return !done }) else { return }
        try? child.input?.close()
        child.stop()
    }

    deinit {
        stop()
    }
}

/// A value made once per test process from a server that then lives as long as the process
/// (the AWS world, the TLS front): the first caller starts it, the others await the same start.
actor ProcessWideServer<Value: Sendable> {
    private let start: @Sendable () async throws -> (PythonServer, Value)
    private var task: Task<Value, Error>?
    private var server: PythonServer?

    init(_ start: @escaping @Sendable () async throws -> (PythonServer, Value)) {
        self.start = start
    }

    func value() async throws -> Value {
        if let task { return try await task.value }
        let task = Task { () throws -> Value in
            let (server, value) = try await start()
            self.server = server
            return value
        }
        self.task = task
        return try await task.value
    }
}
