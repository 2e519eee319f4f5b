@_spi(Bytes) import AWSCore
import Foundation
import Logging

/// Replays spooled polls into the database, oldest first, one page at a time: a spooled poll
/// is never held whole in memory. Each file is deleted only after all its writes succeeded.
///
/// - An outage (`MongoError.isUnreachable`, or any refusal of everything) stops the replay:
///   the rest waits for the next run, and the caller spools its own poll.
/// - A file the database refuses for its content is renamed with one more try in its name,
///   and set aside as `*.rejected` after `Spool.maximumTries`: it never blocks later polls.
/// - A file that cannot be parsed is set aside as `*.corrupt`.
/// - A file this user cannot open is left where it is and counted; the run then fails (exit 5)
///   with one line naming it and its owner (`Spool.Census`).
/// - A file meant for another database (by `MongoURI.databaseIdentities`) is left alone, and
///   the run warns how many wait and for which `hosts/database`.
/// - A `.tmp` left by a killed run is replayed as an interrupted poll: its pages are
///   observations, but every slice counts as failed, so it marks nothing vanished.
/// - Cancellation is checked between pages: the file stays for next time, and since every
///   write is idempotent a later replay duplicates nothing.
public enum SpoolReplay {
    public struct Result: Sendable {
        public var replayed = 0
        public var rejected = 0
        public var corrupt = 0
        public var skipped = 0
        /// Files this user could not open (`Spool.census()` names them and their owners).
        public var unreadable = 0
        /// Files left for another database, by `Spool.Header.databaseName`.
        public var waiting: [String: Int] = [:]
        public var cancelled = false
        /// The outage that stopped the replay, if any.
        public var error: MongoError?

        public init() {}
    }

    enum FileOutcome {
        case replayed(pollId: String, interrupted: Bool)
        case otherDatabase(String)
        case cancelled
    }

    /// "2 for 127.0.0.1:27017/inventory, 1 for a database with identity 1a2b…": no password.
    public static func describe(_ waiting: [String: Int]) -> String {
        waiting.sorted { $0.key < $1.key }.map { "\($0.value) for \($0.key)" }.joined(separator: ", ")
    }

    /// A file may name this database by its identity before normalisation (default port
    /// written out, as earlier versions hashed it) or after.
    static func isForThisDatabase(_ header: Spool.Header, store: InventoryStore) -> Bool {
        guard let database = header.database else { return true }
        return store.client.uri.databaseIdentities(store.database).contains(database)
    }

    public static func run(spool: Spool, store: InventoryStore, logger: Logger, cancellation: CancellationFlag? = nil) -> Result {
        var result = Result()
        for recovered in spool.recoverInterrupted() {
            logger.warning("a killed run left a partial spool file: it is replayed as an interrupted poll", metadata: ["file": "\(recovered.path)"])
        }
        for file in spool.pending() {
            if cancellation?.isCancelled == true {
                result.cancelled = true
                break
            }
            do {
                switch try replay(file, store: store, cancellation: cancellation) {
                case let .replayed(pollId, interrupted):
                    try? FileManager.default.removeItem(at: file)
                    result.replayed += 1
                    logger.notice("replayed spooled poll", metadata: ["poll": "\(pollId)", "interrupted": "\(interrupted)"])
                case let .otherDatabase(name):
                    result.skipped += 1
                    result.waiting[name, default: 0] += 1
                    logger.info("spool file is for another database; left alone", metadata: ["file": "\(file.path)", "database": "\(name)"])
                case .cancelled:
                    result.cancelled = true
                    logger.notice("replay stopped by signal; the file stays for the next run", metadata: ["file": "\(file.path)"])
                    return result
                }
            } catch let error as Spool.Error where error.isIO {
                // Not skipped in silence: the caller's `Spool.census()` fails the run with one
                // line naming the file and its owner.
                result.unreadable += 1
                logger.info("spool file unreadable; left for the next run", metadata: ["file": "\(file.path)", "error": "\(error)"])
            } catch let error as Spool.Error {
                result.corrupt += 1
                let moved = spool.quarantine(file)
                logger.warning("corrupt spool file moved aside", metadata: ["file": "\(moved.path)", "error": "\(error)"])
            } catch let error as MongoError where error.isPermanent {
                let (moved, setAside) = spool.recordRefusal(file)
                if setAside {
                    result.rejected += 1
                    logger.warning("the database refused this spool file \(Spool.maximumTries) times; set aside",
                                   metadata: ["file": "\(moved.path)", "error": "\(error)"])
                } else {
                    logger.warning("the database refused this spool file; it is tried again next run",
                                   metadata: ["file": "\(moved.path)", "tries": "\(Spool.tries(moved))", "error": "\(error)"])
                }
            } catch let error as MongoError {
                result.error = error
                return result
            } catch {
                result.error = .rejected("\(error)")
                return result
            }
        }
        if !result.waiting.isEmpty {
            logger.warning("\(result.skipped) spool file(s) wait for another database and are not replayed with this CM_DB_URI and CM_DB_NAME",
                           metadata: ["waiting": "\(describe(result.waiting))", "spool": "\(spool.directory.path)"])
        }
        return result
    }

    /// Streams one file into the store.
    static func replay(_ file: URL, store: InventoryStore, cancellation: CancellationFlag?) throws -> FileOutcome {
        let reader = try Spool.LineReader(path: file.path)
        defer { reader.close() }
        guard let first = try reader.next() else { throw Spool.Error.empty }
        guard case let .header(header) = try Spool.parseRecord(first, number: 1) else {
            throw Spool.Error.malformed(line: 1, "no header")
        }
        if !isForThisDatabase(header, store: store) { return .otherDatabase(header.databaseName) }
        var counts = InstanceCounts()
        var end: (finishedAt: Date?, outcomes: [SliceOutcome])?
        var seen: [SliceID] = []
        var timed = Set<SliceID>(), readAhead = false
        func page(_ slice: SliceID, _ write: () throws -> Void) throws {
            guard end == nil else { throw Spool.Error.malformed(line: reader.number, "page after the end") }
            // A slice with no recorded order (a file of an earlier version): its poll's end,
            // read ahead once per file. Files written now record every slice's order.
            if !timed.contains(slice), !readAhead {
                readAhead = true
                if let finished = try finishedAt(file) { store.noteSpooledPoll(header.poll, finishedAt: finished) }
            }
            try write()
            if !seen.contains(slice) { seen.append(slice) }
        }
        while let line = try reader.next() {
            guard !line.isEmpty else { continue }
            if cancellation?.isCancelled == true { return .cancelled }
            // A page in the writer's own form is written as a rendered page, with no value
            // tree (`SpoolPageReader`); any other line is parsed, and decides.
            if let (slice, rendered) = SpoolPageReader.read(line) {
                try page(slice) {
                    try store.write(rendered: rendered, slice: slice, poll: header.poll)
                    counts.add(states: rendered.states, slice: slice)
                }
                continue
            }
            switch try Spool.parseRecord(line, number: reader.number) {
            case .header:
                throw Spool.Error.malformed(line: reader.number, "second header")
            case let .page(slice, instances):
                try page(slice) {
                    try store.write(page: instances, slice: slice, poll: header.poll)
                    counts.add(instances, slice: slice)
                }
            case let .slice(slice, ms):
                store.noteSpooledSlice(slice, poll: header.poll, milliseconds: ms)
                timed.insert(slice)
            case let .end(finishedAt, outcomes):
                end = (finishedAt, outcomes)
            }
        }
        let outcomes = end?.outcomes ?? interruptedOutcomes(header.slices + seen.filter { !header.slices.contains($0) }, counts: counts)
        try PollRecorder.finish(store: store, poll: header.poll, finishedAt: end?.finishedAt ?? header.poll.polledAt,
                                outcomes: outcomes, counts: counts)
        return .replayed(pollId: header.poll.pollId, interrupted: end == nil)
    }

    /// The end record's `FinishedAt`, read ahead. A file written before slices recorded their
    /// own order has only its poll's start to the second; two such polls of one second are
    /// ordered by when each finished, as they ran, not by their poll ids.
    static func finishedAt(_ file: URL) throws -> Date? {
        let reader = try Spool.LineReader(path: file.path)
        defer { reader.close() }
        var finished: Date?
        let marker = Array(#"{"Kind":"end""#.utf8)
        while let line = try reader.next() {
            guard line.starts(with: marker), case let .end(at, _) = try Spool.parseRecord(line, number: reader.number) else { continue }
            finished = at
        }
        return finished
    }

    /// A poll whose run was killed: every slice failed, so none marks anything vanished.
    static func interruptedOutcomes(_ slices: [SliceID], counts: InstanceCounts) -> [SliceOutcome] {
        slices.map { slice in
            SliceOutcome(slice: slice, status: .failed, instanceCount: counts.bySlice[slice]?.values.reduce(0, +) ?? 0,
                         errorCode: "Interrupted", errorMessage: "the run polling this slice was killed before it finished")
        }
    }
}
