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

    @Argument(help: ArgumentHelp("The instance id.", valueName: "instance-id"))
    var instanceId: String

    func execute() -> ExitStatus {
        var selection = EventSelection()
        selection.instanceIds = [instanceId]
        var output = DocumentOutput(format: options.format, columns: HistoryColumns.events)
        return HistoryRun.run { reader, out in
            output.begin(&out)
            var events = 0
            try reader.events(selection) {
                try output.write($0.json, cells: HistoryColumns.event, &out)
                events += 1
            }
            output.end(&out)
            var current: [JSONValue] = []
            try reader.instance(instanceId) { current.append($0.json) }
            if events == 0 && current.isEmpty {
                StandardError.writeFailure("no stored history for \(ControlCharacters.escape(instanceId))")
            }
            guard options.format == .text, !current.isEmpty else { return }
            // The text form ends with where the instance stands now.
            out.write("\n")
            var now = DocumentOutput(format: .text, columns: HistoryColumns.instances)
            now.begin(&out)
            for doc in current { try now.write(doc, cells: HistoryColumns.instance, &out) }
            now.end(&out)
        }
    }
}
