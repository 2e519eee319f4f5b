import ArgumentParser
import CloudInventory

/// `--filter` and `--instance-ids`: what to poll, chosen server-side. A selected poll is not
/// a complete view of its regions, so it marks nothing vanished (see `PollSelection`).
struct SelectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "DescribeInstances filter in the AWS CLI's shorthand, e.g. Name=tag:env,Values=prod,staging or Name=instance-state-name,Values=running; repeat for several (all must match). A filtered poll marks nothing vanished.",
        valueName: "filter"),
            transform: { (text: String) throws -> PollSelection.Filter in
                do { return try FilterShorthand.parse(text) } catch { throw ValidationError("\(error)") }
            })
    var filter: [PollSelection.Filter] = []

    @Option(name: .long, help: ArgumentHelp(
        "Poll only these instances (i-…); repeat or comma-separate. Such a poll marks nothing vanished. An id unknown in a region is not there, not a failure; ids found in no region are one line, exit 0.", valueName: "ids"),
            transform: { (text: String) throws -> [String] in
                do { return try InstanceIdList.parse([text]) } catch { throw ValidationError("\(error)") }
            })
    var instanceIds: [[String]] = []

    mutating func validate() throws {
        guard filter.count <= PollSelection.maximumFilters else {
            throw ValidationError("--filter: more than \(PollSelection.maximumFilters) filters")
        }
        guard selection.instanceIds.count <= PollSelection.maximumInstanceIds else {
            throw ValidationError("--instance-ids: more than \(PollSelection.maximumInstanceIds) instance ids")
        }
    }

    /// The selection for `Poller.Configuration` (ids once each, in the order given); empty
    /// when neither flag was given.
    var selection: PollSelection {
        var seen = Set<String>()
        return PollSelection(filters: filter, instanceIds: instanceIds.joined().filter { seen.insert($0).inserted })
    }
}
