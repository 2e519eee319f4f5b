import Foundation
import Testing

/// The progress line: on a terminal, a run over a second shows it, redrawn in place, with log
/// lines never mixed into it, and gone at the end; with stderr on a pipe (cron), nothing of it.
@Suite struct ProgressLineTests {
    /// Two slices, one after the other, each held 1.5 s by the proxy: the run lasts over a
    /// second, and the first slice's "slice polled" log line arrives while the line is shown.
    static func slowPoll(_ world: World) throws -> (arguments: [String], environment: [String: String]) {
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "times": 2, "fault": "delay", "seconds": 1.5]])
        return (World.withLock(["--region", "eu-west-1,ap-southeast-2", "--concurrency", "1", "--log-level", "info", "--format", "ndjson"]),
                world.pollerEnvironment(endpoint: proxy.url))
    }

    /// What the terminal shows at the end: `\r` returns to the line's start, `ESC[K` clears to
    /// its end, anything else overwrites.
    static func screen(_ raw: String) -> [String] {
        var lines: [String] = []
        var line: [Character] = []
        var column = 0
        var characters = Array(raw)[...]
        while let c = characters.popFirst() {
            switch c {
            case "\r": column = 0
            case "\n", "\r\n":
                lines.append(String(line))
                line = []
                column = 0
            case "\u{1B}":
                // Only `ESC [ K` is expected; anything else fails the check below.
                if characters.prefix(2) == ["[", "K"] {
                    characters = characters.dropFirst(2)
                    line.removeSubrange(min(column, line.count)...)
                } else {
                    line.append("?")
                }
            default:
                if column < line.count { line[column] = c } else { line.append(c) }
                column += 1
            }
        }
        if !line.isEmpty { lines.append(String(line)) }
        return lines
    }

    @Test func onATerminalTheLineIsShownRedrawnAndGoneAtTheEnd() async throws {
        let world = try await World.shared()
        let (arguments, environment) = try Self.slowPoll(world)
        var env = environment
        env["TERM"] = "xterm"
        let result = try runProcess(Harness.python, Harness.pythonArguments([Harness.support.appendingPathComponent("pty_run.py").path,
                                                                              Harness.pollerBinary] + arguments), environment: env)
        try #require(result.status == 0, "\(result.stderr)")
        let run = try #require(try parseJSON(result.stdout) as? [String: Any])
        #expect(run["status"] as? Int == 0)
        let raw = try #require(run["stderr"] as? String)
        let stdout = try #require(run["stdout"] as? String)
        #expect(stdout.split(separator: "\n").count == world.counts["eu-west-1"]! + world.counts["ap-southeast-2"]!)

        // Shown, with its fields, and redrawn in place.
        let drawn = raw.components(separatedBy: "\r\u{1B}[Kinventory-poller: ").dropFirst().map { $0.prefix { $0 != "\r" && $0 != "\n" } }
        #expect(drawn.contains { $0.range(of: #"^[0-2]/2 slices, [0-9]+ instances, 0 retries, [0-9]+s$"#, options: .regularExpression) != nil },
                "\(raw.debugDescription)")
        #expect(raw.components(separatedBy: "\r\u{1B}[Kinventory-poller: ").count > 3, "redrawn")
        #expect(raw.contains("1/2 slices, \(world.counts["eu-west-1"]!) instances"), "counts as slices finish")
        // A log line written while it was shown erased it first.
        #expect(raw.contains("\r\u{1B}[K" + "20"), "a stamped line after an erase")

        // Gone at the end, and never mixed into a log line: every line left on the screen is
        // a stamped log line.
        let screen = Self.screen(raw).filter { !$0.isEmpty }
        #expect(!screen.contains { $0.contains(" slices, ") }, "\(screen)")
        #expect(screen.contains { $0.contains("slice polled") })
        for line in screen {
            #expect(line.count > 21 && line[line.index(line.startIndex, offsetBy: 19)] == "Z", "\(line.debugDescription)")
        }
        // At a terminal the summary is one line in words; the JSON form is for logs and pipes.
        #expect(screen.last?.contains("summary: exit 0 in ") == true, "\(screen.last ?? "")")
        #expect(screen.last?.contains("2 slices (0 failed)") == true, "\(screen.last ?? "")")
    }

    /// Results streaming to the same terminal would land inside the line: no line then.
    @Test func withStdoutOnTheSameTerminalNothingOfItAppears() async throws {
        let world = try await World.shared()
        let (arguments, environment) = try Self.slowPoll(world)
        var env = environment
        env["TERM"] = "xterm"
        let result = try runProcess(Harness.python, Harness.pythonArguments([Harness.support.appendingPathComponent("pty_run.py").path,
                                                                              "--stdout-on-pty", Harness.pollerBinary] + arguments), environment: env)
        try #require(result.status == 0, "\(result.stderr)")
        let run = try #require(try parseJSON(result.stdout) as? [String: Any])
        #expect(run["status"] as? Int == 0)
        let raw = try #require(run["stderr"] as? String)
        #expect(raw.contains("slice polled") && raw.contains("\"InstanceId\""), "the run was long enough and printed there")
        #expect(!raw.contains(" slices, "))
        #expect(!raw.contains("\u{1B}"))
    }

    @Test func withStderrOnAPipeNothingOfItAppears() async throws {
        let world = try await World.shared()
        let (arguments, environment) = try Self.slowPoll(world)
        var env = environment
        env["TERM"] = "xterm"
        let result = try runProcess(Harness.pollerBinary, arguments, environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stderr.contains("\r"))
        #expect(!result.stderr.contains("\u{1B}"))
        #expect(!result.stderr.contains(" slices, "))
        #expect(result.stderr.contains("slice polled"), "the run was long enough to show it")
    }
}
