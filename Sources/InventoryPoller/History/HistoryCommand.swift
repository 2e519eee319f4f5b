import AWSCore
import ArgumentParser
import CloudInventory
import Foundation

/// `inventory-poller history INSTANCE-ID`: one instance's whole timeline.
struct HistoryCommand: StatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show one instance's timeline: appeared, state changes, field changes, vanished, reappeared.",
        discussion: """
        Reads CM_DB_URI and CM_DB_NAME (exit 2 without them, 5 when the database cannot be read).
        The text form ends with the instance's current stored state. The time column shows the \
        exact time EC2 stated when known, else the window between two polls (see `changes`).
        --since keeps the events at or after WHEN; --last N the latest N (with --since too, the \
        latest N of those). \(TimeSpec.forms).

        Examples:
          inventory-poller history i-0123456789abcdef0
          inventory-poller history i-0123456789abcdef0 --since 7d --last 20
        """
    )

    @OptionGroup var options: HistoryOptions

    @Argument(help: ArgumentHelp("The instance id (i- and 8 or 17 hex digits).", valueName: "instance-id"))
    var instanceId: String

    @Option(name: .long, parsing: .unconditional, help: When.help("Only events at or after this time."), transform: When.parse)
    var since: When?

    @Option(name: .long, help: ArgumentHelp("Only the latest N events (1 to 100000).", valueName: "n"))
    var last: Int?

    mutating func validate() throws {
        try HistoryFilters.instanceId(instanceId, "history")
        if let last, !(1...100_000).contains(last) { throw ValidationError("--last must be between 1 and 100000") }
    }

    func execute() -> ExitStatus {
        let now = Date()
        var selection = EventSelection()
        selection.instanceIds = [instanceId]
        selection.since = since?.date(now: now)
        let times: [(String, Date)] = selection.since.map { [("--since", $0)] } ?? []
        return HistoryRun.run(options, times: times) { query, out in
            var output = query.output(EventColumns.columns(query.format))
            // Where it stands now (one document, almost always) is read first, so both
            // queries have answered before the events' output ends.
            var current: [BSONValue] = []
            try query.reader.instance(instanceId) { current.append($0) }
            var events = 0
            try query.reader.events(selection, last: last) {
                try output.write($0, cells: EventColumns.cells(query.format), &out)
                events += 1
            }
            output.end(&out)
            if events == 0 && current.isEmpty {
                StandardError.writeFailure("no stored history for \(ControlCharacters.escape(instanceId))")
            }
            guard options.format == .text, !current.isEmpty else { return events + current.count }
            // The text form ends with where the instance stands now.
            out.write("\n")
            var now = query.output(HistoryColumns.instances)
            for doc in current { try now.write(doc, cells: HistoryColumns.instance, &out) }
            now.end(&out)
            return events + current.count
        }
    }
}
