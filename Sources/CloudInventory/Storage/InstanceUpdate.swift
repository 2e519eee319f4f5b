import Foundation

/// The `$set` / `$unset` of one instance seen by a poll.
struct InstanceUpdate {
    var set: [(String, BSONValue)]
    var unset: [(String, BSONValue)] = [("VanishedAt", "")]
    let members: [JSONMember]
    let when: BSONValue

    init(account: String, members: [JSONMember], hash: String, when: BSONValue, pollId: String) {
        self.members = members
        self.when = when
        set = [("Account", .string(account))] + members.map { ($0.key, BSONValue($0.value)) }
        set += Self.sighting(hash: hash, when: when, pollId: pollId)
    }

    /// What every sighting sets after EC2's own fields.
    static func sighting(hash: String, when: BSONValue, pollId: String) -> [(String, BSONValue)] {
        [("LastSeen", when), ("LastPollId", .string(pollId)), ("ContentHash", .string(hash)), ("Present", true)]
    }

    /// The update of an instance seen for the first time, written straight from its rendered
    /// JSON (`json[span]`): the same document as `InstanceUpdate(...)` with `LastChanged`,
    /// then `model(key:)`, without the instance as a value tree. `FastPathTests` holds the two
    /// equal on the bench world.
    static func firstSighting(json: [UInt8], span: Range<Int>, account: String, hash: String, when: BSONValue,
                              pollId: String) throws(JSONValue.ParseError) -> [UInt8] {
        var writer = BSONWriter(capacity: span.count + 256)
        try firstSighting(json: json, span: span, account: account, hash: hash, when: when, pollId: pollId, to: &writer)
        return writer.bytes
    }

    /// The same, appended to `writer`.
    static func firstSighting(json: [UInt8], span: Range<Int>, account: String, hash: String, when: BSONValue,
                              pollId: String, to writer: inout BSONWriter) throws(JSONValue.ParseError) {
        try firstSighting(account: account, hash: hash, when: when, pollId: pollId, to: &writer) { writer throws(JSONValue.ParseError) in
            try writer.appendMembers(ofJSONObject: json, in: span)
        }
    }

    /// The same update from the instance's members as values (a replayed page), without
    /// the `BSONValue` tree in between, appended to `writer`.
    static func firstSighting(members: [JSONMember], account: String, hash: String, when: BSONValue, pollId: String,
                              to writer: inout BSONWriter) {
        firstSighting(account: account, hash: hash, when: when, pollId: pollId, to: &writer) { writer in
            for member in members { member.value.writeElement(member.key, to: &writer) }
        }
    }

    private static func firstSighting<E: Error>(account: String, hash: String, when: BSONValue, pollId: String, to writer: inout BSONWriter,
                                                members: (inout BSONWriter) throws(E) -> Void) throws(E) {
        let update = writer.begin()
        writer.key(.document, "$set")
        let set = writer.begin()
        BSONValue.string(account).writeElement("Account", to: &writer)
        try members(&writer)
        for (key, value) in sighting(hash: hash, when: when, pollId: pollId) + [("LastChanged", when)] {
            value.writeElement(key, to: &writer)
        }
        writer.end(set)
        for (key, value) in trailer(unset: [("VanishedAt", "")], when: when) { value.writeElement(key, to: &writer) }
        writer.end(update)
    }

    /// The update's members after `$set`.
    private static func trailer(unset: [(String, BSONValue)], when: BSONValue) -> [(String, BSONValue)] {
        [("$unset", .document(unset)), ("$setOnInsert", ["FirstSeen": when])]
    }

    /// Compares with the stored document: returns the events (type, extra fields) and notes
    /// `LastChanged` and the fields to remove.
    mutating func compare(with before: BSONValue) -> [(String, [(String, BSONValue)])] {
        var events: [(String, [(String, BSONValue)])] = []
        if !(before["Present"]?.boolValue ?? true) { events.append(("reappeared", [])) }
        let diff = InventoryStore.diff(old: before, new: members)
        if !diff.isEmpty {
            set.append(("LastChanged", when))
            if let state = diff.first(where: { $0.field == "State" }) {
                events.append(("state_changed", [("From", state.old["Name"] ?? .null), ("To", state.new["Name"] ?? .null)]))
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

    func model(key: String) -> MongoClient.WriteModel {
        .updateOne(filter: ["_id": .string(key)],
                   update: .document([("$set", .document(set))] + Self.trailer(unset: unset, when: when)),
                   upsert: true)
    }
}
