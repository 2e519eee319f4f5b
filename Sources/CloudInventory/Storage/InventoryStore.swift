import Crypto
import Foundation
import Logging

/// Identifies one poll everywhere it is stored: the poll record's `_id`, each instance's
/// `LastPollId`, each event's `PollId` and the seed of the event ids.
public struct PollContext: Sendable, Equatable {
    public var pollId: String
    public var account: String
    public var arn: String
    /// Whole seconds, so the live write and a replay from the spool store the same instant.
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
/// Everything is idempotent: instance writes are keyed upserts, event ids derive from
/// (poll, instance, type) and are written with `$setOnInsert`, and the poll record is an
/// upsert. Replaying a poll, whole or in part, never duplicates anything.
public final class InventoryStore {
    public static let instances = "instances"
    public static let events = "events"
    public static let polls = "polls"

    public let client: MongoClient
    public let database: String
    private let logger: Logger
    private var indexesReady = false
    /// Per live poll and slice: the time its writes carry (see `observationTime`).
    private var observationTimes: [String: Date] = [:]
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

    /// 16 bytes of SHA-256 over the instance's canonical JSON (`JSONValue.canonical`): the
    /// same instance with its elements in another order has the same hash. (Hashes stored
    /// before the canonical form differ once: the next poll rewrites such an instance, with
    /// no event, since its fields compare equal.)
    static func contentHash(_ instance: JSONValue) -> String {
        var bytes: [UInt8] = []
        instance.writeCanonical(to: &bytes)
        return contentHash(ofCanonical: bytes)
    }

    /// The hash of bytes already in canonical form (`CanonicalRecords` copies them out).
    static func contentHash(ofCanonical bytes: [UInt8]) -> String {
        Hex.encode(SHA256.hash(data: bytes).prefix(16))
    }

    static func eventId(_ pollId: String, _ key: String, _ type: String) -> String {
        Hex.encode(SHA256.hash(data: Array("\(pollId)|\(key)|\(type)".utf8)).prefix(12))
    }

    /// The upsert of one event document, `{$setOnInsert: event}` keyed by its id, encoded
    /// straight (a first poll writes one per instance). Every event has these fields in this
    /// order, then its type's own (`extra`).
    static func eventUpsert(id: String, slice: SliceID, instanceId: String, type: String, time: BSONValue, pollId: String,
                            extra: [(String, BSONValue)]) -> MongoClient.WriteModel {
        var writer = BSONWriter(capacity: 320)
        let update = writer.begin()
        writer.key(.document, "$setOnInsert")
        let event = writer.begin()
        writer.key(.string, "_id"); writer.string(id)
        writer.key(.string, "Account"); writer.string(slice.account)
        writer.key(.string, "Region"); writer.string(slice.region)
        writer.key(.string, "InstanceId"); writer.string(instanceId)
        writer.key(.string, "Type"); writer.string(type)
        time.writeElement("Time", to: &writer)
        writer.key(.string, "PollId"); writer.string(pollId)
        for (key, value) in extra { value.writeElement(key, to: &writer) }
        writer.end(event)
        writer.end(update)
        return .upsertEncoded(id: id, update: writer.bytes)
    }

    /// Fields an instance document carries besides EC2's own.
    static let bookkeeping: Set<String> = ["_id", "Account", "FirstSeen", "LastSeen", "LastChanged", "LastPollId", "ContentHash", "Present", "VanishedAt"]

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
    /// region whose poll finished without error: a partial region proves nothing. One query
    /// finds them; one bulk per collection records them. Nothing is deleted.
    public func markVanished(slice: SliceID, poll: PollContext) throws(MongoError) {
        let region = slice.region
        try ensureIndexes()
        let when = BSONValue.date(try observationTime(slice: slice, poll: poll))
        let gone = try client.find(database, Self.instances,
                                   filter: ["Account": .string(slice.account), "Region": .string(region), "Present": true,
                                            "LastPollId": ["$ne": .string(poll.pollId)], "LastSeen": ["$lte": when]],
                                   projection: ["InstanceId": 1, "State": 1, "LastPollId": 1])
        guard !gone.isEmpty else { return }
        var events: [MongoClient.WriteModel] = []
        for doc in gone {
            guard let key = doc["_id"]?.stringValue, let id = doc["InstanceId"]?.stringValue else { continue }
            // Keyed by the last poll that saw it, not by this one: a run killed between the
            // events and the instances write leaves the instance present, and the next poll
            // that finds it gone then writes the same event id instead of a second vanish.
            let eid = Self.eventId(doc["LastPollId"]?.stringValue ?? poll.pollId, key, "vanished")
            events.append(Self.eventUpsert(id: eid, slice: slice, instanceId: id, type: "vanished", time: when, pollId: poll.pollId,
                                           extra: [("LastState", doc["State"]?["Name"] ?? .null)]))
        }
        try client.bulkWrite(database, Self.events, events)
        try client.bulkWrite(database, Self.instances, [.updateMany(
            filter: ["_id": ["$in": .array(gone.compactMap { $0["_id"] })]],
            update: ["$set": ["Present": false, "VanishedAt": when, "LastChanged": when]])])
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

    /// The time a poll's writes for `slice` carry. A replay uses its own `PolledAt`: older
    /// than what is stored, it moves nothing backwards. A live poll whose clock is behind the
    /// latest `LastSeen` stored for the slice (the host clock stepped back) still records
    /// everything it saw, dated at that latest `LastSeen`, so history never runs backwards
    /// and nothing is dropped; the step is logged once per slice and kept in `clockStep`.
    func observationTime(slice: SliceID, poll: PollContext) throws(MongoError) -> Date {
        guard !poll.isReplay else { return poll.polledAt }
        let key = "\(poll.pollId)|\(slice)"
        if let known = observationTimes[key] { return known }
        let latest = try client.find(database, Self.instances, filter: ["Account": .string(slice.account), "Region": .string(slice.region), "Present": true],
                                     projection: ["LastSeen": 1], sort: ["LastSeen": -1], limit: 1).first?["LastSeen"]?.dateValue
        var when = poll.polledAt
        if let latest, latest > poll.polledAt {
            let step = latest.timeIntervalSince(poll.polledAt)
            logger.warning("host clock is behind the stored history: this poll is recorded at the latest stored time",
                           metadata: ["slice": "\(slice)", "stepSeconds": "\(Int(step.rounded(.up)))",
                                      "polledAt": "\(UTCTime.iso8601(poll.polledAt))", "recordedAt": "\(UTCTime.iso8601(latest))"])
            clockStep = max(clockStep ?? 0, step)
            when = latest
        }
        observationTimes[key] = when
        return when
    }
}
