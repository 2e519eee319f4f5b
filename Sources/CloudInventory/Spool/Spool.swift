@_spi(Bytes) import AWSCore
import Glibc
import Foundation
import Logging

/// Where polls wait when the database cannot take them. Nothing is lost: a poll is written
/// here as it streams (one NDJSON line per page, format in `SpoolFormat.swift`), and the file
/// is made durable (fsync, rename, fsync of the directory) only when the database failed.
/// The next run replays the files oldest first and deletes each one only after its write
/// succeeded.
///
/// File names: `<poll id>.seq<k>.ndjson`, or `<poll id>.seq<k>.<n>.ndjson` after the database
/// refused it `n` times; `*.ndjson.tmp` while a run writes it (under an `flock`); `*.corrupt`
/// and `*.rejected` once set aside. `k` is the spool's own sequence (one more than any file
/// in the directory), so replay follows the order the polls ran even when two started in the
/// same second or the clock stepped back: poll ids are dated to the second and end in random
/// hex, so their names alone cannot say. Files of earlier versions (`<poll id>.ndjson`, no
/// `seq`) were all written before any sequenced one and replay first, by name.
public struct Spool: Sendable {
    public let directory: URL
    /// `hosts/database` (no user name or password) of the database this run stores to,
    /// written beside its identity in each header: a file left waiting for another database
    /// can then be named in warnings and `--check`.
    public var databaseLabel: String?
    /// Replays the database refuses (not an outage) before a file is set aside as `*.rejected`.
    public static let maximumTries = 3

    public init(directory: URL) {
        self.directory = directory
    }

    /// `CM_SPOOL_DIR`, else `/var/lib/inventory-poller/spool` when it can be used, else the
    /// user's state directory (`$XDG_STATE_HOME` or `~/.local/state`)`/inventory-poller/spool`.
    public static func resolve(environment: Environment) -> Spool {
        if let dir = environment["CM_SPOOL_DIR"] { return Spool(directory: URL(fileURLWithPath: dir)) }
        let system = URL(fileURLWithPath: "/var/lib/inventory-poller/spool")
        if (try? Spool(directory: system).makeDirectory()) != nil,
           unsafe access(system.path, W_OK) == 0 {  // unsafe: the path as a C string, for the call only
            return Spool(directory: system)
        }
        let state = environment["XDG_STATE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSTemporaryDirectory()).appendingPathComponent(".local/state")
        return Spool(directory: state.appendingPathComponent("inventory-poller/spool"))
    }

    private func allNames() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    }

    /// Names ending in `suffix`, in replay order: unsequenced (older versions') first by
    /// name, then by sequence.
    private func names(_ suffix: String) -> [String] {
        allNames().filter { $0.hasSuffix(suffix) }.sorted(by: Self.replaysBefore)
    }

    static func replaysBefore(_ a: String, _ b: String) -> Bool {
        switch (sequence(a), sequence(b)) {
        case let (x?, y?) where x != y: return x < y
        case (nil, _?): return true
        case (_?, nil): return false
        default: return a < b
        }
    }

    /// The `seq<k>` part of a spool file name, if it has one.
    static func sequence(_ name: String) -> Int? {
        for part in name.split(separator: ".") where part.hasPrefix("seq") {
            let digits = part.dropFirst(3)
            if !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0.isASCII && $0.isNumber }) { return Int(digits) }
        }
        return nil
    }

    /// The sequence for a new file: one more than any in the directory (pending, being
    /// written, set aside). Runs are serialised by the overlap lock; `Writer` opens with
    /// `O_EXCL` and takes the next number if one is taken anyway.
    func nextSequence() -> Int {
        (allNames().compactMap(Self.sequence).max() ?? 0) + 1
    }

    /// Complete spool files, in the order their polls ran.
    public func pending() -> [URL] {
        names(".ndjson").map { directory.appendingPathComponent($0) }
    }

    /// Files a run is writing or a killed run left behind.
    public func temporaries() -> [URL] {
        names(".ndjson.tmp").map { directory.appendingPathComponent($0) }
    }

    /// How many times the database has refused this file (from its name).
    public static func tries(_ url: URL) -> Int {
        let parts = url.deletingPathExtension().lastPathComponent.split(separator: ".")
        guard parts.count >= 2, let n = Int(parts.last!), n >= 0 else { return 0 }
        return n
    }

    private static func stem(_ url: URL) -> String {
        let base = url.deletingPathExtension().lastPathComponent
        let parts = base.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count >= 2, Int(parts.last!) != nil { return parts.dropLast().joined(separator: ".") }
        return base
    }

    /// Renames `url` to `<stem>.<suffix>`, replacing any earlier file of that name.
    private func rename(_ url: URL, to suffix: String) -> URL {
        let target = directory.appendingPathComponent("\(Self.stem(url)).\(suffix)")
        try? FileManager.default.removeItem(at: target)
        try? FileManager.default.moveItem(at: url, to: target)
        return target
    }

    /// Moves a file that cannot be read out of the way, so it never blocks later polls.
    public func quarantine(_ url: URL) -> URL {
        rename(url, to: "corrupt")
    }

    /// Records one more refusal of `url` by the database. After `maximumTries` the file is
    /// set aside as `*.rejected` (returned with `true`), so it never blocks later polls.
    public func recordRefusal(_ url: URL) -> (url: URL, setAside: Bool) {
        let tries = Self.tries(url) + 1
        if tries >= Self.maximumTries { return (rename(url, to: "rejected"), true) }
        return (rename(url, to: "\(tries).ndjson"), false)
    }

    /// `2026-11-25T11:45:21.357Z`: a poll's end to the millisecond (what a BSON date keeps),
    /// so a replayed poll record sorts after the one that ran before it in the same second.
    static func millisecondTime(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let millis = min(999, max(0, Int(((date.timeIntervalSince1970 - seconds) * 1000).rounded(.down))))
        let whole = UTCTime.iso8601(Date(timeIntervalSince1970: seconds))
        let fraction = String(millis)
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - fraction.count) + fraction + "Z"
    }

    /// A `.tmp` whose writer is gone (no one holds its lock) becomes a spool file to replay:
    /// an interrupted poll. A `.tmp` still locked belongs to a live run and is left alone;
    /// an empty one holds nothing and is removed. Returns the files recovered.
    public func recoverInterrupted() -> [URL] {
        var recovered: [URL] = []
        for tmp in temporaries() {
            // unsafe (here and below): OS calls on paths passed as C strings for the call only.
            let fd = unsafe open(tmp.path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            guard fd >= 0 else { continue }
            defer { Glibc.close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }  // its writer is alive
            var info = stat()
            if unsafe fstat(fd, &info) == 0, info.st_size == 0 {
                unsafe unlink(tmp.path)
                continue
            }
            let target = tmp.deletingPathExtension()
            guard !FileManager.default.fileExists(atPath: target.path), unsafe Glibc.rename(tmp.path, target.path) == 0 else { continue }
            recovered.append(target)
        }
        return recovered
    }

    /// Starts a spool file for `poll`. Returns nil (with a logged warning) when the spool
    /// directory is unusable: the poll still proceeds, it just has no safety net.
    public func begin(_ poll: PollContext, slices: [SliceID], database: String? = nil, logger: Logger) -> Writer? {
        do {
            try makeDirectory()
            let writer = try Writer(directory: directory, pollId: poll.pollId, sequence: nextSequence())
            do {
                try writer.append(.object([
                    JSONMember("Kind", "poll"), JSONMember("PollId", .string(poll.pollId)),
                    JSONMember("PolledAt", .string(UTCTime.iso8601(poll.polledAt))),
                    JSONMember("Account", .string(poll.account)), JSONMember("Arn", .string(poll.arn)),
                    JSONMember("Database", database.map { .string($0) } ?? .null),
                    JSONMember("DatabaseLabel", database.flatMap { _ in databaseLabel }.map { .string($0) } ?? .null),
                    JSONMember("Slices", .array(slices.map { .object([JSONMember("Account", .string($0.account)), JSONMember("Region", .string($0.region))]) })),
                ] + (poll.selection.map { [JSONMember("Selection", $0.json)] } ?? [])))
            } catch {
                writer.discard()
                throw error
            }
            return writer
        } catch {
            logger.warning("spool unavailable; a database failure would lose this poll", metadata: ["dir": "\(directory.path)", "error": "\(error)"])
            return nil
        }
    }

    /// Appends lines to `<name>.tmp`; `commit()` makes it a durable spool entry, `discard()`
    /// removes it, `abandon()` leaves it for the next run. Each of them closes the file.
    public final class Writer {
        let temporary: URL
        let final: URL
        private var fd: Int32

        /// `<pollId>.seq<sequence>.ndjson(.tmp)`, or the next free sequence number.
        init(directory: URL, pollId: String, sequence: Int) throws {
            var sequence = sequence
            var name = "\(pollId).seq\(sequence).ndjson"
            fd = -1
            for _ in 0..<64 {
                name = "\(pollId).seq\(sequence).ndjson"
                if !FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) {
                    fd = unsafe open(directory.appendingPathComponent(name + ".tmp").path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                    if fd >= 0 || errno != EEXIST { break }
                }
                sequence += 1
            }
            final = directory.appendingPathComponent(name)
            temporary = directory.appendingPathComponent(name + ".tmp")
            guard fd >= 0 else { throw Spool.Error.io("cannot create \(temporary.path): \(errnoDescription())") }
            // A root run's file goes to the spool directory's owner before it has its final
            // name: the service user must be able to replay (and delete) it.
            if let owner = DirectoryOwner.adopting(directory: directory.path) {
                do {
                    try owner.apply(to: fd, path: temporary.path)
                } catch {
                    Glibc.close(fd)
                    fd = -1
                    unsafe unlink(temporary.path)
                    throw Spool.Error.io("\(error)")
                }
            }
            // Held until the file is committed or discarded, and dropped by the kernel when
            // the run dies: a later run recovers an unlocked `.tmp` as an interrupted poll.
            _ = flock(fd, LOCK_EX | LOCK_NB)
        }

        /// Closes the file if no ending was called, but a debug build stops there: a writer
        /// ends by `commit()`, `discard()` or `abandon()`, at a point the code chooses.
        deinit {
            assert(fd < 0, "Spool.Writer deinitialized without commit(), discard() or abandon()")
            if fd >= 0 { Glibc.close(fd) }
        }

        public func append(_ line: JSONValue) throws {
            var bytes: [UInt8] = []
            line.write(to: &bytes)
            bytes.append(UInt8(ascii: "\n"))
            do {
                try writeAll(fd: fd, bytes: bytes)
            } catch {
                throw Spool.Error.io("write to \(temporary.path) failed: \(error)")
            }
        }

        /// A page's line: its instances' bytes go in as they are, written from the page itself
        /// between a head and a tail (no copy of a page-sized line).
        public func appendPage(rendered page: RenderedPage, slice: SliceID) throws {
            var head: [UInt8] = []
            head.reserveCapacity(96)
            head.append(contentsOf: "{\"Kind\":\"page\",\"Account\":".utf8)
            JSONValue.writeString(slice.account, to: &head)
            head.append(contentsOf: ",\"Region\":".utf8)
            JSONValue.writeString(slice.region, to: &head)
            head.append(contentsOf: ",\"Instances\":[".utf8)
            do {
                for part in [head, page.json, Array("]}\n".utf8)] { try writeAll(fd: fd, bytes: part) }
            } catch {
                throw Spool.Error.io("write to \(temporary.path) failed: \(error)")
            }
        }

        /// The order the poll observed `slice` at, before its pages (`Spool.Record.slice`).
        public func appendSlice(_ slice: SliceID, milliseconds: Int64) throws {
            try append(.object([JSONMember("Kind", "slice"), JSONMember("Account", .string(slice.account)),
                                JSONMember("Region", .string(slice.region)), JSONMember("RecordedAt", .int(milliseconds))]))
        }

        public func appendEnd(finishedAt: Date, outcomes: [SliceOutcome]) throws {
            try append(.object([JSONMember("Kind", "end"), JSONMember("FinishedAt", .string(Spool.millisecondTime(finishedAt))),
                                JSONMember("Outcomes", .array(outcomes.map(\.json)))]))
        }

        /// write → fsync → rename → fsync(dir): after this returns, the poll survives a crash.
        public func commit() throws -> URL {
            guard fsync(fd) == 0 else { throw Spool.Error.io("fsync \(temporary.path) failed: \(errnoDescription())") }
            // Renamed while still locked, so no other run recovers it half way.
            guard unsafe Glibc.rename(temporary.path, final.path) == 0 else {
                throw Spool.Error.io("rename to \(final.path) failed: \(errnoDescription())")
            }
            Glibc.close(fd)
            fd = -1
            let dir = unsafe open(final.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY)
            if dir >= 0 { fsync(dir); Glibc.close(dir) }
            return final
        }

        public func discard() {
            abandon()
            unsafe unlink(temporary.path)
        }

        /// Closes the file, which drops its lock, and leaves the `.tmp` where it is: what a
        /// killed run leaves. For a poll that never reached its end (the run failed half way);
        /// the next run replays it as an interrupted poll. Idempotent.
        public func abandon() {
            if fd >= 0 { Glibc.close(fd); fd = -1 }
        }
    }
}
