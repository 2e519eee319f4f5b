import AWSCore
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
    /// `--once-per`: the window each slice is claimed for, through the database.
    public var claimWindow: SliceClaims.Configuration?
    private var claims: SliceClaims?

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
        if let claimWindow, let store, databaseError == nil {
            claims = SliceClaims(store: store, configuration: claimWindow, pollId: header.pollId, logger: logger)
            do { try claims?.ensureIndexes() } catch { fail(error) }
        }
    }

    /// Claims the slice (`--once-per`), then fixes its order in the store just before its
    /// first request, and spools that order for a replay. With the database gone, the slice
    /// is polled unclaimed and ordered by the host clock: nothing is lost for want of a claim.
    public mutating func admit(_ slice: SliceID) throws -> SliceAdmission {
        var milliseconds = PollOrder.milliseconds(Date())
        if databaseError == nil, let store, let poll = currentPoll {
            do {
                if let claims, case let .skip(holder) = try claims.claim(slice) { return .skip(heldBy: holder) }
                milliseconds = try store.beginSlice(slice, poll: poll).milliseconds
            } catch {
                fail(error)
            }
        }
        spooling { try $0.appendSlice(slice, milliseconds: milliseconds) }
        return .poll
    }

    /// A completed slice's claim is done; a failed one's is released for another run.
    public mutating func sliceEnded(_ outcome: SliceOutcome) throws {
        guard databaseError == nil, let claims else { return }
        do {
            try claims.finish(outcome.slice, complete: outcome.status == .complete)
        } catch {
            logger.warning("slice claim not updated; its lease runs out instead", metadata: ["slice": "\(outcome.slice)", "error": "\(error)"])
        }
    }

    /// Keeps held claims alive while pages arrive.
    private func renewClaims() {
        guard databaseError == nil, let claims else { return }
        do {
            try claims.renewIfDue()
        } catch {
            logger.warning("slice claims not renewed", metadata: ["error": "\(error)"])
        }
    }

    /// One spool write; the first failure drops the spool file (the poll is then stored
    /// only in the database, and `spoolError` says why).
    private mutating func spooling(_ write: (Spool.Writer) throws -> Void) {
        guard let current = writer else { return }
        do {
            try write(current)
        } catch {
            spoolError = "\(error)"
            current.discard()
            writer = nil
        }
    }

    /// A page: spooled as its bytes, stored by its hashes.
    public mutating func rendered(_ page: RenderedPage, slice: SliceID) throws {
        counts.add(states: page.states, slice: slice)
        spooling { try $0.appendPage(rendered: page, slice: slice) }
        renewClaims()
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
                             complete: outcomes.allSatisfy { $0.status != .failed })
    }

    private mutating func fail(_ error: MongoError) {
        logger.error("database write failed; this poll goes to the spool", metadata: ["error": "\(error)"])
        databaseError = error
    }
}
