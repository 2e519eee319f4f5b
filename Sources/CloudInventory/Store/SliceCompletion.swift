import AWSCore
import Foundation

/// The newest complete observation of each slice, in `slices` (`_id` `"<account>:<region>"`,
/// `CompleteRev`): what lets a late writer know that an instance it saw for the first time
/// had already gone when a newer poll read the whole slice.
///
/// A spooled (or merely slower) poll can be the only one that ever saw an instance, and
/// be written after a newer complete poll found the slice without it. Its insert has no
/// stored document to lose to, so it is checked against the slice instead: a first sighting
/// older than the slice's newest complete observation is vanished at once, on behalf of
/// that observation (its order, its poll id). The completing poll records itself before it
/// looks for what vanished, and the inserting poll looks after it inserted, so whichever of
/// the two comes second sees the other.
extension InventoryStore {
    static let slices = "slices"

    static func sliceKey(_ slice: SliceID) -> String { "\(slice.account):\(slice.region)" }

    /// Records `order` as a complete observation of `slice` (never moving it backwards).
    func recordComplete(_ slice: SliceID, order: PollOrder) throws(MongoError) {
        try client.bulkWrite(database, Self.slices, [.updateOne(
            filter: ["_id": .string(Self.sliceKey(slice))],
            update: .document([("$max", ["CompleteRev": .string(order.rev)]),
                               ("$setOnInsert", ["Account": .string(slice.account), "Region": .string(slice.region)])]),
            upsert: true)])
    }

    /// The newest complete observation of `slice`, if any is stored.
    func latestComplete(_ slice: SliceID) throws(MongoError) -> PollOrder? {
        try client.find(database, Self.slices, filter: ["_id": .string(Self.sliceKey(slice))], projection: ["CompleteRev": 1], limit: 1)
            .first.flatMap { $0["CompleteRev"]?.stringValue }.flatMap(PollOrder.init(rev:))
    }

    /// Vanishes, on behalf of the slice's newest complete observation, the instances this
    /// write has just inserted if that observation is newer: it read the slice whole and did
    /// not find them. Each is a conditional write on the document as inserted.
    func vanishBehindComplete(_ inserted: [(key: String, id: String, hash: String, state: BSONValue)], _ write: PageWrite) throws(MongoError) {
        guard !inserted.isEmpty, let complete = try latestComplete(write.slice), write.order < complete else { return }
        var models: [MongoClient.WriteModel] = []
        var outboxes: [(key: String, events: [BSONValue])] = []
        for (key, id, hash, state) in inserted {
            let asInserted: BSONValue = ["Rev": .string(write.order.rev), "LastSeen": write.order.bsonDate,
                                         "LastPollId": .string(write.order.pollId), "Present": true, "ContentHash": .string(hash)]
            let event = Self.eventDocument(key: key, slice: write.slice, instanceId: id, type: "vanished", order: complete,
                                           previous: asInserted, extra: [("LastState", state)])
            models.append(Self.vanishModel(key: key, previous: asInserted, order: complete, event: event))
            outboxes.append((key, [event]))
        }
        logger.info("instances seen only by an older poll were gone when a newer one read the slice whole; stored as vanished",
                    metadata: ["slice": "\(write.slice)", "instances": "\(inserted.count)", "completePoll": "\(complete.pollId)"])
        // An instance another writer changed meanwhile is its to settle: only won writes deliver.
        _ = try writeAndDeliver(models, outboxes, order: complete)
    }
}
