import AWSCore
import Foundation

/// Events travel inside the instance write that implies them, in the document's `Pending`
/// array: MongoDB writes one document atomically, so an event exists exactly when the
/// conditional write that observed its transition won. No event of a writer that lost a
/// race is ever stored, and none of a writer that won is ever lost.
///
/// Delivering copies each pending event into `events` (an upsert keyed by the event's id:
/// delivered twice, it is stored once) and then clears the outbox, on the condition that it
/// still holds those events. A run killed between the two leaves the outbox full; the next
/// poll of the slice delivers it (`recoverOutboxes`), and a writer about to replace an
/// outbox delivers it first.
extension InventoryStore {
    /// One event document. Every event has these fields in this order: the poll that saw the
    /// new state (`Time`, `PollId`), the last sighting of the old state where there was one
    /// (`PrevSeen`, `PrevPollId`: the change happened between the two), then its type's own.
    static func eventDocument(key: String, slice: SliceID, instanceId: String, type: String, order: PollOrder,
                              previous: BSONValue?, extra: [(String, BSONValue)]) -> BSONValue {
        var fields: [(String, BSONValue)] = [
            ("_id", .string(eventId(order.pollId, key, type))), ("Account", .string(slice.account)), ("Region", .string(slice.region)),
            ("InstanceId", .string(instanceId)), ("Type", .string(type)), ("Time", order.bsonDate), ("PollId", .string(order.pollId)),
        ]
        if let seen = previous?["LastSeen"], seen.dateMilliseconds != nil {
            fields.append(("PrevSeen", seen))
            if let poll = previous?["LastPollId"] { fields.append(("PrevPollId", poll)) }
        }
        return .document(fields + extra)
    }

    /// Stores `outboxes`' events in `events`, then clears each outbox that still holds them.
    func deliver(_ outboxes: [(key: String, events: [BSONValue])]) throws(MongoError) {
        let ids = try store(outboxes.flatMap(\.events))
        guard !ids.isEmpty else { return }
        try client.bulkWrite(database, Self.instances, [.updateMany(
            filter: ["_id": .array(outboxes.map { .string($0.key) }).inFilter, "Pending._id": .array(ids).inFilter],
            update: ["$unset": ["Pending": ""]])])
    }

    /// The tail every conditional write of instances shares: the bulk, then which of its
    /// writes lost to another writer (`notWritten`, read again by `order`), then the events
    /// of those that won delivered. Returns the keys that lost.
    func writeAndDeliver(_ models: [MongoClient.WriteModel], _ outboxes: [(key: String, events: [BSONValue])],
                         order: PollOrder) throws(MongoError) -> [String] {
        let result = try client.bulkWrite(database, Self.instances, models)
        let missed = result.matched == models.count ? [] : try notWritten(outboxes.map(\.key), by: order)
        try deliver(outboxes.filter { !missed.contains($0.key) && !$0.events.isEmpty })
        return missed
    }

    /// The conditional write that stores `previous` (the version read) as vanished by
    /// `order`, carrying its `vanished` event in its outbox.
    static func vanishModel(key: String, previous: BSONValue, order: PollOrder, event: BSONValue) -> MongoClient.WriteModel {
        .updateOne(filter: InstanceUpdate.versionFilter(key: key, previous), update: ["$set": [
            "Present": false, "VanishedAt": order.bsonDate, "LastChanged": order.bsonDate, "Rev": .string(order.rev),
            "Pending": [event]]], upsert: false)
    }

    /// Stores events in `events` only (each `$setOnInsert` by its id); returns their ids.
    @discardableResult
    func store(_ events: [BSONValue]) throws(MongoError) -> [BSONValue] {
        var ids: [BSONValue] = []
        var writer = BSONWriter(capacity: 512)
        try client.bulkWrite(database, Self.events) { bulk throws(MongoError) in
            for event in events {
                guard let id = event["_id"]?.stringValue else { continue }
                writer.reset()
                let update = writer.begin()
                event.writeElement("$setOnInsert", to: &writer)
                writer.end(update)
                try bulk.upsert(id: id, encoded: writer)
                ids.append(.string(id))
            }
        }
        return ids
    }

    /// Delivers every outbox a killed run left in `slice`.
    func recoverOutboxes(slice: SliceID) throws(MongoError) {
        let left = try client.find(database, Self.instances,
                                   filter: ["Account": .string(slice.account), "Region": .string(slice.region), "Pending._id": ["$exists": true]],
                                   projection: ["Pending": 1])
        let outboxes = left.compactMap { doc -> (key: String, events: [BSONValue])? in
            guard let key = doc["_id"]?.stringValue, let events = doc["Pending"]?.arrayValue, !events.isEmpty else { return nil }
            return (key, events)
        }
        guard !outboxes.isEmpty else { return }
        logger.notice("delivering events a stopped run left with their instances", metadata: ["slice": "\(slice)", "instances": "\(outboxes.count)"])
        try deliver(outboxes)
    }

    /// The keys of `keys` whose stored `Rev` is not `order`'s: the writes another writer won.
    func notWritten(_ keys: [String], by order: PollOrder) throws(MongoError) -> [String] {
        let docs = try client.find(database, Self.instances, filter: ["_id": .array(keys.map { .string($0) }).inFilter], projection: ["Rev": 1])
        let mine = Set(docs.compactMap { $0["Rev"]?.stringValue == order.rev ? $0["_id"]?.stringValue : nil })
        return keys.filter { !mine.contains($0) }
    }
}

extension BSONValue {
    /// `{$in: self}`.
    var inFilter: BSONValue { ["$in": self] }
}
