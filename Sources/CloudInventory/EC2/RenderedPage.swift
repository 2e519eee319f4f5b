import AWSCore

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
    /// The instances without an `InstanceId` (their indices), so that `instanceIds` can be
    /// matched with the instances (`droppingRepeats`). Nearly always empty.
    var idless: [Int] = []
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
            if let id = row.id { instanceIds.append(id) } else { idless.append(i) }
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

    /// Drops the instances whose id is in `seen` or earlier on this page, adding the others'
    /// ids to `seen` (instances without an id are kept). Returns how many were dropped.
    mutating func dropRepeats(seen: inout InstanceIdSet) -> Int {
        if idless.isEmpty, seen.insertAllNew(instanceIds) { return 0 }
        var keep: [Bool] = []
        var ids = instanceIds.makeIterator()
        var rest = idless.makeIterator()
        var nextIdless = rest.next()
        for i in 0..<count {
            if i == nextIdless {
                keep.append(true)
                nextIdless = rest.next()
            } else if let id = ids.next() {
                keep.append(seen.insert(id))
            } else {
                keep.append(true)
            }
        }
        let dropped = keep.count(where: { !$0 })
        if dropped > 0 { self = kept(keep) }
        return dropped
    }

    /// The page with only the instances `keep` marks.
    private func kept(_ keep: [Bool]) -> RenderedPage {
        var page = RenderedPage(json: [], count: 0, states: [:], nextToken: nextToken)
        var ids = instanceIds.makeIterator()
        let idless = Set(idless)
        for i in 0..<count {
            let id = idless.contains(i) ? nil : ids.next()
            guard keep[i] else { continue }
            if spans.count == count {
                if page.count > 0 { page.json.append(UInt8(ascii: ",")) }
                let start = page.json.count
                page.json.append(contentsOf: json[spans[i]])
                page.spans.append(start..<page.json.count)
            }
            if rows.count == count { page.rows.append(rows[i]) }
            if hashes.count == count { page.hashes.append(hashes[i]) }
            page.states[stateNames[i] ?? "unknown", default: 0] += 1
            page.stateNames.append(stateNames[i])
            if let id { page.instanceIds.append(id) } else { page.idless.append(page.count) }
            page.count += 1
        }
        return page
    }
}
