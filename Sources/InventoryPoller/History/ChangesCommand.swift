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
        (90m, 24h, 7d, 2w; no sign). --until must be later than --since.

        Examples:
          inventory-poller changes --since 24h
          inventory-poller changes --since 2026-11-01 --until 2026-11-08 --type vanished --format csv
        """
    )

    @OptionGroup var options: HistoryOptions

    // `.unconditional`: `--since -5m` reaches WHEN's own check (which says durations have no
    // sign) instead of argument-parser's "Missing value".
    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Events at or after this time.", valueName: "when"),
            transform: When.parse)
    var since: When

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Events before this time (default: now).", valueName: "when"),
            transform: When.parse)
    var until: When?

    @Option(name: .long, help: ArgumentHelp("Only events of this type; repeatable.", valueName: "type"))
    var type: [EventTypeName] = []

    @Option(name: .long, help: ArgumentHelp("Only this instance; repeat or comma-separate.", valueName: "id"))
    var instanceId: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this region; repeat or comma-separate.", valueName: "region"))
    var region: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this account; repeatable.", valueName: "id"))
    var account: [String] = []

    mutating func validate() throws {
        // One instant for both, so `--since 1h --until 1h` is the empty window it says.
        let now = Date()
        if let until, until.date(now: now) <= since.date(now: now) { throw ValidationError("--until must be later than --since") }
        try HistoryFilters.validate(regions: region, accounts: account, instanceIds: instanceId)
    }

    func execute() -> ExitStatus {
        let now = Date()
        var selection = EventSelection()
        selection.since = since.date(now: now)
        selection.until = until?.date(now: now)
        selection.types = type.map(\.rawValue)
        selection.instanceIds = HistoryFilters.instanceIds(instanceId)
        selection.regions = HistoryFilters.regions(region)
        selection.accounts = account
        return HistoryRun.run(format: options.format) { query, out in
            var output = query.output(HistoryColumns.events)
            try query.reader.events(selection) { try output.write($0.json, cells: HistoryColumns.event, &out) }
            output.end(&out)
            return output.count
        }
    }
}
