@testable import CloudInventory
import Foundation
import Testing

/// Issue 23, part 3: the spool belongs to the service. An operator's root run during an outage
/// leaves files the service user (here `nobody`, through `runuser`) can replay; a file that
/// stays unreadable fails the run (exit 5, one line naming it and its owner), `--check` and
/// the metrics instead of being skipped in silence. Real files, real users, moto and the
/// wire-peer database.
@Suite struct SpoolOwnershipTests {
    static let region = "eu-west-1"
    static let service = (name: "nobody", uid: uid_t(65534), gid: gid_t(65534))

    /// A directory the service user owns (0750), as provision.sh makes the spool's, inside a
    /// temporary directory others may enter.
    static func serviceDirectory(_ name: String, in parent: URL) throws -> URL {
        let dir = parent.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        #expect(unsafe chown(dir.path, service.uid, service.gid) == 0)
        #expect(unsafe chmod(dir.path, 0o750) == 0)
        return dir
    }

    /// Runs the poller as the service user; HOME is its own directory (root's is closed to it).
    static func runAsService(_ arguments: [String], environment: [String: String], home: URL) throws -> ProcessResult {
        var env = environment
        env["HOME"] = home.path
        return try runProcess("/usr/sbin/runuser", ["-u", service.name, "--", Harness.pollerBinary] + arguments, environment: env)
    }

    /// The world, a database, and a state directory holding the spool, both the service user's.
    static func serviceScenario() async throws -> (World, TestMongo, URL, URL, [String: String]) {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        let base = Harness.temporaryDirectory()
        unsafe chmod(base.path, 0o755)
        let state = try serviceDirectory("state", in: base)
        let spool = try serviceDirectory("spool", in: state)
        return (world, mongo, state, spool, world.storingEnvironment(mongo, spool: spool))
    }

    static func owner(_ path: String) -> uid_t? {
        var info = stat()
        return unsafe lstat(path, &info) == 0 ? info.st_uid : nil
    }

    @Test func aPollSpooledByRootIsReplayedByTheServiceUser() async throws {
        try #require(getuid() == 0, "needs root to run as root and as the service user")
        let (world, mongo, state, spool, env) = try await Self.serviceScenario()

        // Root's run during an outage: the spool file, the lock file and the metrics file it
        // creates in the service's directories are the service's.
        mongo.down()
        let root = try world.poll(["--region", Self.region, "--lock-file", state.appendingPathComponent("root.lock").path,
                                   "--metrics-file", state.appendingPathComponent("metrics.prom").path], environment: env)
        mongo.up()
        #expect(root.status == 5, "\(root.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: spool.path)
        #expect(files.count == 1 && files[0].hasSuffix(".ndjson"), "\(files)")
        for path in files.map({ spool.appendingPathComponent($0).path }) + ["root.lock", "metrics.prom"].map({ state.appendingPathComponent($0).path }) {
            #expect(Self.owner(path) == Self.service.uid, "\(path) is not the service user's")
        }

        // The service user's next run replays it and stores its own poll.
        let service = try Self.runAsService(["--region", Self.region, "--lock-file", state.appendingPathComponent("svc.lock").path,
                                             "--metrics-file", state.appendingPathComponent("metrics.prom").path], environment: env, home: state)
        #expect(service.status == 0, "\(service.stderr)")
        #expect(service.stderr.contains("replayed spooled poll"), "\(service.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.path).isEmpty)
        let polls = try mongo.snapshot().polls
        #expect(polls.count == 2 && polls.contains { $0["Spooled"] as? Bool == true }, "\(polls)")
        let metrics = try String(contentsOf: state.appendingPathComponent("metrics.prom"), encoding: .utf8)
        #expect(metrics.contains("inventory_poller_spool_waiting 0\n") && metrics.contains("inventory_poller_spool_unreadable 0\n"), "\(metrics)")
    }

    @Test func aFileThatStaysUnreadableFailsTheRunCheckAndTheMetrics() async throws {
        try #require(getuid() == 0, "needs root to leave a file the service user cannot read")
        let (_, mongo, state, spool, env) = try await Self.serviceScenario()
        // What an older version's root run left: 0600 root.
        let planted = spool.appendingPathComponent("20261201T000000Z-0a1b2c3d.seq1.ndjson").path
        try #require(FileManager.default.createFile(atPath: planted, contents: Data("{}\n".utf8), attributes: [.posixPermissions: 0o600]))

        let metricsFile = state.appendingPathComponent("metrics.prom")
        let run = try Self.runAsService(["--region", Self.region, "--lock-file", state.appendingPathComponent("svc.lock").path,
                                         "--metrics-file", metricsFile.path], environment: env, home: state)
        #expect(run.status == 5, "\(run.stderr)")
        #expect(run.failureLines.count == 1, "\(run.stderr)")
        let line = try #require(run.failureLines.first)
        #expect(line.contains(planted) && line.contains("owner root") && line.contains("cannot be read by nobody"), "\(line)")
        #expect(!run.stderr.contains("left for the next run"), "the one line says it: \(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: planted), "never deleted or set aside")
        #expect(try mongo.snapshot().polls.count == 1, "the run's own poll is stored")
        let metrics = try String(contentsOf: metricsFile, encoding: .utf8)
        #expect(metrics.contains("inventory_poller_spool_waiting 1\n"), "\(metrics)")
        #expect(metrics.contains("inventory_poller_spool_unreadable 1\n"), "\(metrics)")
        #expect(metrics.contains("inventory_poller_last_run_exit_code 5\n"), "\(metrics)")

        let check = try Self.runAsService(["--check", "--region", Self.region], environment: env, home: state)
        #expect(check.status == 5, "\(check.stdout)\n\(check.stderr)")
        let spoolLine = check.stdout.split(separator: "\n").first { $0.contains(" spool ") }
        #expect(spoolLine?.hasPrefix("[FAIL]") == true && spoolLine?.contains(planted) == true && spoolLine?.contains("owner root") == true,
                "\(check.stdout)")

        // Given to the service user, it is replayed like any other (a corrupt one is set aside).
        #expect(unsafe chown(planted, Self.service.uid, Self.service.gid) == 0)
        let after = try Self.runAsService(["--region", Self.region, "--lock-file", state.appendingPathComponent("svc.lock").path,
                                           "--metrics-file", metricsFile.path], environment: env, home: state)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(try String(contentsOf: metricsFile, encoding: .utf8).contains("inventory_poller_spool_unreadable 0\n"))
    }

    @Test func aRootRunInItsOwnDirectoryKeepsItsFiles() throws {
        try #require(getuid() == 0)
        let dir = Harness.temporaryDirectory()
        #expect(DirectoryOwner.adopting(directory: dir.path) == nil, "root's own directory: nothing to hand over")
        let service = try Self.serviceDirectory("svc", in: dir)
        #expect(DirectoryOwner.adopting(directory: service.path) == DirectoryOwner(uid: Self.service.uid, gid: Self.service.gid))
        #expect(DirectoryOwner.adopting(file: service.appendingPathComponent("x").path)?.uid == Self.service.uid)
        #expect(DirectoryOwner.name(of: 0) == "root")
        #expect(DirectoryOwner.name(of: 4_000_000_000) == "uid 4000000000")
    }
}
