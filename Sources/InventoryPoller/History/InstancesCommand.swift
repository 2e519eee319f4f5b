import ArgumentParser
import CloudInventory
import Foundation

/// `inventory-poller instances`: the inventory as stored, or as it stood at `--as-of`.
struct InstancesCommand: StatusCommand {
    static let configuration = CommandConfiguration(
        commandName: "instances",
        abstract: "List the stored inventory, sorted by account, region and instance id.",
        discussion: """
        Reads CM_DB_URI and CM_DB_NAME (exit 2 without them, 5 when the database cannot be read).
        Filters combine: every --tag must match; repeated --state, --region, --account and \
        --instance-id values are alternatives.
        \(TimeSpec.forms).
        --as-of rebuilds the fleet at that time from FirstSeen, VanishedAt and the events' old \
        values: the instances present then, each with the state and fields it had then.

        Examples:
          inventory-poller instances --state running --tag env=prod --format csv
          inventory-poller instances --as-of 2026-11-24T09:00:00Z --region eu-west-1
          inventory-poller instances --as-of '2026-11-24 09:00'    # local time (TZ)
          inventory-poller instances --vanished --format ndjson
        """
    )

    @OptionGroup var options: HistoryOptions

    @Option(name: .long, help: ArgumentHelp("Only instances in this state; repeatable.", valueName: "state"))
    var state: [InstanceStateName] = []

    @Option(name: .long, help: ArgumentHelp("Only instances with this tag (KEY=VALUE) or tag key (KEY); repeatable, all must match.", valueName: "key[=value]"))
    var tag: [TagFilter] = []

    @Option(name: .long, help: ArgumentHelp("Only this region; repeat or comma-separate.", valueName: "region"))
    var region: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this account; repeatable.", valueName: "id"))
    var account: [String] = []

    @Option(name: .long, help: ArgumentHelp("Only this instance; repeat or comma-separate.", valueName: "id"))
    var instanceId: [String] = []

    @Flag var presence: Presence = .present

    @Option(name: .long, parsing: .unconditional,
            help: When.help("The fleet as it stood at this time; before the first poll or in the future, a warning."),
            transform: When.parse)
    var asOf: When?

    mutating func validate() throws {
        try HistoryFilters.validate(regions: region, accounts: account, instanceIds: instanceId)
    }

    func execute() -> ExitStatus {
        var selection = InstanceSelection()
        selection.states = state.map(\.rawValue)
        selection.tags = tag.map { ($0.key, $0.value) }
        selection.regions = HistoryFilters.regions(region)
        selection.accounts = account
        selection.instanceIds = HistoryFilters.instanceIds(instanceId)
        selection.presence = presence.selection
        selection.asOf = asOf?.date(now: Date())
        let times: [(String, Date)] = selection.asOf.map { [("--as-of", $0)] } ?? []
        return HistoryRun.run(options, times: times) { query, out in
            var output = query.output(HistoryColumns.instances)
            try query.reader.instances(selection) { try output.write($0, cells: HistoryColumns.instance, &out) }
            output.end(&out)
            return output.count
        }
    }
}
