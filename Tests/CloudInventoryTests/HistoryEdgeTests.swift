import Foundation
import Glibc
import Testing

/// The history subcommands at their edges, found by an adversarial tester: what reaches
/// stdout when the database cannot answer, malformed arguments, a database without polls,
/// and signals. Real peers: a refused port, the MongoDB wire peer, and a listener that takes
/// connections and never answers.
@Suite struct HistoryEdgeTests {
    static let subcommands = [["instances"], ["changes", "--since", "1d"], ["history", "i-0123456789abcdef0"], ["polls"]]

    func ask(_ arguments: [String], uri: String = "mongodb://127.0.0.1:1/", database: String = "inventory") throws -> ProcessResult {
        var env = Harness.baseEnvironment()
        env["CM_DB_URI"] = uri
        env["CM_DB_NAME"] = database
        return try runProcess(Harness.pollerBinary, arguments, environment: env, timeout: 120)
    }

    /// Port 1 refuses: every subcommand in every format exits 5 with one line and prints
    /// nothing at all (no lone `[`, no header row).
    @Test func nothingReachesStdoutBeforeTheDatabaseAnswers() throws {
        for args in Self.subcommands {
            for format in ["text", "json", "ndjson", "csv"] {
                let r = try ask(args + ["--format", format])
                #expect(r.status == 5 && r.failureLines.count == 1, "\(args) \(format): \(r.status) \(r.stderr)")
                #expect(r.stdout.isEmpty, "\(args) \(format): \(r.stdout)")
            }
        }
    }

    /// Each is exit 2 with one line, decided before the database is asked (port 1 would be 5).
    @Test func malformedArgumentsAreUsageErrors() throws {
        let cases: [([String], String)] = [
            (["history", "garbage"], "not an instance id"),
            (["history", ""], "not an instance id"),
            (["history", "i-0123456789ABCDEF0"], "not an instance id"),
            (["instances", "--instance-id", "i-.*"], "not an instance id"),
            (["changes", "--since", "1d", "--instance-id", "i-1234567"], "not an instance id"),
            (["changes", "--since", "1d", "--instance-id", "i-01234567,"], "not an instance id"),
            (["instances", "--account", "abc"], "not an account id"),
            (["changes", "--since", "1d", "--account", "12345678901"], "not an account id"),
            (["instances", "--region", "not a region"], "not an AWS region name"),
            (["changes", "--since", "1d", "--region", "eu-west-1,"], "--region"),
            (["changes", "--since", "2026-02-30"], "no such date"),
            (["changes", "--since", "2026-11-26T00:41:60Z"], "no such date"),
            (["changes", "--since", "2026-13-01"], "no such date"),
            (["instances", "--as-of", "2026-04-31"], "no such date"),
            (["changes", "--since", "1y"], "90m, 24h, 7d, 2w"),
            (["changes", "--since", "-5m"], "write 5m"),
            (["changes", "--since=-5m"], "write 5m"),
            (["changes", "--since", "1h", "--until", "1h"], "--until must be later than --since"),
            (["changes", "--since", "2026-11-25T00:00:00Z", "--until", "2026-11-25T00:00:00Z"], "--until must be later than --since"),
            (["changes", "--since", "1h", "--until", "2h"], "--until must be later than --since"),
        ]
        for (args, says) in cases {
            let r = try ask(args)
            #expect(r.status == 2 && r.failureLines.count == 1 && r.stdout.isEmpty, "\(args): \(r.status) \(r.stderr)")
            #expect(r.failureLines.first?.contains(says) == true, "\(args): \(r.stderr)")
        }
        // Well-formed: the database is asked (and refuses).
        for args in [["changes", "--since", "2024-02-29", "--until", "1h", "--region", "eu-west-1,us-east-1"],
                     ["instances", "--account", "123456789012", "--instance-id", "i-01234567,i-0123456789abcdef0"]] {
            #expect(try ask(args).status == 5, "\(args)")
        }
    }

    /// `help NAME` for a name that is no subcommand is a usage error, not the root's help.
    @Test func helpOfAnUnknownSubcommandIsAUsageError() throws {
        for name in ["bogus", ""] {
            let r = try ask(["help", name])
            #expect(r.status == 2 && r.failureLines.count == 1 && r.stdout.isEmpty, "\(name): \(r.status) \(r.stderr)")
            #expect(r.failureLines.first?.contains("instances, changes, history, polls") == true, "\(r.stderr)")
        }
        let known = try ask(["help", "instances"])
        #expect(known.status == 0 && known.stdout.contains("inventory-poller instances --state running"), "\(known.stderr)")
    }

    /// A database that holds no poll (a mistyped CM_DB_NAME answers too: MongoDB creates it):
    /// exit 0, one warning naming it; a well-formed id with no history keeps its own line.
    @Test func aDatabaseWithoutPollsWarns() throws {
        let mongo = try TestMongo(.mock)
        for args in Self.subcommands {
            let r = try ask(args + ["--format", "json"], uri: mongo.uri, database: mongo.database)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            let warnings = r.stderrTexts.filter { $0.contains("warning database \(mongo.database) holds no polls: is CM_DB_NAME right?") }
            #expect(warnings.count == 1, "\(args): \(r.stderr)")
            #expect((try? parseJSON(r.stdout)) is [Any], "\(args): \(r.stdout)")
        }
        let history = try ask(["history", "i-0123456789abcdef0"], uri: mongo.uri, database: mongo.database)
        #expect(history.failureLines == ["inventory-poller: no stored history for i-0123456789abcdef0"], "\(history.stderr)")
    }

    /// SIGINT, SIGTERM, SIGHUP while the subcommand waits on a server that never answers:
    /// one line naming the signal, 130, 143, 129, and nothing on stdout.
    @Test func signalsEndTheSubcommandsWithTheirStatus() throws {
        let listener = try SilentListener()
        defer { listener.close() }
        // The server selection would wait minutes: only the signal ends the run.
        let uri = "mongodb://127.0.0.1:\(listener.port)/?serverSelectionTimeoutMS=600000&connectTimeoutMS=600000"
        for (sig, status, name) in [(SIGINT, Int32(130), "SIGINT"), (SIGTERM, 143, "SIGTERM"), (SIGHUP, 129, "SIGHUP")] {
            var env = Harness.baseEnvironment()
            env["CM_DB_URI"] = uri
            env["CM_DB_NAME"] = "inventory"
            let running = try RunningProcess(Harness.pollerBinary, ["instances", "--format", "json"], environment: env)
            // Connected: the run is past its signal setup and waiting on the silent server.
            let connection = listener.accept(waitingUpTo: 60)
            #expect(connection != nil, "the subcommand connected")
            running.signal(sig)
            let r = running.finish(timeout: 120)
            if let connection { Glibc.close(connection) }
            #expect(r.status == status, "\(name): \(r.status) \(r.stderr)")
            #expect(r.failureLines.count == 1 && r.failureLines[0].contains("stopped by \(name)"), "\(name): \(r.stderr)")
            #expect(r.stdout.isEmpty, "\(name): \(r.stdout)")
        }
    }
}

/// A TCP listener on loopback that takes connections and never writes a byte: a database
/// server that hangs.
final class SilentListener {
    let fd: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = unsafe inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = unsafe withUnsafePointer(to: &address) {
            unsafe $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { unsafe bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, bound == 0, listen(fd, 8) == 0 else { throw ScenarioError("listener: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = unsafe withUnsafeMutablePointer(to: &address) {
            unsafe $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { unsafe getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    /// The next connection, or nil when none came within the bound.
    func accept(waitingUpTo seconds: Int32) -> Int32? {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard unsafe poll(&entry, 1, seconds * 1000) == 1 else { return nil }
        let connection = Glibc.accept(fd, nil, nil)
        return connection >= 0 ? connection : nil
    }

    func close() { Glibc.close(fd) }
}
