/// A page of instances already rendered as JSON: the fast path, where nothing needs the
/// documents as values. Storage takes the same page: each instance's bytes, id, state and
/// content hash are here, and only new or changed instances are ever turned into BSON.
public struct RenderedPage: Sendable {
    /// The instance objects, comma-separated, without the enclosing brackets.
    public var json: [UInt8]
    public var count: Int
    /// Instances by `State.Name`, for the run summary and metrics.
    public var states: [String: Int]
    public var nextToken: String?
    /// The `InstanceId` of each rendered instance, in order (pagination keeps each id once).
    public var instanceIds: [String] = []
    /// Where each instance is in `json`.
    public var spans: [Range<Int>] = []
    /// Each instance's `State.Name`, when it has one.
    public var stateNames: [String?] = []
    /// Each instance's content hash (`InventoryStore.contentHash`), when the page was
    /// rendered for storage; empty otherwise.
    public var hashes: [String] = []
    /// Each instance's text and csv cells, when the page was rendered with `.rows`; empty
    /// otherwise (a sink that wants rows then takes them from `values()`, which needs `.json`).
    public var rows: [InstanceRow] = []

    /// What a page is rendered with, besides its count, ids, states and next token, which it
    /// always has. A cell nobody prints is never made a `String`: without `.rows`, the row's
    /// type, zone, addresses and tags are written as JSON straight from the body.
    public struct Contents: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// The instances' JSON (`json`, `spans`).
        public static let json = Contents(rawValue: 1)
        /// Their text and csv cells (`rows`).
        public static let rows = Contents(rawValue: 2)
        /// Their content hashes (`hashes`), for storage; only with `.json`.
        public static let hashes = Contents(rawValue: 4)
    }

    public init(json: [UInt8], count: Int, states: [String: Int], nextToken: String?, instanceIds: [String] = []) {
        self.json = json
        self.count = count
        self.states = states
        self.nextToken = nextToken
        self.instanceIds = instanceIds
    }

    /// The page from values (the exact path's answer), with everything the fast path carries.
    public init(values: [JSONValue], nextToken: String?, hashing: Bool) {
        self.init(json: [], count: values.count, states: [:], nextToken: nextToken)
        for (i, instance) in values.enumerated() {
            if i > 0 { json.append(UInt8(ascii: ",")) }
            let start = json.count
            instance.write(to: &json)
            spans.append(start..<json.count)
            let row = InstanceRow(instance)
            rows.append(row)
            stateNames.append(row.state)
            states[row.state ?? "unknown", default: 0] += 1
            if let id = row.id { instanceIds.append(id) }
            if hashing { hashes.append(InventoryStore.contentHash(instance)) }
        }
    }

    /// The same instances as values, for sinks that need them.
    public func values() throws -> [JSONValue] {
        guard !json.isEmpty else { return [] }
        return try JSONValue.parse([UInt8(ascii: "[")] + json + [UInt8(ascii: "]")]).arrayValue ?? []
    }

    /// One instance as a value.
    public func value(at index: Int) throws -> JSONValue {
        try JSONValue.parse(json[spans[index]])
    }
}
