#if canImport(Glibc)
@testable import AWSCore
import Glibc
#endif
@testable import CloudInventory
import Foundation
import Testing

/// The command at its edges: stdout that cannot be written, signals outside the poll proper,
/// a lock file made by another user, stderr an operator can trust, arguments checked early.
@Suite struct CLIEdgeTests {
    static let region = "eu-west-1"

    /// Runs the poller with stdout sent to `stdout` (a file handle), collecting stderr.
    func run(_ arguments: [String], stdout: FileHandle, environment: [String: String]) throws -> ProcessResult {
        try runProcess(Harness.pollerBinary, World.withLock(arguments), environment: environment, stdout: stdout)
    }

    /// Waits (bounded) until one of the process's descriptors satisfies `match`.
    func waitForDescriptor(of pid: Int32, _ match: (String) -> Bool) -> Bool {
        for _ in 0..<400 {
            let dir = "/proc/\(pid)/fd"
            let targets = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "\(dir)/\($0)")
            }
            if targets.contains(where: match) { return true }
            pause(0.05)
        }
        return false
    }

    // MARK: output failures

    @Test func aFullDiskOnStdoutIsExit74AndThePollIsStillStored() async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        let spool = Harness.temporaryDirectory()
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let result = try run(["--region", Self.region, "--format", "json"], stdout: full,
                             environment: world.storingEnvironment(mongo, spool: spool))
        #expect(result.status == 74, "\(result.stderr)")
        #expect(result.failureLines.contains { $0.contains("stdout could not be written") && $0.contains("No space left") })
        #expect(summary(of: result)?["exitCode"] as? Int == 74)
        let snap = try mongo.snapshot()
        #expect(snap.instances(in: Self.region).count == world.counts[Self.region])
        #expect(snap.polls.first?["Complete"] as? Bool == true, "an output failure fails no slice")
    }

    @Test func aPipeClosedEarlyIsExit74WithSummaryAndNoTemporarySpool() async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        let spool = Harness.temporaryDirectory()
        // `| head -2`: the reader goes away after two lines; the poller's own status is kept.
        let script = "\"$0\" \"$@\" | head -2 >/dev/null; exit ${PIPESTATUS[0]}"
        let result = try runProcess("/bin/bash", ["-c", script, Harness.pollerBinary] + World.withLock(["--region", "us-east-1", "--format", "ndjson", "--page-size", "5"]),
                                    environment: world.storingEnvironment(mongo, spool: spool))
        #expect(result.status == 74, "\(result.stderr)")
        #expect(result.failureLines.contains { $0.contains("Broken pipe") })
        #expect(summary(of: result) != nil)
        let left = try FileManager.default.contentsOfDirectory(atPath: spool.path)
        #expect(left.isEmpty, "stored, so nothing is spooled and no .tmp is left: \(left)")
        #expect(try mongo.snapshot().instances(in: "us-east-1").count == world.counts["us-east-1"])
    }

    // MARK: signals outside the poll proper

    /// A SIGKILLed run leaves libmongoc's `/dev/shm/mongoc-<pid>`; the next run removes the
    /// files of dead processes, so a recycled pid never makes libmongoc warn. (`--version`
    /// and `--help` skip that start-up; any command does it, even one that then fails.)
    @Test func libmongocCountersOfDeadProcessesAreRemoved() throws {
        let gone = try runProcess("/bin/sh", ["-c", "echo $$"], environment: [:], timeout: 10)
        let pid = try #require(Int32(gone.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let path = "/dev/shm/mongoc-\(pid)"
        try #require(FileManager.default.createFile(atPath: path, contents: Data(count: 64)))
        let result = try runProcess(Harness.pollerBinary, ["instances"], environment: [:], timeout: 30)
        #expect(result.status == 2, "no database settings: \(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// A parent on a libdispatch thread starts us with SIGTERM blocked; one sent before the
    /// watcher exists stays pending, and must meet the handler when it is unblocked, not the
    /// default action (which ended the run with no line and no summary).
    @Test func aSigtermPendingAtStartIs143WithItsLine() async throws {
        let world = try await World.shared()
        let result = try runPython("signal_first.py", [Harness.pollerBinary] + World.withLock(["--region", Self.region]),
                                   environment: world.pollerEnvironment())
        let reply = try #require(try parseJSON(result.stdout) as? [String: Any], "\(result.stderr)")
        #expect(reply["status"] as? Int == 143, "\(reply)")
        #expect((reply["stderr"] as? String)?.contains("stopped by SIGTERM") == true, "\(reply)")
    }

    @Test func sigtermDuringTheLockWaitIs143() async throws {
        let world = try await World.shared()
        let lock = Harness.temporaryDirectory().appendingPathComponent("poller.lock").path
        let fd = unsafe open(lock, O_RDWR | O_CREAT, 0o644)
        try #require(fd >= 0)
        defer { close(fd) }
        try #require(flock(fd, LOCK_EX) == 0)
        let waiting = try world.startPoll(["--region", Self.region, "--lock-file", lock, "--lock-wait", "600"])
        #expect(waitForDescriptor(of: waiting.pid) { $0 == lock }, "the run opened the lock file")
        waiting.signal(SIGTERM)
        let result = waiting.finish(timeout: 60)
        #expect(result.status == 143, "\(result.stderr)")
        #expect(result.failureLines.count == 1 && result.failureLines[0].contains("SIGTERM"), "\(result.stderr)")
    }

    @Test func sigintDuringTheCredentialFetchIs130() async throws {
        let world = try await World.shared()
        // Every token PUT stalls past the client's timeout: the run sits in the credential fetch.
        let stalled = try world.newIMDS(faults: ["stall_token_seconds": 3])
        let lock = Harness.temporaryDirectory().appendingPathComponent("poller.lock").path
        let running = try world.startPoll(["--region", Self.region, "--lock-file", lock], environment: world.pollerEnvironment(imds: stalled.url))
        // The PID is in the lock file just before the credential fetch begins (and the signal
        // handling is in place); the stalled IMDS then holds the run there for seconds.
        for _ in 0..<400 where ((try? String(contentsOfFile: lock, encoding: .utf8)) ?? "").isEmpty {
            pause(0.05)
        }
        running.signal(SIGINT)
        let result = running.finish(timeout: 60)
        #expect(result.status == 130, "\(result.stderr)")
        #expect(!result.stderr.contains("credentials unavailable"), "the stop is reported, not its consequence")
        #expect(result.failureLines.last?.contains("SIGINT") == true, "\(result.stderr)")
    }

    // MARK: the lock

    @Test func aLockFileLeftByRootDoesNotBlockTheServiceUser() async throws {
        let world = try await World.shared()
        try #require(getuid() == 0, "needs root to make a lock file another user cannot write")
        let dir = Harness.temporaryDirectory()
        unsafe chmod(dir.path, 0o755)
        let lock = dir.appendingPathComponent("poller.lock").path
        try #require(FileManager.default.createFile(atPath: lock, contents: Data("1\n".utf8), attributes: [.posixPermissions: 0o644]))
        let result = try runProcess("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Harness.pollerBinary,
                                                         "--region", Self.region, "--lock-file", lock], environment: world.pollerEnvironment())
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("lock"), "\(result.stderr)")
        // And a lock file this program creates is readable by others.
        let fresh = dir.appendingPathComponent("fresh.lock").path
        #expect(try world.poll(["--region", Self.region, "--lock-file", fresh]).status == 0)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: fresh)[.posixPermissions] as? Int)
        #expect(mode & 0o044 == 0o044)
    }

    // MARK: stderr

    @Test func everyStderrLineIsStampedAndServerTextCannotForgeOne() async throws {
        let world = try await World.shared()
        let server = try PythonServer("forging_server.py")
        var env = Harness.baseEnvironment()
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:\(try server.port)"
        env["AWS_ACCESS_KEY_ID"] = world.roleCredentials["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = world.roleCredentials["SecretAccessKey"]
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        let result = try world.poll(["--region", Self.region, "--log-level", "debug"], environment: env)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(startsWithUTCTimestamp(line), "unstamped: \(line)")
            #expect(!line.contains("FORGED") || line.contains(#"\n2026-01-01T00:00:00Z inventory-poller: FORGED"#), "forged: \(line)")
        }
        #expect(result.stderr.contains("FORGED"), "the message itself is shown, escaped")
        let forbidden: [Unicode.Scalar] = ["\r", "\u{1B}", "\u{85}", "\u{7F}", "\u{2028}"]
        #expect(!result.stderr.unicodeScalars.contains { forbidden.contains($0) })
        #expect(result.failureLines.count == 1)
    }

    @Test func aMetricsFileThatCannotBeWrittenIsOneClearLine() async throws {
        let world = try await World.shared()
        let path = Harness.temporaryDirectory().appendingPathComponent("no/such/dir/inventory.prom").path
        let result = try world.poll(["--region", Self.region, "--metrics-file", path])
        #expect(result.status == 0)
        let lines = result.stderrTexts.filter { $0.contains("metrics") }
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.contains(path) == true && lines.first?.contains("No such file or directory") == true)
        #expect(!result.stderr.contains("Error Domain") && !result.stderr.contains("NSError"))
    }

    // MARK: text output

    /// A `Name` tag carrying ESC (a colour code), a tab, a newline and a C1 control: the text
    /// line shows them escaped as stderr does, and stays one line of ten columns.
    @Test func controlCharactersInANameTagAreEscapedInTextOutput() async throws {
        let world = try await World.shared()
        let (region, ids) = try world.freshRegion(seed: 1)
        try world.change(region, tag: [ids[0]: ["Name": "web\u{1B}[31mred\tcol\nFORGED\u{85}end"]])
        let result = try world.poll(["--region", region, "--format", "text"])
        #expect(result.status == 0, "\(result.stderr)")
        let forbidden: [Unicode.Scalar] = ["\u{1B}", "\u{85}", "\r"]
        #expect(!result.stdout.unicodeScalars.contains { forbidden.contains($0) })
        #expect(result.lines.count == 3, "the poll line, the column header and one instance: \(result.lines)")
        let line = try #require(result.lines.first { $0.contains(ids[0]) })
        #expect(line.split(separator: "\t", omittingEmptySubsequences: false).count == 10, "\(line)")
        #expect(line.hasSuffix("\t" + #"web\u001B[31mred\tcol\nFORGED\u0085end"#), "\(line)")
    }

    /// The one rule, scalar by scalar: C0, DEL, C1 and U+2028/2029 are escaped, nothing else.
    @Test func theControlCharacterRuleEscapesControlsAndNothingElse() {
        for value in UInt32(0)...0x3000 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let escaped = ControlCharacters.escape(String(Character(scalar)))
            let isControl = value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
            #expect(escaped.unicodeScalars.allSatisfy { !ControlCharacters.needsEscape($0) })
            #expect((escaped != String(Character(scalar))) == isControl, "U+\(String(value, radix: 16))")
        }
        #expect(ControlCharacters.escape("a\u{1B}[2J\tb\r\n") == #"a\u001B[2J\tb\r\n"#)
    }

    // MARK: configuration

    /// Half-set keys are the operator's input: a usage error (2) with one line, for a poll
    /// and for `--check`, before any network call.
    @Test(arguments: [[], ["--check"]])
    func halfSetKeysAreAUsageError(_ extra: [String]) async throws {
        var env = Harness.baseEnvironment()
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:9"
        env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
        let result = try runProcess(Harness.pollerBinary, World.withLock(extra + ["--region", Self.region]), environment: env)
        #expect(result.status == 2, "\(result.stdout)\(result.stderr)")
        #expect((result.stdout + result.stderr).contains("AWS_SECRET_ACCESS_KEY is not"), "\(result.stdout)\(result.stderr)")
        if extra.isEmpty { #expect(result.failureLines.count == 1, "\(result.stderr)") }
    }

    // MARK: arguments

    @Test(arguments: [
        (["--region", ""], "must not be empty"),
        (["--region", "us-east-1,"], "must not be empty"),
        (["--region", "us-east-+1"], "not an AWS region"),
        (["--region", String(repeating: "ab-", count: 100) + "1"], "not an AWS region"),
        (["--assume-role", "arn:aws:iam::12345:role/x"], "not an IAM role ARN"),
        (["--assume-role", "arn:aws:iam::123456789012:user/x"], "not an IAM role ARN"),
        (["--assume-role", "arn:aws:iam::123456789012:role/a", "--assume-role", "arn:aws:iam::123456789012:role/b"], "same account"),
    ])
    func badRegionsAndRolesAreUsageErrorsBeforeAnyNetworkCall(_ arguments: [String], _ mention: String) async throws {
        // Nothing listens on these endpoints: a network call would fail differently.
        var env = Harness.baseEnvironment()
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:9"
        let result = try runProcess(Harness.pollerBinary, World.withLock(arguments), environment: env)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.failureLines.count == 1 && result.stderrTexts.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(mention), "\(result.stderr)")
    }
}
