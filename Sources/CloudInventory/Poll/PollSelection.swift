import AWSCore

/// What a poll asked EC2 for, when it did not ask for everything: DescribeInstances filters
/// (`Filter.N.Name` / `Filter.N.Value.M`) and instance ids (`InstanceId.N`). EC2 applies them,
/// so only the selected instances cross the wire.
///
/// A selected poll is not a complete view of its region: an instance it did not return may
/// simply not match. So it marks nothing vanished (live and replayed alike: the spool header
/// carries the selection), and its poll record says what was selected.
public struct PollSelection: Sendable, Equatable {
    public struct Filter: Sendable, Equatable {
        public var name: String
        public var values: [String]

        public init(name: String, values: [String]) {
            self.name = name
            self.values = values
        }
    }

    public var filters: [Filter]
    public var instanceIds: [String]

    public init(filters: [Filter] = [], instanceIds: [String] = []) {
        self.filters = filters
        self.instanceIds = instanceIds
    }

    /// Selects nothing out: a poll of everything.
    public var isEmpty: Bool { filters.isEmpty && instanceIds.isEmpty }

    /// EC2's own limits, checked before any call so a long list fails with one clear line.
    public static let maximumFilters = 50
    public static let maximumValues = 200
    public static let maximumInstanceIds = 1000

    /// The DescribeInstances parameters. EC2 refuses `MaxResults` together with `InstanceId.N`,
    /// so the caller pages only when no ids are given.
    public var queryParameters: [(String, String)] {
        var parameters: [(String, String)] = []
        for (n, filter) in filters.enumerated() {
            parameters.append(("Filter.\(n + 1).Name", filter.name))
            for (m, value) in filter.values.enumerated() {
                parameters.append(("Filter.\(n + 1).Value.\(m + 1)", value))
            }
        }
        for (n, id) in instanceIds.enumerated() {
            parameters.append(("InstanceId.\(n + 1)", id))
        }
        return parameters
    }

    /// `{"Filters":[{"Name","Values"}],"InstanceIds":[...]}`: the poll record's `Selection`
    /// and the spool header's.
    public var json: JSONValue {
        .object([
            JSONMember("Filters", .array(filters.map { f in
                .object([JSONMember("Name", .string(f.name)), JSONMember("Values", .array(f.values.map { .string($0) }))])
            })),
            JSONMember("InstanceIds", .array(instanceIds.map { .string($0) })),
        ])
    }

    /// Reads `json` back (from a spool header). Nil for anything that is not a selection; an
    /// empty one reads as nil too, since it selects nothing out.
    public init?(json: JSONValue) {
        guard case .object = json, let filters = json["Filters"]?.arrayValue, let ids = json["InstanceIds"]?.arrayValue else { return nil }
        var parsed: [Filter] = []
        for filter in filters {
            guard let name = filter["Name"]?.stringValue, let values = filter["Values"]?.arrayValue else { return nil }
            let strings = values.compactMap(\.stringValue)
            guard strings.count == values.count else { return nil }
            parsed.append(Filter(name: name, values: strings))
        }
        let idStrings = ids.compactMap(\.stringValue)
        guard idStrings.count == ids.count, !(parsed.isEmpty && idStrings.isEmpty) else { return nil }
        self.init(filters: parsed, instanceIds: idStrings)
    }

    /// A human summary for logs: `tag:env=prod|staging; ids=i-1,i-2`.
    public var summary: String {
        var parts = filters.map { "\($0.name)=\($0.values.joined(separator: "|"))" }
        if !instanceIds.isEmpty { parts.append("ids=" + instanceIds.joined(separator: ",")) }
        return parts.joined(separator: "; ")
    }
}
