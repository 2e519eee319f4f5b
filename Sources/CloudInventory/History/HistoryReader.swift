import Foundation

/// Reads the history the poller stored (`InventoryStore`'s three collections) back, one
/// document at a time, in the order each question wants. Never writes.
///
/// Indexes used: `instances` sorts on the unique `account_region_instance`; `changes` on
/// `time`; `history` on `instance_id_time`; `polls` on `started_finished` (see `ensureIndexes`).
public struct HistoryReader {
    public let client: MongoClient
    public let database: String

    public init(client: MongoClient, database: String) {
        self.client = client
        self.database = database
    }

    static let instanceOrder: BSONValue = .document([("Account", 1), ("Region", 1), ("InstanceId", 1)])

    /// The stored instances `selection` picks, by account, region and instance id; with
    /// `asOf`, each as it stood then (`FleetAsOf`).
    public func instances(_ selection: InstanceSelection, _ body: (BSONValue) throws -> Void) throws {
        guard let asOf = selection.asOf else {
            return try client.stream(database, InventoryStore.instances, filter: selection.filter, sort: Self.instanceOrder, body)
        }
        let instances = try client.cursor(database, InventoryStore.instances, filter: selection.filter, sort: Self.instanceOrder)
        defer { instances.close() }
        var later = EventSelection()
        later.accounts = selection.accounts
        later.regions = selection.regions
        later.instanceIds = selection.instanceIds
        let laterFilter = InstanceSelection.all([later.filter, ["Time": ["$gt": .date(asOf)]]])
        let events = try client.cursor(database, InventoryStore.events, filter: laterFilter,
                                       sort: .document([("Account", 1), ("Region", 1), ("InstanceId", 1), ("Time", 1)]))
        defer { events.close() }
        var fleet = FleetAsOf(asOf: asOf, events: events)
        while let current = try instances.next() {
            let then = try fleet.rebuild(current)
            if selection.matches(then) { try body(then) }
        }
    }

    /// The events `selection` picks, in time order (`EventOrder` within one poll).
    /// With `last`, only the latest `last` of them (read newest first, at most `last` held),
    /// still given in time order.
    public func events(_ selection: EventSelection, last: Int? = nil, _ body: (BSONValue) throws -> Void) throws {
        var order = EventOrder()
        guard let last else {
            try client.stream(database, InventoryStore.events, filter: selection.filter,
                              sort: .document([("Time", 1), ("Account", 1), ("Region", 1), ("InstanceId", 1)])) { try order.add($0, body) }
            return try order.finish(body)
        }
        var latest: [BSONValue] = []
        try client.stream(database, InventoryStore.events, filter: selection.filter,
                          sort: .document([("Time", -1), ("Account", -1), ("Region", -1), ("InstanceId", -1)]), limit: last) {
            latest.append($0)
        }
        for event in latest.reversed() { try order.add(event, body) }
        try order.finish(body)
    }

    /// One instance's stored documents (one per account and region it was seen in; almost
    /// always one).
    public func instance(_ instanceId: String, _ body: (BSONValue) throws -> Void) throws {
        try client.stream(database, InventoryStore.instances, filter: ["InstanceId": .string(instanceId)], sort: Self.instanceOrder, body)
    }

    /// When the history begins: the earliest poll record's `StartedAt` (nil without one, or
    /// when the earliest holds no date there).
    public func firstPollStart() throws -> Date? {
        var start: Date?
        try client.stream(database, InventoryStore.polls, filter: ["StartedAt": ["$type": "date"]],
                          projection: .document([("StartedAt", 1)]), sort: .document([("StartedAt", 1)]), limit: 1) {
            start = $0["StartedAt"]?.dateValue
        }
        return start
    }

    /// Poll records, newest first. `StartedAt` is whole seconds, so two polls that started in
    /// the same second are told apart by `FinishedAt` (milliseconds, live or replayed): runs
    /// are serialised by the overlap lock, so the later one finished later. On the index
    /// `started_finished`.
    public func polls(_ selection: PollRecordSelection, _ body: (BSONValue) throws -> Void) throws {
        try client.stream(database, InventoryStore.polls, filter: selection.filter,
                          sort: .document([("StartedAt", -1), ("FinishedAt", -1), ("_id", -1)]), limit: selection.last, body)
    }
}

/// Events of one instance at one time (one poll) come out in the order they happened:
/// appeared or reappeared, then the state change, then the other changes, then vanished.
/// The server sorts by time and instance only; this puts each such group in order.
struct EventOrder {
    private var group: [BSONValue] = []

    static let rank = ["appeared": 0, "reappeared": 1, "state_changed": 2, "changed": 3, "vanished": 4]

    static func key(_ event: BSONValue) -> [BSONValue?] {
        [event["Time"], event["Account"], event["Region"], event["InstanceId"]]
    }

    mutating func add(_ event: BSONValue, _ body: (BSONValue) throws -> Void) throws {
        if let first = group.first, Self.key(first) != Self.key(event) { try finish(body) }
        group.append(event)
    }

    mutating func finish(_ body: (BSONValue) throws -> Void) throws {
        let sorted = group.enumerated().sorted { a, b in
            let ra = Self.rank[a.element["Type"]?.stringValue ?? ""] ?? 5, rb = Self.rank[b.element["Type"]?.stringValue ?? ""] ?? 5
            return ra != rb ? ra < rb : a.offset < b.offset
        }
        group = []
        for event in sorted { try body(event.element) }
    }
}
