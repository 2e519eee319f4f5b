import ArgumentParser
import CloudInventory
import Foundation

/// `inventory-poller polls`: the poll records, newest first: the cron job's health at a glance.
struct PollsCommand: StatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "polls",
        abstract: "List the recorded polls, newest first: when, how long, slices ok or failed, counts, spooled or not.",
        discussion: """
        Reads CM_DB_URI and CM_DB_NAME (exit 2 without them, 5 when the database cannot be read).
        A field a record lacks, or holds with another type (a record another program wrote), \
        shows as - (empty in csv), never as a value it does not hold. The selection column shows \
        a selected poll's --filter and --instance-ids.

        Examples:
          inventory-poller polls --last 5
          inventory-poller polls --failed --format json
        """
    )

    @OptionGroup var options: HistoryOptions

    @Option(name: .long, help: ArgumentHelp("How many polls to show.", valueName: "n"))
    var last: Int = 20

    @Flag(name: .long, help: "Only polls with a failed slice.")
    var failed = false

    mutating func validate() throws {
        guard (1...100_000).contains(last) else { throw ValidationError("--last must be between 1 and 100000") }
    }

    func execute() -> ExitStatus {
        let selection = PollRecordSelection(last: last, failed: failed)
        return HistoryRun.run(options) { query, out in
            var output = query.output(HistoryColumns.polls)
            try query.reader.polls(selection) { try output.write($0, cells: HistoryColumns.poll, &out) }
            output.end(&out)
            return output.count
        }
    }
}
