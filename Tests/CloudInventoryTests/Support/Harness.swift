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
