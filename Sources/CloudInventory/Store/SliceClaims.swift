import AWSCore
import Foundation
import Logging

/// `--once-per DURATION`: several hosts share one schedule through the database. Each run
/// claims each (account, region) slice for the current window (`floor(now / DURATION)`)
/// before polling it; a slice another poll holds or has done in this window is skipped.
///
/// A claim is one document in `claims`, taken with `findAndModify`: inserted if no one has
/// it, or taken over if its holder's lease ran out (killed, host lost) and it is not done.
/// Anyone else's attempt finds no match, its upsert meets the unique `_id`, and the server
/// answers duplicate key: the slice is held. The holder renews its lease while it polls and
/// marks the claim done when the slice completes, or releases it when the slice failed, so
/// another run in the same window may try. No lock is held in the program.
public final class SliceClaims {
    public struct Configuration: Sendable, Equatable {
        /// The window: each slice is polled once per this many seconds, whoever polls it.
        public var window: TimeInterval
        /// How long a claim stays held without renewal.
        public var lease: TimeInterval = 300

        public init(window: TimeInterval, lease: TimeInterval = 300) {
            self.window = window
            self.lease = lease
        }
    }

    public static let collection = "claims"

    private let store: InventoryStore
    public let configuration: Configuration
    private let pollId: String
    private let host: String
    private let logger: Logger
    private var held: [String: SliceID] = [:]
    private var renewed = Date.distantPast

    public init(store: InventoryStore, configuration: Configuration, pollId: String,
                host: String = ProcessInfo.processInfo.hostName, logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.pollId = pollId
        self.host = host
        self.logger = logger
    }

    /// The claim's `_id`: the slice and the window, so every host names it alike.
    func claimId(_ slice: SliceID, now: Date) -> String {
        let seconds = max(1, Int64(configuration.window.rounded()))
        let index = Int64(now.timeIntervalSince1970.rounded(.down)) / seconds
        return "\(slice.account)/\(slice.region)/\(seconds)/\(index)"
    }

    /// Takes the slice for this window, or says who holds it.
    public func claim(_ slice: SliceID, now: Date = Date()) throws(MongoError) -> SliceAdmission {
        let id = claimId(slice, now: now)
        let seconds = max(1, configuration.window.rounded())
        let windowEnd = Date(timeIntervalSince1970: ((now.timeIntervalSince1970 / seconds).rounded(.down) + 1) * seconds)
        let command: BSONValue = .document([
            ("findAndModify", .string(Self.collection)),
            ("query", ["_id": .string(id), "Done": false, "LeaseUntil": ["$lt": .date(now)]]),
            ("update", .document([
                ("$set", .document([("Holder", .string(pollId)), ("Host", .string(host)), ("ClaimedAt", .date(now)),
                                    ("LeaseUntil", .date(now.addingTimeInterval(configuration.lease))), ("Done", false)])),
                ("$setOnInsert", .document([("Account", .string(slice.account)), ("Region", .string(slice.region)),
                                            ("WindowSeconds", .int64(Int64(seconds))),
                                            // Kept a day past the window, then removed by the TTL index.
                                            ("ExpiresAt", .date(windowEnd.addingTimeInterval(86_400)))])),
            ])),
            ("upsert", true), ("new", false),
        ])
        do {
            let reply = try store.client.command(store.database, command)
            if let previous = reply["value"]?["Holder"]?.stringValue {
                logger.notice("took over a claim whose lease ran out", metadata: ["slice": "\(slice)", "previousHolder": "\(previous)"])
            }
        } catch let error where error.code == 11000 {
            let holder = try store.client.find(store.database, Self.collection, filter: ["_id": .string(id)], projection: ["Holder": 1]).first
            return .skip(heldBy: holder?["Holder"]?.stringValue ?? "unknown")
        }
        held[id] = slice
        return .poll
    }

    /// Marks the slice's claim done (it completed) or releases it (it failed), so the window
    /// polls it once, and a failure can be retried by another run of the window.
    public func finish(_ slice: SliceID, complete: Bool, now: Date = Date()) throws(MongoError) {
        guard let id = held.first(where: { $0.value == slice })?.key else { return }
        held[id] = nil
        let update: BSONValue = complete ? ["$set": ["Done": true, "FinishedAt": .date(now)]] : ["$set": ["LeaseUntil": .date(Date(timeIntervalSince1970: 0))]]
        try store.client.bulkWrite(store.database, Self.collection, [.updateOne(filter: ["_id": .string(id), "Holder": .string(pollId)],
                                                                                 update: update, upsert: false)])
    }

    /// Renews every held claim's lease when a third of it has passed.
    public func renewIfDue(now: Date = Date()) throws(MongoError) {
        guard !held.isEmpty, now.timeIntervalSince(renewed) >= configuration.lease / 3 else { return }
        renewed = now
        try store.client.bulkWrite(store.database, Self.collection, [.updateMany(
            filter: ["_id": .array(held.keys.map { .string($0) }).inFilter, "Holder": .string(pollId), "Done": false],
            update: ["$set": ["LeaseUntil": .date(now.addingTimeInterval(configuration.lease))]])])
    }

    /// The TTL index that removes claims a day after their window.
    public func ensureIndexes() throws(MongoError) {
        try store.client.command(store.database, .document([
            ("createIndexes", .string(Self.collection)),
            ("indexes", [.document([("key", ["ExpiresAt": 1]), ("name", "expires"), ("expireAfterSeconds", .int32(0))])]),
        ]))
    }
}
