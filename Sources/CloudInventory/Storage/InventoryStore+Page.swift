import Foundation

extension InventoryStore {
    /// Writes one page of a region's instances: at most two reads, and two bulk writes for
    /// the page plus two for every further `newPerBulk` new instances. Unchanged instances
    /// (same content hash) only have `LastSeen` moved, by one `updateMany` for the whole page.
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
            encode: { write, slot, hash, writer in
                guard case let .object(members) = page[slot] else { return false }
                InstanceUpdate.firstSighting(members: members, account: write.slice.account, hash: hash,
                                             when: write.when, pollId: write.poll.pollId, to: &writer)
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
            encode: { write, slot, hash, writer in
                (try? InstanceUpdate.firstSighting(json: page.json, span: page.spans[slot], account: write.slice.account,
                                                   hash: hash, when: write.when, pollId: write.poll.pollId, to: &writer)) != nil
            })
        try write(entries, slice: slice, poll: poll, firstSighting: firstSighting) { (try? page.value(at: $0)) ?? .null }
    }

    private func write(_ entries: [(slot: Int, id: String, hash: String)], slice: SliceID, poll: PollContext,
                       firstSighting: PageWrite.FirstSighting? = nil,
                       value: (Int) -> JSONValue) throws(MongoError) {
        guard !entries.isEmpty else { return }
        try ensureIndexes()
        var write = PageWrite(entries: entries, slice: slice, poll: poll, when: try observationTime(slice: slice, poll: poll))
        try write.classify(known: client.find(database, Self.instances, filter: ["_id": ["$in": .array(write.order.map { .string($0) })]],
                                              projection: ["ContentHash": 1, "Present": 1, "LastSeen": 1]))
        if !write.changed.isEmpty {
            write.previous = try client.find(database, Self.instances, filter: ["_id": ["$in": .array(write.changed.map { .string($0) })]])
        }
        let plan = write.plan(firstSighting: firstSighting, value: value)
        // New instances go in bulks of `newPerBulk`, each with its own `appeared` events; the
        // other writes go with the last. Each instances' bulk is filled first and executed last.
        // Filling writes nothing (libmongoc queues the writes until execute), so an instance
        // that cannot be encoded fails the page before its bulk's events are written: no event
        // is ever without its instance. Events are executed before their instances: if the run
        // dies between the two, a replay recomputes the same events (same ids, so no duplicates)
        // and then writes the instances. New instances' updates are encoded one at a time into
        // one writer, each handed to the bulk as it is written, so libmongoc holds one bulk's
        // updates at a time, not a page's.
        var update = BSONWriter(capacity: 16_384)
        var from = 0
        repeat {
            let chunk = from..<min(from + Self.newPerBulk, plan.new.count)
            let last = chunk.upperBound == plan.new.count
            try client.bulkWrite(database, Self.instances) { bulk throws(MongoError) in
                for (key, slot, hash) in plan.new[chunk] {
                    update.reset()
                    if let firstSighting, firstSighting.encode(write, slot, hash, &update) {
                        try bulk.upsert(id: key, encoded: update)
                    } else if let model = write.newInstance(key, slot: slot, hash: hash, value: value) {
                        try bulk.append(model)
                    } else {
                        // Its `appeared` event is planned: the page fails before the event is
                        // written, rather than record an event without its instance.
                        throw MongoError.rejected("instance \(key) of the page is unreadable")
                    }
                }
                if last { for model in plan.instances { try bulk.append(model) } }
                try client.bulkWrite(database, Self.events, Array(plan.newEvents[chunk]) + (last ? plan.events : []))
            }
            from = chunk.upperBound
        } while from < plan.new.count
    }

    /// New instances per bulk: a bulk's updates (about 4.7 KB each here) are held by libmongoc
    /// until it is executed, so a page of 1000 in one bulk held 4.7 MB.
    static let newPerBulk = 250
}

/// The steps of one page write, each a named function: key the page, sort instances into
/// unchanged / changed / new / stale against what is stored, then build the writes.
struct PageWrite {
    let slice: SliceID
    let poll: PollContext
    let when: BSONValue
    let whenDate: Date
    /// Instance key → (where the instance is in the page, its id, content hash); `order`
    /// keeps the page's order, each key once (the last of a repeated one wins).
    private(set) var byKey: [String: (slot: Int, id: String, hash: String)] = [:]
    private(set) var order: [String] = []
    private var known: [String: BSONValue] = [:]
    private var unchanged: [BSONValue] = []
    private(set) var changed: Set<String> = []
    /// Full stored documents of the changed instances, by key.
    var previous: [BSONValue] = []

    init(entries: [(slot: Int, id: String, hash: String)], slice: SliceID, poll: PollContext, when: Date) {
        self.slice = slice
        self.poll = poll
        self.whenDate = when
        self.when = .date(when)
        order.reserveCapacity(entries.count)
        byKey.reserveCapacity(entries.count)
        for entry in entries {
            let key = InventoryStore.instanceKey(account: slice.account, region: slice.region, instanceId: entry.id)
            if byKey.updateValue(entry, forKey: key) == nil { order.append(key) }
        }
    }

    /// Sorts the page against the stored hashes. An instance a newer poll already wrote is
    /// stale and left alone (only a replay can be older than what is stored).
    mutating func classify(known light: [BSONValue]) {
        for doc in light { if let id = doc["_id"]?.stringValue { known[id] = doc } }
        for key in order {
            guard let old = known[key] else { continue }
            if let lastSeen = old["LastSeen"]?.dateValue, lastSeen > whenDate { continue }
            if old["ContentHash"]?.stringValue == byKey[key]!.hash, old["Present"]?.boolValue == true {
                unchanged.append(.string(key))
            } else {
                changed.insert(key)
            }
        }
    }

    /// The storage fast path for new instances: the state name its `appeared` event carries
    /// (nil: the instance takes the value path), and its update encoded into the writer
    /// (false: the update takes the value path; the event is the same either way).
    struct FirstSighting {
        let state: (Int) -> BSONValue?
        let encode: (PageWrite, Int, String, inout BSONWriter) -> Bool
    }

    /// The writes of a page: the new instances the fast path writes (by key, slot and hash;
    /// `FirstSighting.encode` writes each) and their `appeared` events (`newEvents`, one each,
    /// in the same order), the other events, and the other instance writes.
    struct Plan {
        var events: [MongoClient.WriteModel] = []
        var new: [(key: String, slot: Int, hash: String)] = []
        var newEvents: [MongoClient.WriteModel] = []
        var instances: [MongoClient.WriteModel] = []
    }

    /// Plans the page's writes. `value` gives the instance at a slot; it is asked only for
    /// changed instances and for new ones `firstSighting` cannot take.
    func plan(firstSighting: FirstSighting? = nil, value: (Int) -> JSONValue) -> Plan {
        var previousByKey: [String: BSONValue] = [:]
        for doc in previous { if let id = doc["_id"]?.stringValue { previousByKey[id] = doc } }
        var plan = Plan()
        for key in order {
            guard let (slot, id, hash) = byKey[key] else { continue }
            if known[key] != nil && !changed.contains(key) { continue }  // unchanged or stale
            if previousByKey[key] == nil, let state = firstSighting?.state(slot) {
                plan.newEvents.append(event(key, id, "appeared", [("State", state)]))
                plan.new.append((key, slot, hash))
                continue
            }
            let instance = value(slot)
            guard case let .object(members) = instance else { continue }
            var update = InstanceUpdate(account: slice.account, members: members, hash: hash, when: when, pollId: poll.pollId)
            var found: [(String, [(String, BSONValue)])] = []
            if let before = previousByKey[key] {
                found = update.compare(with: before)
            } else {
                update.set.append(("LastChanged", when))
                found = [("appeared", [("State", BSONValue(instance["State"]?["Name"] ?? .null))])]
            }
            plan.events += found.map { event(key, id, $0.0, $0.1) }
            plan.instances.append(update.model(key: key))
        }
        if !unchanged.isEmpty {
            plan.instances.append(.updateMany(filter: ["_id": ["$in": .array(unchanged)]],
                                              update: ["$set": ["LastSeen": when, "LastPollId": .string(poll.pollId)]]))
        }
        return plan
    }

    /// A new instance's update by the value path, for one the fast path could not encode
    /// (its `appeared` event is planned already).
    func newInstance(_ key: String, slot: Int, hash: String, value: (Int) -> JSONValue) -> MongoClient.WriteModel? {
        guard case let .object(members) = value(slot) else { return nil }
        var update = InstanceUpdate(account: slice.account, members: members, hash: hash, when: when, pollId: poll.pollId)
        update.set.append(("LastChanged", when))
        return update.model(key: key)
    }

    /// An event upsert: its id derives from (poll, instance, type), so a replay never duplicates it.
    func event(_ key: String, _ instanceId: String, _ type: String, _ extra: [(String, BSONValue)]) -> MongoClient.WriteModel {
        InventoryStore.eventUpsert(id: InventoryStore.eventId(poll.pollId, key, type), slice: slice, instanceId: instanceId,
                                   type: type, time: when, pollId: poll.pollId, extra: extra)
    }
}
