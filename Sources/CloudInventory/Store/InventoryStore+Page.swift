@_spi(Bytes) import AWSCore
import Foundation

extension InventoryStore {
    /// Writes one page of a region's instances. Unchanged instances (same content hash) only
    /// have their sighting moved, by one conditional `updateMany` for the whole page.
    public func write(page: [JSONValue], slice: SliceID, poll: PollContext) throws(MongoError) {
        guard !page.isEmpty else { return }
        let entries = page.enumerated().compactMap { i, instance in
            instance["InstanceId"]?.stringValue.map { (slot: i, id: $0, hash: Self.contentHash(instance)) }
        }
        let firstSighting = PageWrite.FirstSighting(
            state: { slot in
                guard case .object = page[slot] else { return nil }
                return BSONValue(page[slot]["State"]?["Name"] ?? .null)
            },
            encode: { write, slot, hash, pending, writer in
                guard case let .object(members) = page[slot] else { return false }
                InstanceUpdate.firstSighting(members: members, account: write.slice.account, hash: hash, order: write.order,
                                             pending: pending, to: &writer)
                return true
            })
        try write(entries, slice: slice, poll: poll, firstSighting: firstSighting) { page[$0] }
    }

    /// Writes a page rendered for storage (`RenderedPage.hashes` filled): ids and hashes come
    /// with it, and only new or changed instances are read back into values. An unchanged
    /// page costs its hashes, one find and one `updateMany`.
    public func write(rendered page: RenderedPage, slice: SliceID, poll: PollContext) throws(MongoError) {
        guard page.count > 0 else { return }
        guard page.hashes.count == page.count, page.instanceIds.count == page.count else {
            let values: [JSONValue]
            do { values = try page.values() } catch { throw MongoError.rejected("rendered page unreadable: \(error)") }
            return try write(page: values, slice: slice, poll: poll)
        }
        let entries = (0..<page.count).map { (slot: $0, id: page.instanceIds[$0], hash: page.hashes[$0]) }
        // A new instance's update is written straight from its rendered JSON; only changed
        // ones are read back into values, to be compared with what is stored.
        let rendered = page.spans.count == page.count && page.stateNames.count == page.count
        let firstSighting = PageWrite.FirstSighting(
            state: { slot in rendered ? page.stateNames[slot].map { .string($0) } ?? .null : nil },
            encode: { write, slot, hash, pending, writer in
                (try? InstanceUpdate.firstSighting(json: page.json, span: page.spans[slot], account: write.slice.account,
                                                   hash: hash, order: write.order, pending: pending, to: &writer)) != nil
            })
        try write(entries, slice: slice, poll: poll, firstSighting: firstSighting) { (try? page.value(at: $0)) ?? .null }
    }

    /// Reads what is stored, sorts the page into unchanged / new / changed (instances a
    /// newer observation already wrote are left alone), writes each group conditionally, and
    /// reads again the instances another writer changed first, until none is left.
    private func write(_ entries: [(slot: Int, id: String, hash: String)], slice: SliceID, poll: PollContext,
                       firstSighting: PageWrite.FirstSighting, value: (Int) -> JSONValue) throws(MongoError) {
        guard !entries.isEmpty else { return }
        try ensureIndexes()
        let write = PageWrite(entries: entries, slice: slice, order: try sliceOrder(slice: slice, poll: poll))
        var keys = write.keys
        for _ in 0..<Self.contentionRounds {
            let known = try client.find(database, Self.instances, filter: ["_id": .array(keys.map { .string($0) }).inFilter],
                                        projection: PageWrite.versionProjection)
            let round = write.classify(keys, known: known)
            var lost = try bumpUnchanged(round.unchanged, write)
            lost += try insertNew(round.new, write, firstSighting: firstSighting, value: value)
            lost += try applyChanges(round.changed, write, value: value)
            guard !lost.isEmpty else { return }
            logger.debug("another writer changed instances of this page first; they are read again",
                         metadata: ["slice": "\(slice)", "instances": "\(lost.count)"])
            keys = lost
        }
        throw MongoError.contended("\(slice): instances still changed by other writers after \(Self.contentionRounds) rounds")
    }

    /// How often a page re-reads what other writers changed first before it gives up (and
    /// is spooled, to be settled by a later replay).
    static let contentionRounds = 8

    /// Moves the sighting of instances whose stored content is what this poll saw, where the
    /// stored sighting is older. Returns the instances the filter no longer matched.
    private func bumpUnchanged(_ keys: [String], _ write: PageWrite) throws(MongoError) -> [String] {
        guard !keys.isEmpty else { return [] }
        let order = write.order
        let result = try client.bulkWrite(database, Self.instances, [.updateMany(
            filter: .document([("_id", .array(keys.map { .string($0) }).inFilter),
                               ("ContentHash", .array(keys.map { .string(write.hash(of: $0)) }).inFilter),
                               ("Present", true), order.olderCondition]),
            update: ["$set": ["LastSeen": order.bsonDate, "LastPollId": .string(order.pollId), "Rev": .string(order.rev)]])])
        return result.matched == keys.count ? [] : try notWritten(keys, by: order)
    }

    /// Inserts instances no writer has stored, in bulks of `newPerBulk`, each carrying its
    /// `appeared` event; delivers the events of the inserts that won.
    private func insertNew(_ keys: [String], _ write: PageWrite, firstSighting: PageWrite.FirstSighting,
                           value: (Int) -> JSONValue) throws(MongoError) -> [String] {
        var lost: [String] = []
        var update = BSONWriter(capacity: 16_384)
        var from = 0
        while from < keys.count {
            let chunk = Array(keys[from..<min(from + Self.newPerBulk, keys.count)])
            var outboxes: [(key: String, events: [BSONValue])] = []
            var inserted: [(key: String, id: String, hash: String, state: BSONValue)] = []
            // Filling writes nothing (libmongoc queues until execute): an instance that can be
            // neither encoded nor read back fails its bulk with nothing of it written.
            let result = try client.bulkWrite(database, Self.instances) { bulk throws(MongoError) in
                for key in chunk {
                    let (slot, id, hash) = write.entry(key)
                    let state = firstSighting.state(slot) ?? BSONValue(value(slot)["State"]?["Name"] ?? .null)
                    let event = write.event(key, id, "appeared", previous: nil, [("State", state)])
                    update.reset()
                    if firstSighting.encode(write, slot, hash, [event], &update) {
                        try bulk.upsert(id: key, encoded: update)
                    } else if case let .object(members) = value(slot) {
                        let model = InstanceUpdate(account: write.slice.account, members: members, hash: hash, order: write.order)
                        try bulk.append(model.newInstance(key: key, pending: [event]))
                    } else {
                        throw MongoError.rejected("instance \(key) of the page is unreadable")
                    }
                    outboxes.append((key, [event]))
                    inserted.append((key, id, hash, state))
                }
            }
            let missed = result.upserted == chunk.count ? [] : try notWritten(chunk, by: write.order)
            try deliver(outboxes.filter { !missed.contains($0.key) })
            try vanishBehindComplete(inserted.filter { !missed.contains($0.key) }, write)
            lost += missed
            from += chunk.count
        }
        return lost
    }

    /// Writes each changed instance on the condition that it is still the version it was
    /// compared with; delivers the events of the writes that won.
    private func applyChanges(_ keys: [String], _ write: PageWrite, value: (Int) -> JSONValue) throws(MongoError) -> [String] {
        guard !keys.isEmpty else { return [] }
        let stored = try client.find(database, Self.instances, filter: ["_id": .array(keys.map { .string($0) }).inFilter])
        var byKey: [String: BSONValue] = [:]
        for doc in stored { if let id = doc["_id"]?.stringValue { byKey[id] = doc } }
        var lost: [String] = []
        var models: [MongoClient.WriteModel] = []
        var outboxes: [(key: String, events: [BSONValue])] = []
        var replaced: [BSONValue] = []
        for key in keys {
            guard let before = byKey[key] else { lost.append(key); continue }
            guard write.order.isNewer(than: before) else { continue }
            let (slot, id, hash) = write.entry(key)
            guard case let .object(members) = value(slot) else { continue }
            replaced += before["Pending"]?.arrayValue ?? []
            var update = InstanceUpdate(account: write.slice.account, members: members, hash: hash, order: write.order)
            let events = update.compare(with: before).map { write.event(key, id, $0.0, previous: before, $0.1) }
            models.append(update.change(of: before, key: key, pending: events))
            outboxes.append((key, events))
        }
        // An outbox about to be replaced is delivered first: its events are never lost.
        if !replaced.isEmpty { try store(replaced) }
        guard !models.isEmpty else { return lost }
        return lost + (try writeAndDeliver(models, outboxes, order: write.order))
    }

    /// New instances per bulk: a bulk's updates (about 4.7 KB each here) are held by libmongoc
    /// until it is executed, so a page of 1000 in one bulk held 4.7 MB.
    static let newPerBulk = 250
}

/// One page's instances, keyed, and this poll's order for the slice.
struct PageWrite {
    let slice: SliceID
    let order: PollOrder
    /// Instance key → (where the instance is in the page, its id, content hash); `keys`
    /// keeps the page's order, each key once (the last of a repeated one wins).
    private var byKey: [String: (slot: Int, id: String, hash: String)] = [:]
    private(set) var keys: [String] = []

    /// What `classify` reads of a stored instance.
    static let versionProjection: BSONValue = ["ContentHash": 1, "Present": 1, "LastSeen": 1, "LastChanged": 1, "Rev": 1]

    init(entries: [(slot: Int, id: String, hash: String)], slice: SliceID, order: PollOrder) {
        self.slice = slice
        self.order = order
        keys.reserveCapacity(entries.count)
        byKey.reserveCapacity(entries.count)
        for entry in entries {
            let key = InventoryStore.instanceKey(account: slice.account, region: slice.region, instanceId: entry.id)
            if byKey.updateValue(entry, forKey: key) == nil { keys.append(key) }
        }
    }

    func entry(_ key: String) -> (slot: Int, id: String, hash: String) { byKey[key]! }
    func hash(of key: String) -> String { byKey[key]!.hash }

    struct Round {
        var unchanged: [String] = []
        var new: [String] = []
        var changed: [String] = []
    }

    /// Sorts `keys` against what is stored. An instance a newer (or this) observation already
    /// wrote is left out: a stale writer never overwrites newer state.
    func classify(_ keys: [String], known light: [BSONValue]) -> Round {
        var known: [String: BSONValue] = [:]
        for doc in light { if let id = doc["_id"]?.stringValue { known[id] = doc } }
        var round = Round()
        for key in keys {
            guard let old = known[key] else { round.new.append(key); continue }
            guard order.isNewer(than: old) else { continue }
            if old["ContentHash"]?.stringValue == hash(of: key), old["Present"]?.boolValue == true {
                round.unchanged.append(key)
            } else {
                round.changed.append(key)
            }
        }
        return round
    }

    /// The storage fast path for new instances: the state name its `appeared` event carries
    /// (nil: read it from the value), and its insert encoded into the writer with the given
    /// outbox (false: the insert takes the value path; the document is the same either way).
    struct FirstSighting {
        let state: (Int) -> BSONValue?
        let encode: (PageWrite, Int, String, [BSONValue], inout BSONWriter) -> Bool
    }

    func event(_ key: String, _ instanceId: String, _ type: String, previous: BSONValue?, _ extra: [(String, BSONValue)]) -> BSONValue {
        InventoryStore.eventDocument(key: key, slice: slice, instanceId: instanceId, type: type, order: order, previous: previous, extra: extra)
    }
}
