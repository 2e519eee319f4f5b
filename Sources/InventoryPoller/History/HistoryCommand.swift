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
        The text form ends with the instance's current stored state.

        Example:
          inventory-poller history i-0123456789abcdef0
        """
    )

    @OptionGroup var options: HistoryOptions

    @Argument(help: ArgumentHelp("The instance id (i- and 8 or 17 hex digits).", valueName: "instance-id"))
    var instanceId: String

    mutating func validate() throws {
        try HistoryFilters.instanceId(instanceId, "history")
    }

    func execute() -> ExitStatus {
        var selection = EventSelection()
        selection.instanceIds = [instanceId]
        return HistoryRun.run(format: options.format) { query, out in
            var output = query.output(HistoryColumns.events)
            // Where it stands now (one document, almost always) is read first, so both
            // queries have answered before the events' output ends.
            var current: [JSONValue] = []
            try query.reader.instance(instanceId) { current.append($0.json) }
            var events = 0
            try query.reader.events(selection) {
                try output.write($0.json, cells: HistoryColumns.event, &out)
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
