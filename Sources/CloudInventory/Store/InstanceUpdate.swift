import AWSCore
import Foundation

/// The write of one instance seen by a poll. Every write is conditional, so that any number
/// of writers keep one true history:
/// - a first sighting is `$setOnInsert` only: if another writer inserted the instance first,
///   it changes nothing, and the page re-reads and re-decides;
/// - a change is `updateOne` on the exact version it was compared with (`versionFilter`), so
///   a document another writer changed meanwhile is not overwritten.
/// The events a write implies travel inside it, in `Pending` (`EventOutbox`): they exist
/// exactly when the write won.
struct InstanceUpdate {
    var set: [(String, BSONValue)]
    var unset: [(String, BSONValue)] = [("VanishedAt", "")]
    let members: [JSONMember]
    let order: PollOrder

    init(account: String, members: [JSONMember], hash: String, order: PollOrder) {
        self.members = members
        self.order = order
        set = [("Account", .string(account))] + members.map { ($0.key, BSONValue($0.value)) }
        set += Self.sighting(hash: hash, order: order)
    }

    /// What every sighting sets after EC2's own fields.
    static func sighting(hash: String, order: PollOrder) -> [(String, BSONValue)] {
        [("LastSeen", order.bsonDate), ("LastPollId", .string(order.pollId)), ("ContentHash", .string(hash)), ("Present", true),
         ("Rev", .string(order.rev))]
    }

    /// The update of an instance seen for the first time, written straight from its rendered
    /// JSON (`json[span]`): the same document as `newInstance(...)` builds from values,
    /// without the instance as a value tree. `FastPathTests` holds the two equal.
    static func firstSighting(json: [UInt8], span: Range<Int>, account: String, hash: String, order: PollOrder,
                              pending: [BSONValue]) throws(JSONValue.ParseError) -> [UInt8] {
        var writer = BSONWriter(capacity: span.count + 256)
        try firstSighting(json: json, span: span, account: account, hash: hash, order: order, pending: pending, to: &writer)
        return writer.bytes
    }

    /// The same, appended to `writer`.
    static func firstSighting(json: [UInt8], span: Range<Int>, account: String, hash: String, order: PollOrder,
                              pending: [BSONValue], to writer: inout BSONWriter) throws(JSONValue.ParseError) {
        try firstSighting(account: account, hash: hash, order: order, pending: pending, to: &writer) { writer throws(JSONValue.ParseError) in
            try writer.appendMembers(ofJSONObject: json, in: span)
        }
    }

    /// The same update from the instance's members as values (a replayed page), without
    /// the `BSONValue` tree in between, appended to `writer`.
    static func firstSighting(members: [JSONMember], account: String, hash: String, order: PollOrder, pending: [BSONValue],
                              to writer: inout BSONWriter) {
        firstSighting(account: account, hash: hash, order: order, pending: pending, to: &writer) { writer in
            for member in members { member.value.writeElement(member.key, to: &writer) }
        }
    }

    /// `{$setOnInsert: {Account, <EC2's fields>, <sighting>, LastChanged, FirstSeen, Pending}}`.
    private static func firstSighting<E: Error>(account: String, hash: String, order: PollOrder, pending: [BSONValue],
                                                to writer: inout BSONWriter,
                                                members: (inout BSONWriter) throws(E) -> Void) throws(E) {
        let update = writer.begin()
        writer.key(.document, "$setOnInsert")
        let set = writer.begin()
        BSONValue.string(account).writeElement("Account", to: &writer)
        try members(&writer)
        for (key, value) in sighting(hash: hash, order: order) + insertOnly(order: order, pending: pending) {
            value.writeElement(key, to: &writer)
        }
        writer.end(set)
        writer.end(update)
    }

    /// The fields only a first sighting writes, after the sighting's.
    private static func insertOnly(order: PollOrder, pending: [BSONValue]) -> [(String, BSONValue)] {
        [("LastChanged", order.bsonDate), ("FirstSeen", order.bsonDate), ("Pending", .array(pending))]
    }

    /// The first sighting by the value path: the same document the fast path encodes.
    func newInstance(key: String, pending: [BSONValue]) -> MongoClient.WriteModel {
        .updateOne(filter: ["_id": .string(key)],
                   update: ["$setOnInsert": .document(set + Self.insertOnly(order: order, pending: pending))],
                   upsert: true)
    }

    /// Compares with the stored document: returns the events (type, extra fields) and notes
    /// `LastChanged` and the fields to remove.
    mutating func compare(with before: BSONValue) -> [(String, [(String, BSONValue)])] {
        var events: [(String, [(String, BSONValue)])] = []
        if !(before["Present"]?.boolValue ?? true) { events.append(("reappeared", [])) }
        let diff = InventoryStore.diff(old: before, new: members)
        if !diff.isEmpty {
            set.append(("LastChanged", order.bsonDate))
            if let state = diff.first(where: { $0.field == "State" }) {
                var extra: [(String, BSONValue)] = [("From", state.old["Name"] ?? .null), ("To", state.new["Name"] ?? .null)]
                if let exact = StateTransitionTime.within(members: members, after: before["LastSeen"], upTo: order) {
                    extra.append(("ExactTime", exact))
                }
                events.append(("state_changed", extra))
            }
            let others = diff.filter { $0.field != "State" }
            if !others.isEmpty {
                events.append(("changed", [("Changes", .array(others.map { .document([("Field", .string($0.field)), ("Old", $0.old), ("New", $0.new)]) }))]))
            }
        }
        for field in diff where field.new == .null && !members.contains(where: { $0.key == field.field }) {
            unset.append((field.field, ""))
        }
        return events
    }

    /// The change of `before` into this sighting, carrying `pending` (or clearing an outbox
    /// already delivered), on the condition that `before` is still what is stored.
    func change(of before: BSONValue, key: String, pending: [BSONValue]) -> MongoClient.WriteModel {
        let outbox: [(String, BSONValue)] = pending.isEmpty ? [] : [("Pending", .array(pending))]
        let cleared: [(String, BSONValue)] = pending.isEmpty ? [("Pending", "")] : []
        return .updateOne(filter: Self.versionFilter(key: key, before),
                          update: .document([("$set", .document(set + outbox)), ("$unset", .document(unset + cleared))]),
                          upsert: false)
    }

    /// Matches `doc` only as it was read: the fields every writer changes, each equal to
    /// what was read, or absent where it was absent.
    static func versionFilter(key: String, _ doc: BSONValue) -> BSONValue {
        var filter: [(String, BSONValue)] = [("_id", .string(key))]
        for field in ["Rev", "LastSeen", "LastPollId", "Present", "ContentHash"] {
            filter.append((field, doc[field] ?? ["$exists": false]))
        }
        return .document(filter)
    }
}

/// The moment EC2 states for an instance's last state transition, in `StateTransitionReason`
/// ("User initiated (2026-12-07 13:08:27 GMT)"). Kept with a `state_changed` event only when
/// it falls inside the event's window (after the previous sighting, not after this one):
/// otherwise it dates an earlier transition.
enum StateTransitionTime {
    static func within(members: [JSONMember], after previous: BSONValue?, upTo order: PollOrder) -> BSONValue? {
        guard let reason = members.first(where: { $0.key == "StateTransitionReason" })?.value.stringValue,
              let stated = parse(reason) else { return nil }
        let ms = PollOrder.milliseconds(stated)
        guard ms <= order.milliseconds else { return nil }
        if let previous = previous?.dateMilliseconds, ms < previous { return nil }
        return .date(ms)
    }

    /// The date in "(YYYY-MM-DD HH:MM:SS GMT)"; nil for anything else. Total: any text.
    static func parse(_ reason: String) -> Date? {
        guard let open = reason.lastIndex(of: "("), let close = reason.lastIndex(of: ")"), open < close else { return nil }
        let inner = reason[reason.index(after: open)..<close]
        let bytes = Array(inner.utf8)
        // "YYYY-MM-DD HH:MM:SS GMT": the one form EC2 writes; anything else is no time.
        guard bytes.count == 23, inner.hasSuffix(" GMT"), bytes[10] == UInt8(ascii: " ") else { return nil }
        return UTCTime.parse(String(decoding: bytes[0..<10], as: UTF8.self) + "T" + String(decoding: bytes[11..<19], as: UTF8.self) + "Z")
    }
}
