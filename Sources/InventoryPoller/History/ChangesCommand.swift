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
        \(TimeSpec.forms). --until must be later than --since. A --since before the first \
        poll, or in the future, gets a warning.
        The time column shows when it happened as far as the history knows: the exact time EC2 \
        stated (ExactTime), else "between" the last poll that saw the old state and the poll \
        that saw the new one, else (events stored before that was recorded) the poll's time. \
        csv adds exact_time and prev_seen; json and ndjson carry the stored fields.
        --ignore-field leaves a field out of `changed` events; an event left with no field is not shown.

        Examples:
          inventory-poller changes --since 24h
          inventory-poller changes --since '2026-11-01 09:00' --type state_changed
          inventory-poller changes --since 7d --ignore-field StateReason --ignore-field BlockDeviceMappings
          inventory-poller changes --since 2026-11-01 --until 2026-11-08 --type vanished --format csv
        """
    )

    @OptionGroup var options: HistoryOptions

    // `.unconditional`: `--since -5m` reaches WHEN's own check (which says durations have no
    // sign) instead of argument-parser's "Missing value".
    @Option(name: .long, parsing: .unconditional, help: When.help("Events at or after this time."), transform: When.parse)
    var since: When

    @Option(name: .long, parsing: .unconditional, help: When.help("Events before this time (default: now)."), transform: When.parse)
    var until: When?

    @Option(name: .long, help: ArgumentHelp("Only events of this type; repeatable.", valueName: "type"))
    var type: [EventTypeName] = []

    @Option(name: .long, help: ArgumentHelp("Only this instance; repeat or comma-separate.", valueName: "id"))
    var instanceId: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this region; repeat or comma-separate.", valueName: "region"))
    var region: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this account; repeatable.", valueName: "id"))
    var account: [String] = []

    @Option(name: .long, help: ArgumentHelp("Leave this field out of changed events (StateReason, BlockDeviceMappings); repeatable.",
                                            valueName: "field"))
    var ignoreField: [String] = []

    mutating func validate() throws {
        // One instant for both, so `--since 1h --until 1h` is the empty window it says.
        let now = Date()
        if let until, until.date(now: now) <= since.date(now: now) { throw ValidationError("--until must be later than --since") }
        try HistoryFilters.validate(regions: region, accounts: account, instanceIds: instanceId)
        if ignoreField.contains(where: \.isEmpty) { throw ValidationError("--ignore-field must name a field") }
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
        let ignored = Set(ignoreField)
        return HistoryRun.run(options, times: [("--since", since.date(now: now))]) { query, out in
            var output = query.output(EventColumns.columns(query.format))
            try query.reader.events(selection) { event in
                guard let kept = EventColumns.without(ignored, event) else { return }
                try output.write(kept, cells: EventColumns.cells(query.format), &out)
            }
            output.end(&out)
            return output.count
        }
    }
}

/// The event columns of `changes` and `history` per format, and `--ignore-field`.
enum EventColumns {
    static func columns(_ format: OutputFormat) -> [String] {
        format == .csv ? HistoryColumns.eventsCSV : HistoryColumns.events
    }

    static func cells(_ format: OutputFormat) -> (BSONValue) -> [[String]] {
        if format == .csv { return { HistoryColumns.eventCSV($0) } }
        return { HistoryColumns.event($0) }
    }

    /// `event` without the `Changes` entries of `ignored` fields; nil for a `changed` event
    /// that had only those (nothing left to show). Other events pass unchanged.
    static func without(_ ignored: Set<String>, _ event: BSONValue) -> BSONValue? {
        guard !ignored.isEmpty, event["Type"]?.stringValue == "changed", case let .document(members) = event,
              let changes = event["Changes"]?.arrayValue else { return event }
        let kept = changes.filter { change in change["Field"]?.stringValue.map { !ignored.contains($0) } ?? true }
        guard !kept.isEmpty else { return nil }
        let replaced: [(String, BSONValue)] = members.map { member in
            member.0 == "Changes" ? ("Changes", BSONValue.array(kept)) : member
        }
        return .document(replaced)
    }
}
