import ArgumentParser
import CloudInventory
import Foundation

/// `inventory-poller changes`: the stored events in a time window, in time order.
struct ChangesCommand: StatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "changes",
        abstract: "List what changed (appeared, state changes, field changes, vanished, reappeared) in time order.",
        discussion: """
        Reads CM_DB_URI and CM_DB_NAME (exit 2 without them, 5 when the database cannot be read).
        WHEN is an ISO 8601 time (2026-11-25T12:00:00Z, or a date) or a duration back from now \
        (90m, 24h, 7d).

        Examples:
          inventory-poller changes --since 24h
          inventory-poller changes --since 2026-11-01 --until 2026-11-08 --type vanished --format csv
        """
    )

    @OptionGroup var options: HistoryOptions

    @Option(name: .long, help: ArgumentHelp("Events at or after this time.", valueName: "when"))
    var since: When

    @Option(name: .long, help: ArgumentHelp("Events before this time (default: now).", valueName: "when"))
    var until: When?

    @Option(name: .long, help: ArgumentHelp("Only events of this type; repeatable.", valueName: "type"))
    var type: [EventTypeName] = []

    @Option(name: .long, help: ArgumentHelp("Only this instance; repeatable.", valueName: "id"))
    var instanceId: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this region; repeatable.", valueName: "region"))
    var region: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this account; repeatable.", valueName: "id"))
    var account: [String] = []

    mutating func validate() throws {
        if let until, until.date <= since.date { throw ValidationError("--until must be later than --since") }
    }

    func execute() -> ExitStatus {
        var selection = EventSelection()
        selection.since = since.date
        selection.until = until?.date
        selection.types = type.map(\.rawValue)
        selection.instanceIds = instanceId
        selection.regions = region
        selection.accounts = account
        var output = DocumentOutput(format: options.format, columns: HistoryColumns.events)
        return HistoryRun.run { reader, out in
            output.begin(&out)
            try reader.events(selection) { try output.write($0.json, cells: HistoryColumns.event, &out) }
            output.end(&out)
        }
    }
}
