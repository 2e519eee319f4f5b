import Foundation
import Logging

/// Stores a poll as it streams: each page goes to the spool file and, while the database is
/// healthy, to MongoDB. The first database failure stops database writes for this run; the
/// spool file then becomes durable at the end, for the next run to replay.
public struct PollRecorder: PollSink {
    public let store: InventoryStore?
    public let spool: Spool
    private let logger: Logger
    private var writer: Spool.Writer?
    private var counts = InstanceCounts()

    /// The database failure that stopped storage, if any. The caller exits 5 with it.
    public private(set) var databaseError: MongoError?
    /// Where this poll was spooled, when it was.
    public private(set) var spooledTo: URL?
    /// Set when even the spool failed: the poll is printed but stored nowhere.
    public private(set) var spoolError: String?
    /// What the replay before this poll did, for the summary and the metrics.
    public let replay: SpoolReplay.Result

    public init(store: InventoryStore?, spool: Spool, initialError: MongoError? = nil, replay: SpoolReplay.Result = .init(), logger: Logger) {
        self.store = store
        self.spool = spool
        self.databaseError = initialError
        self.replay = replay
        self.logger = logger
    }

    /// Spool files set aside by the replay before this poll (`*.rejected` and `*.corrupt`).
    public var spoolSetAside: Int { replay.rejected + replay.corrupt }

    public mutating func begin(_ header: PollHeader) throws {
        currentPoll = header.context
        writer = spool.begin(header.context, slices: header.slices, database: store?.identity, logger: logger)
    }

    public mutating func instances(_ page: [JSONValue], slice: SliceID) throws {
        counts.add(page, slice: slice)
        do {
            try writer?.appendPage(page, slice: slice)
        } catch {
            spoolError = "\(error)"
            writer?.discard()
            writer = nil
        }
        guard databaseError == nil, let store else { return }
        do {
            try store.write(page: page, slice: slice, poll: currentPoll!)
        } catch {
            fail(error)
        }
    }

    /// A rendered page (JSON output with storage): spooled as bytes, stored by its hashes.
    public mutating func rendered(_ page: RenderedPage, slice: SliceID) throws {
        counts.add(states: page.states, slice: slice)
        do {
            try writer?.appendPage(rendered: page, slice: slice)
        } catch {
            spoolError = "\(error)"
            writer?.discard()
            writer = nil
        }
        guard databaseError == nil, let store else { return }
        do {
            try store.write(rendered: page, slice: slice, poll: currentPoll!)
        } catch {
            fail(error)
        }
    }

    private var currentPoll: PollContext?

    public mutating func end(_ header: PollHeader, outcomes: [SliceOutcome]) throws {
        let finishedAt = Date()
        if databaseError == nil, let store {
            do {
                try Self.finish(store: store, poll: header.context, finishedAt: finishedAt, outcomes: outcomes, counts: counts)
            } catch {
                fail(error)
            }
        }
        guard let writer else { return }
        self.writer = nil
        if databaseError == nil {
            writer.discard()
            return
        }
        do {
            try writer.appendEnd(finishedAt: finishedAt, outcomes: outcomes)
            spooledTo = try writer.commit()
        } catch {
            spoolError = "\(error)"
            writer.discard()
        }
    }

    /// Closes a spool file left open by a poll that never reached `end` (the poll failed half
    /// way): the `.tmp` stays, and the next run replays it as an interrupted poll, so nothing
    /// seen is lost. A no-op after `end`. The owner calls it once the poll is over.
    public mutating func abandon() {
        writer?.abandon()
        writer = nil
    }

    /// The per-poll epilogue: vanish marking for regions that finished cleanly (never for a
    /// selected poll: what it did not ask for is not gone), then the poll record.
    static func finish(store: InventoryStore, poll: PollContext, finishedAt: Date, outcomes: [SliceOutcome], counts: InstanceCounts) throws(MongoError) {
        for outcome in outcomes where outcome.status == .complete && poll.selection == nil {
            try store.markVanished(slice: outcome.slice, poll: poll)
        }
        try store.recordPoll(poll, finishedAt: finishedAt, outcomes: outcomes, countsByState: counts.byState,
                             complete: outcomes.allSatisfy { $0.status == .complete })
    }

    private mutating func fail(_ error: MongoError) {
        logger.error("database write failed; this poll goes to the spool", metadata: ["error": "\(error)"])
        databaseError = error
    }
}
