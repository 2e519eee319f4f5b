import AWSCore
import ArgumentParser
import CloudInventory
import Foundation
import Glibc

/// A subcommand that maps its own failures to the one exit-status table and returns the status
/// (rather than throwing), so `main()` can exit with it.
protocol StatusCommand: ParsableCommand {
    func execute() -> ExitStatus
}

/// The root of the command tree. `poll` is the default subcommand, so `inventory-poller --region x`
/// (every cron line written before the tree existed) still polls.
@main
struct InventoryPoller: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inventory-poller",
        abstract: "Record the AWS account's EC2 inventory in MongoDB, and answer questions about its history.",
        discussion: """
        With no subcommand, polls (as `inventory-poller poll`). The other subcommands read the \
        history the polls stored, from CM_DB_URI and CM_DB_NAME; `inventory-poller help SUBCOMMAND` \
        describes each.

        Examples:
          inventory-poller --region eu-west-1
          inventory-poller instances --state running --tag env=prod
          inventory-poller changes --since 24h --type state_changed
          inventory-poller history i-0123456789abcdef0
          inventory-poller polls --last 10 --failed

        Exit codes:
        \(ExitStatus.table)
        """,
        version: InventoryVersion.current,
        subcommands: [InventoryPollerCommand.self, InstancesCommand.self, ChangesCommand.self,
                      HistoryCommand.self, PollsCommand.self],
        defaultSubcommand: InventoryPollerCommand.self
    )

    static func main() {
        // A closed stdout (`| head`) must arrive as EPIPE from write(2), not kill the run
        // before it stores its poll: see StandardOutput.
        signal(SIGPIPE, SIG_IGN)
        let status: ExitStatus
        do {
            try HelpTopic.check(Array(CommandLine.arguments.dropFirst()), subcommands: configuration.subcommands.map { $0._commandName })
            var command = try parseAsRoot()
            // Before any thread exists and before libmongoc starts, and only once a command is to
            // run: `--version`, `--help` and usage errors do not pay for libcurl's (and
            // OpenSSL's) start-up or the scan of /dev/shm.
            Allocator.configure()
            _ = HTTPClient.globalInitialization
            StaleCounters.removeDead()
            if let command = command as? any StatusCommand {
                status = command.execute()
            } else {
                try command.run()
                status = .success
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            StandardError.writeFailure(oneLine(self.message(for: error)))
            Foundation.exit(ExitStatus.usage.rawValue)
        }
        Foundation.exit(status.rawValue)
    }

    /// The parser's message as the one line the operator gets: its first line, with a list
    /// that follows it (the values of an enum option, "- text", "- json") joined onto it.
    static func oneLine(_ message: String, arguments: [String] = CommandLine.arguments) -> String {
        // An argument's own line breaks and control characters (a value pasted with a newline)
        // are shown escaped, as on every stderr line, before the message is cut to one line.
        var message = message
        let raw = arguments.flatMap { [$0] + $0.split(separator: ",").map(String.init) }
            .filter { $0.unicodeScalars.contains(where: ControlCharacters.needsEscape) }
            .sorted { $0.count > $1.count }
        for piece in raw { message = message.replacingOccurrences(of: piece, with: ControlCharacters.escape(piece)) }
        let lines = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard var line = lines.first else { return "invalid arguments" }
        if line.hasPrefix("Error: ") { line.removeFirst(7) }
        let items = lines.dropFirst().prefix { $0.hasPrefix("- ") }.map { $0.dropFirst(2) }
        guard !items.isEmpty else { return line }
        if line.hasSuffix(":") { line.removeLast() }
        return line + ": " + items.joined(separator: ", ")
    }
}
