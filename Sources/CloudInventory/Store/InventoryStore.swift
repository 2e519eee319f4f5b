@_spi(Bytes) import AWSCore
import Crypto
import Foundation
import Logging

/// Identifies one poll everywhere it is stored: the poll record's `_id`, each instance's
/// `LastPollId`, each event's `PollId` and the seed of the event ids.
public struct PollContext: Sendable, Equatable {
    public var pollId: String
    public var account: String
    public var arn: String
    /// When the poll began, in whole seconds: what is printed and what `StartedAt` says.
    /// The writes carry each slice's own order (`PollOrder`), in milliseconds.
    public var polledAt: Date
    /// Read back from the spool, not observed by this run. A replay never moves anything
    /// backwards; a live poll always records what it saw (see `observationTime`).
    public var isReplay = false
    /// What a selected poll asked for: it marks nothing vanished, and its record says so.
    public var selection: PollSelection?

    public init(pollId: String, account: String, arn: String, polledAt: Date) {
        self.pollId = pollId
        self.account = account
        self.arn = arn
        self.polledAt = polledAt
    }

    /// `20261125T114521Z-123456789012-1a2b3c4d`: sorts by time, unique per run.
    public static func newPollId(account: String, at date: Date) -> String {
        "\(UTCTime.amzDate(date))-\(account)-\(Hex.encode((0..<4).map { _ in UInt8.random(in: 0...255) }))"
    }
}

/// The inventory's history in MongoDB: `instances` (current state of each instance ever seen),
/// `events` (every observed change), `polls` (one record per poll).
///
/// Any number of writers may share it (hosts, an operator's run, replays), with no lock held
/// anywhere: every instance write is conditional (`InstanceUpdate`), ordered by `PollOrder`,
/// and carries its events in an outbox delivered after it (`EventOutbox`), so a stale writer
/// never overwrites newer state and a transition is stored once whoever observed it. Event
/// ids derive from (poll, instance, type) and are written with `$setOnInsert`, and the poll
/// record is an upsert: replaying a poll, whole or in part, never duplicates anything.
public final class InventoryStore {
    public static let instances = "instances"
    public static let events = "events"
    public static let polls = "polls"

    public let client: MongoClient
    public let database: String
    let logger: Logger
    private var indexesReady = false
    /// Per poll and slice: the order its writes carry (see `sliceOrder`).
    private var sliceOrders: [String: PollOrder] = [:]
    /// Per replayed poll and slice: the slice time its spool file recorded.
    private var replaySliceTimes: [String: Int64] = [:]
    /// Per replayed poll: its end, where its file has one.
    private var replayFinishTimes: [String: Int64] = [:]
    /// The largest backward step of the host clock this run found, in seconds.
    public private(set) var clockStep: TimeInterval?

    public init(client: MongoClient, database: String, logger: Logger) {
        self.client = client
        self.database = database
        self.logger = logger
    }

    /// Which database this is, without any secret: spool files record it.
    public var identity: String { client.uri.databaseIdentity(database) }

    /// Closes the client. libmongoc itself is torn down at process exit.
    public func close() {
        client.close()
    }

    /// Answers only if the server is reachable; used before replaying the spool and by `--check`.
    public func ping() throws(MongoError) {
        try client.command(database, ["ping": 1])
    }

    /// Creates the indexes once per run. `createIndexes` is a no-op for indexes that exist.
    public func ensureIndexes() throws(MongoError) {
        guard !indexesReady else { return }
        let specs: [(String, [(String, BSONValue, Bool)])] = [
            (Self.instances, [
                ("account_region_instance", ["Account": 1, "Region": 1, "InstanceId": 1], true),
                ("state", ["State.Name": 1], false),
                ("tags", ["Tags.Key": 1, "Tags.Value": 1], false),
                ("last_seen", ["LastSeen": 1], false),
                ("present", ["Account": 1, "Region": 1, "Present": 1, "LastSeen": 1], false),
                ("slice_rev", ["Account": 1, "Region": 1, "Rev": 1], false),  // a slice's newest observation
                ("slice_outbox", ["Account": 1, "Region": 1, "Pending._id": 1], false),  // outboxes left by a stopped run
                ("instance_id", ["InstanceId": 1], false),  // `inventory-poller history`
            ]),
            (Self.events, [
                ("instance_time", ["Account": 1, "Region": 1, "InstanceId": 1, "Time": 1], false),
                ("time", ["Time": 1], false),
                ("type_time", ["Type": 1, "Time": 1], false),
                ("instance_id_time", ["InstanceId": 1, "Time": 1], false),  // `inventory-poller history`
            ]),
            (Self.polls, [("started_finished", .document([("StartedAt", 1), ("FinishedAt", 1), ("_id", 1)]), false)]),  // `polls`, newest first
        ]
        for (collection, indexes) in specs {
            let list: [BSONValue] = indexes.map { name, key, unique in
                var spec: [(String, BSONValue)] = [("key", key), ("name", .string(name))]
                if unique { spec.append(("unique", true)) }
                return .document(spec)
            }
            try client.command(database, .document([("createIndexes", .string(collection)), ("indexes", .array(list))]))
        }
        indexesReady = true
    }

    static func instanceKey(account: String, region: String, instanceId: String) -> String {
        "\(account):\(region):\(instanceId)"
    }

    /// 16 bytes of SHA-256 over the instance's canonical JSON: the same instance with its
    /// elements in another order has the same hash. (Hashes stored before the canonical form
    /// differ once: the next poll rewrites such an instance, with no event, since its fields
    /// compare equal.)
    ///
    /// The one definition of the content hash: the value tree's canonical form,
    /// `JSONValue.writeCanonical` (every object's members sorted by their keys' bytes, at
    /// every depth). There is one other way in, `contentHash(ofCanonical:)`, for the same bytes
    /// copied out of a document by `CanonicalRecords` (the renderer's, and replay's through
    /// the one JSON grammar, `SpoolPageReader`); it is held equal to this one by
    /// `CanonicalHashTests`, `FastPathTests`, `SpoolPageReaderTests` and the `spool-page` fuzz
    /// target, and gives up (records that do not fit) rather than hash anything else.
    static func contentHash(_ instance: JSONValue) -> String {
        var bytes: [UInt8] = []
        instance.writeCanonical(to: &bytes)
        return contentHash(ofCanonical: bytes)
    }

    /// The hash of bytes already in canonical form: `writeCanonical`'s, or the same bytes
    /// from `CanonicalRecords`. Never raw JSON in another order (that would hash otherwise).
    static func contentHash(ofCanonical bytes: [UInt8]) -> String {
        Hex.encode(SHA256.hash(data: bytes).prefix(16))
    }

    /// The same hash of bytes in an `OutputBuffer`, read in place.
    static func contentHash(ofCanonical buffer: OutputBuffer) -> String {
        // Bounds: the buffer's written bytes, as a pointer for the hash's duration only.
        Hex.encode(buffer.withBytes { unsafe $0.withUnsafeBytes { unsafe SHA256.hash(data: $0) } }.prefix(16))
    }

    static func eventId(_ pollId: String, _ key: String, _ type: String) -> String {
        Hex.encode(SHA256.hash(data: Array("\(pollId)|\(key)|\(type)".utf8)).prefix(12))
    }

    /// Fields an instance document carries besides EC2's own.
    static let bookkeeping: Set<String> = ["_id", "Account", "FirstSeen", "LastSeen", "LastChanged", "LastPollId", "ContentHash", "Present",
                                           "VanishedAt", "Rev", "Pending"]

    struct FieldChange {
        var field: String
        var old: BSONValue
        var new: BSONValue
    }

    static func diff(old: BSONValue, new members: [JSONMember]) -> [FieldChange] {
        var changes: [FieldChange] = []
        var seen = Set<String>()
        for member in members {
            seen.insert(member.key)
            let newValue = BSONValue(member.value)
            let oldValue = old[member.key] ?? .null
            // Compared in canonical form: elements EC2 sent in another order are no change.
            if oldValue.json.canonical != newValue.json.canonical { changes.append(FieldChange(field: member.key, old: oldValue, new: newValue)) }
        }
        if case let .document(oldMembers) = old {
            for (key, value) in oldMembers where !seen.contains(key) && !bookkeeping.contains(key) {
                changes.append(FieldChange(field: key, old: value, new: .null))
            }
        }
        return changes
    }

    /// Marks instances that a completely polled region no longer returns. Only call it for a
    /// region whose poll finished without error: a partial region proves nothing. An instance
    /// vanishes only where every sighting stored is older than this poll's own observation of
    /// the slice (which did not return it), each by a write conditional on the version read,
    /// carrying its `vanished` event. Nothing is deleted.
    public func markVanished(slice: SliceID, poll: PollContext) throws(MongoError) {
        try ensureIndexes()
        let order = try sliceOrder(slice: slice, poll: poll)
        // Recorded before looking: a first sighting older than this, inserted meanwhile, is
        // vanished by its writer instead (`vanishBehindComplete`).
        try recordComplete(slice, order: order)
        for _ in 0..<Self.contentionRounds {
            let gone = try client.find(database, Self.instances,
                                       filter: .document([("Account", .string(slice.account)), ("Region", .string(slice.region)),
                                                          ("Present", true), order.olderCondition]),
                                       projection: ["InstanceId": 1, "State": 1, "LastSeen": 1, "LastPollId": 1, "Rev": 1,
                                                    "Present": 1, "ContentHash": 1, "Pending": 1])
            guard !gone.isEmpty else { return }
            var models: [MongoClient.WriteModel] = []
            var outboxes: [(key: String, events: [BSONValue])] = []
            var replaced: [BSONValue] = []
            for doc in gone {
                guard let key = doc["_id"]?.stringValue, let id = doc["InstanceId"]?.stringValue else { continue }
                replaced += doc["Pending"]?.arrayValue ?? []
                let event = Self.eventDocument(key: key, slice: slice, instanceId: id, type: "vanished", order: order, previous: doc,
                                               extra: [("LastState", doc["State"]?["Name"] ?? .null)])
                models.append(Self.vanishModel(key: key, previous: doc, order: order, event: event))
                outboxes.append((key, [event]))
            }
            if !replaced.isEmpty { try store(replaced) }
            if try writeAndDeliver(models, outboxes, order: order).isEmpty { return }
        }
        throw MongoError.contended("\(slice): vanished instances still changed by other writers after \(Self.contentionRounds) rounds")
    }

    /// The poll record: who, when, per-region outcome, counts by state, errors, version.
    public func recordPoll(_ poll: PollContext, finishedAt: Date, outcomes: [SliceOutcome], countsByState: [String: Int], complete: Bool) throws(MongoError) {
        try ensureIndexes()
        let errors: [BSONValue] = outcomes.compactMap { $0.errorMessage.map { .string($0) } }
        let record: BSONValue = .document([
            ("StartedAt", .date(poll.polledAt)), ("FinishedAt", .date(finishedAt)),
            ("Account", .string(poll.account)), ("Arn", .string(poll.arn)),
            ("Regions", .array(outcomes.map { BSONValue($0.json) })),
            ("InstancesByState", .document(countsByState.sorted { $0.key < $1.key }.map { ($0.key, .int64(Int64($0.value))) })),
            ("InstanceCount", .int64(Int64(countsByState.values.reduce(0, +)))),
            ("Errors", .array(errors)), ("Complete", .bool(complete)), ("Spooled", .bool(poll.isReplay)), ("Version", .string(InventoryVersion.current)),
        ] + (poll.selection.map { [("Selection", BSONValue($0.json))] } ?? []))
        try client.bulkWrite(database, Self.polls, [.updateOne(filter: ["_id": .string(poll.pollId)], update: ["$set": record], upsert: true)])
    }

    /// This poll's order for `slice` (see `PollOrder`), fixed the first time the slice is
    /// touched: live, by `beginSlice` just before the slice's first request, else at its
    /// first write from the poll's own time; a replay, from the spooled slice time or the
    /// poll's. A live observation is ordered after everything already stored for the slice
    /// (a hybrid logical clock): a host whose clock stepped back still records what it saw,
    /// dated just after the latest stored sighting, so history never runs backwards and
    /// nothing is dropped; a step of a second or more is logged once per slice and kept in
    /// `clockStep`. Outboxes a stopped run left in the slice are delivered first.
    func sliceOrder(slice: SliceID, poll: PollContext, clock: Date? = nil) throws(MongoError) -> PollOrder {
        let key = "\(poll.pollId)|\(slice)"
        if let known = sliceOrders[key] { return known }
        try recoverOutboxes(slice: slice)
        var ms = replaySliceTimes[key] ?? replayFinishTimes[poll.pollId] ?? PollOrder.milliseconds(clock ?? poll.polledAt)
        if !poll.isReplay, let latest = try latestStored(slice: slice), latest >= ms {
            let step = Double(latest - ms) / 1000
            if step >= 1 {
                let recorded = Date(timeIntervalSince1970: Double(latest + 1) / 1000)
                logger.warning("host clock is behind the stored history: this poll is recorded at the latest stored time",
                               metadata: ["slice": "\(slice)", "stepSeconds": "\(Int(step.rounded(.up)))",
                                          "polledAt": "\(UTCTime.iso8601(poll.polledAt))", "recordedAt": "\(UTCTime.iso8601(recorded))"])
                clockStep = max(clockStep ?? 0, step)
            }
            ms = latest + 1
        }
        let order = PollOrder(milliseconds: ms, pollId: poll.pollId)
        sliceOrders[key] = order
        return order
    }

    /// Fixes this live poll's order for `slice` now, before its first request, and returns it.
    public func beginSlice(_ slice: SliceID, poll: PollContext, at clock: Date = Date()) throws(MongoError) -> PollOrder {
        try sliceOrder(slice: slice, poll: poll, clock: clock)
    }

    /// A replayed poll's order for `slice`, as the spool recorded it.
    public func noteSpooledSlice(_ slice: SliceID, poll: PollContext, milliseconds: Int64) {
        replaySliceTimes["\(poll.pollId)|\(slice)"] = milliseconds
    }

    /// A replayed poll's end, for its slices that recorded no order of their own (files of
    /// earlier versions): see `SpoolReplay.finishedAt`.
    public func noteSpooledPoll(_ poll: PollContext, finishedAt: Date) {
        replayFinishTimes[poll.pollId] = PollOrder.milliseconds(finishedAt)
    }

    /// The newest observation stored for the slice, in milliseconds: its newest `Rev`, or
    /// for documents written before `Rev`, its newest `LastSeen`.
    private func latestStored(slice: SliceID) throws(MongoError) -> Int64? {
        let filter: BSONValue = ["Account": .string(slice.account), "Region": .string(slice.region)]
        let byRev = try client.find(database, Self.instances, filter: filter, projection: ["Rev": 1], sort: ["Rev": -1], limit: 1)
        let bySeen = try client.find(database, Self.instances, filter: filter, projection: ["LastSeen": 1], sort: ["LastSeen": -1], limit: 1)
        let candidates = [byRev.first.flatMap(PollOrder.stored)?.milliseconds, bySeen.first?["LastSeen"]?.dateMilliseconds]
        return candidates.compactMap { $0 }.max()
    }
}
