import AWSCore

/// Instances counted by state, overall and per slice: for the poll record, the run summary
/// and the metrics file.
public struct InstanceCounts: Sendable {
    public private(set) var byState: [String: Int] = [:]
    public private(set) var bySlice: [SliceID: [String: Int]] = [:]

    public init() {}

    public mutating func add(_ page: [JSONValue], slice: SliceID) {
        for instance in page {
            let state = instance["State"]?["Name"]?.stringValue ?? "unknown"
            byState[state, default: 0] += 1
            bySlice[slice, default: [:]][state, default: 0] += 1
        }
    }

    /// From a rendered page, which carries its counts.
    public mutating func add(states: [String: Int], slice: SliceID) {
        for (state, n) in states {
            byState[state, default: 0] += n
            bySlice[slice, default: [:]][state, default: 0] += n
        }
    }

    public var total: Int { byState.values.reduce(0, +) }
}
