import Foundation
import Testing

/// Every `inventory-poller` command line in the README's `sh` blocks is one the binary takes:
/// each runs as written (through bash, `sudo` dropped) with no credentials anywhere and a
/// database that refuses connections. A poll then gets past its arguments and its configuration
/// and stops at the credentials (exit 3); a history subcommand gets past its arguments and
/// stops at the database (exit 5). A usage error is exit 2, so a README line that drifted from
/// the options fails here. `make demo` and the suites run the same commands for real.
@Suite struct ReadmeCommandsTests {
    static let subcommands: Set<String> = ["instances", "changes", "history", "polls"]

    /// The README's `sh` blocks, one command a line: continuations joined, comments dropped.
    static func readmeCommands() throws -> [String] {
        let text = try String(contentsOf: Harness.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var commands: [String] = []
        var inBlock = false
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if raw.hasPrefix("```") {
                inBlock = !inBlock && raw == "```sh"
                pending = ""
                continue
            }
            guard inBlock else { continue }
            var line = withoutComment(raw).trimmingCharacters(in: .whitespaces)
            if line.hasSuffix("\\") {
                line.removeLast()
                pending += line + " "
                continue
            }
            line = (pending + line).trimmingCharacters(in: .whitespaces)
            pending = ""
            if !line.isEmpty { commands.append(line) }
        }
        return commands
    }

    /// The line up to a `#` that starts a shell comment (after a blank, outside quotes).
    static func withoutComment(_ line: String) -> String {
        var quote: Character?
        var previous: Character = " "
        var out = ""
        for c in line {
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" {
                quote = c
            } else if c == "#" && previous == " " {
                break
            }
            out.append(c)
            previous = c
        }
        return out
    }

    /// The poller's command lines: those whose program, after `sudo`, is `inventory-poller`.
    static func pollerCommands() throws -> [String] {
        try readmeCommands().compactMap { line in
            let command = line.hasPrefix("sudo ") ? String(line.dropFirst(5)) : line
            return command.hasPrefix("inventory-poller ") || command == "inventory-poller" ? command : nil
        }
    }

    @Test func theReadmeShowsEachUsersCommands() throws {
        let commands = try Self.pollerCommands()
        #expect(commands.count >= 12, "\(commands)")
        for expected in ["--check", "--format csv", "--all-regions", "--org-role", "changes --since 24h",
                         "history i-", "polls --failed", "--as-of"] {
            #expect(commands.contains { $0.contains(expected) }, "no README command has \(expected)")
        }
        let all = try Self.readmeCommands()
        #expect(all.contains("make demo") && all.contains("make test"), "\(all)")
    }

    @Test func everyReadmeCommandIsTakenByTheBinary() throws {
        let directory = Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let home = directory.appendingPathComponent("home")
        let spool = directory.appendingPathComponent("spool")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: spool, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("config")
        try "[profile prod]\nregion = eu-west-1\n".write(to: config, atomically: true, encoding: .utf8)

        var environment = Harness.baseEnvironment()
        let binaryDirectory = URL(fileURLWithPath: Harness.pollerBinary).deletingLastPathComponent().path
        environment["PATH"] = binaryDirectory + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["HOME"] = home.path
        environment["AWS_CONFIG_FILE"] = config.path
        environment["AWS_SHARED_CREDENTIALS_FILE"] = directory.appendingPathComponent("no-credentials").path
        environment["AWS_EC2_METADATA_DISABLED"] = "true"
        environment["AWS_REGION"] = "us-east-1"
        environment["CM_DB_URI"] = "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300&connectTimeoutMS=300"
        environment["CM_DB_NAME"] = "readme"
        environment["CM_SPOOL_DIR"] = spool.path
        environment["XDG_RUNTIME_DIR"] = directory.path

        for command in try Self.pollerCommands() {
            let words = command.split(separator: " ").map(String.init)
            let isSubcommand = words.count > 1 && Self.subcommands.contains(words[1])
            let result = try runProcess("/bin/bash", ["-c", "cd \"$0\" && " + command, directory.path],
                                        environment: environment, timeout: 60)
            if isSubcommand {
                #expect(result.status == 5, "\(command): \(result.status)\n\(result.stderr)")
                #expect(result.stderr.contains("database"), "\(command)\n\(result.stderr)")
            } else {
                // 75 only if a run outside the tests holds the default lock.
                #expect(result.status == 3 || result.status == 75, "\(command): \(result.status)\n\(result.stderr)")
            }
        }
    }
}
