@_spi(Bytes) import AWSCore
import Glibc
import Foundation

/// The spool file format, read back. One JSON object per line:
///
///     {"Kind":"poll","PollId","PolledAt","Account","Arn","Database","DatabaseLabel","Slices":[{"Account","Region"}],
///      "Selection":{"Filters":[{"Name","Values"}],"InstanceIds"} (only for a selected poll)}
///     {"Kind":"page","Account","Region","Instances":[...]}            (any number)
///     {"Kind":"end","FinishedAt","Outcomes":[...]}
///
/// Parsing is total: any bytes give a record or a typed `Spool.Error`, never a trap, and no
/// size is taken from the input (a line longer than `maximumLine` is an error).
extension Spool {
    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        private enum Code: Sendable {
            case io(String)
            case malformed(line: Int, reason: String)
            case lineTooLong(line: Int)
            case empty
        }

        private let code: Code

        static func io(_ reason: String) -> Error { Error(code: .io(reason)) }
        static func malformed(line: Int, _ reason: String) -> Error { Error(code: .malformed(line: line, reason: reason)) }
        static func lineTooLong(line: Int) -> Error { Error(code: .lineTooLong(line: line)) }
        static let empty = Error(code: .empty)

        /// The file could not be read at all (as opposed to read and found wrong).
        public var isIO: Bool {
            if case .io = code { return true }
            return false
        }

        public var description: String {
            switch code {
            case let .io(reason): return reason
            case let .malformed(line, reason): return "spool line \(line): \(reason)"
            case let .lineTooLong(line): return "spool line \(line) is longer than \(Spool.maximumLine) bytes"
            case .empty: return "empty spool file"
            }
        }
    }

    /// A page line holds at most one DescribeInstances page (1000 instances, a few MiB).
    public static let maximumLine = 256 << 20

    /// The first line of a spool file.
    public struct Header: Sendable {
        public var poll: PollContext
        public var slices: [SliceID]
        /// `MongoURI.databaseIdentity` of the database the poll was meant for; nil in files
        /// written before it was recorded (those replay anywhere).
        public var database: String?
        /// `hosts/database` of that database, for messages; nil in older files.
        public var databaseLabel: String?

        /// How messages name the database this file waits for.
        public var databaseName: String {
            databaseLabel ?? database.map { "a database with identity \($0)" } ?? "any database"
        }
    }

    /// The header of a spool file, read from its first line alone.
    public static func header(of file: URL) throws(Error) -> Header {
        let reader = try LineReader(path: file.path)
        defer { reader.close() }
        guard let first = try reader.next() else { throw .empty }
        guard case let .header(header) = try parseRecord(first, number: 1) else { throw .malformed(line: 1, "no header") }
        return header
    }

    public enum Record: Sendable {
        case header(Header)
        case page(SliceID, [JSONValue])
        /// The order this poll observed a slice at (`PollOrder`'s milliseconds), written as the
        /// slice began: a replay is ordered exactly as the live write would have been.
        case slice(SliceID, milliseconds: Int64)
        case end(finishedAt: Date?, outcomes: [SliceOutcome])
    }

    /// One line, parsed. `number` only labels errors.
    public static func parseRecord<C: Collection>(_ line: C, number: Int = 1) throws(Error) -> Record where C.Element == UInt8 {
        let value: JSONValue
        do {
            value = try JSONValue.parse(line)
        } catch {
            throw .malformed(line: number, "\(error)")
        }
        switch value["Kind"]?.stringValue {
        case "poll":
            guard let id = value["PollId"]?.stringValue, let account = value["Account"]?.stringValue,
                  let at = value["PolledAt"]?.stringValue.flatMap(UTCTime.parse) else {
                throw .malformed(line: number, "header incomplete")
            }
            var poll = PollContext(pollId: id, account: account, arn: value["Arn"]?.stringValue ?? "", polledAt: at)
            poll.isReplay = true
            // A selection that does not read back must not replay as a poll of everything
            // (it would vanish what it never asked for).
            if let selection = value["Selection"], selection != .null {
                guard let parsed = PollSelection(json: selection) else { throw .malformed(line: number, "header selection unreadable") }
                poll.selection = parsed
            }
            let slices = (value["Slices"]?.arrayValue ?? []).compactMap { s -> SliceID? in
                guard let account = s["Account"]?.stringValue, let region = s["Region"]?.stringValue else { return nil }
                return SliceID(account: account, region: region)
            }
            return .header(Header(poll: poll, slices: slices, database: value["Database"]?.stringValue,
                                  databaseLabel: value["DatabaseLabel"]?.stringValue))
        case "page":
            guard let account = value["Account"]?.stringValue, let region = value["Region"]?.stringValue,
                  let instances = value["Instances"]?.arrayValue else {
                throw .malformed(line: number, "page incomplete")
            }
            return .page(SliceID(account: account, region: region), instances)
        case "slice":
            guard let account = value["Account"]?.stringValue, let region = value["Region"]?.stringValue,
                  let ms = value["RecordedAt"]?.intValue, ms >= 0 else {
                throw .malformed(line: number, "slice incomplete")
            }
            return .slice(SliceID(account: account, region: region), milliseconds: ms)
        case "end":
            let outcomes = (value["Outcomes"]?.arrayValue ?? []).compactMap { o -> SliceOutcome? in
                guard let region = o["Region"]?.stringValue, let account = o["Account"]?.stringValue else { return nil }
                let count = o["InstanceCount"]?.intValue.flatMap { Int(exactly: $0) } ?? 0
                var outcome = SliceOutcome(slice: SliceID(account: account, region: region), status: SliceOutcome.status(o["Status"]?.stringValue),
                                           instanceCount: count, errorCode: o["ErrorCode"]?.stringValue, errorMessage: o["Error"]?.stringValue)
                outcome.heldBy = o["HeldBy"]?.stringValue
                return outcome
            }
            return .end(finishedAt: value["FinishedAt"]?.stringValue.flatMap(UTCTime.parse), outcomes: outcomes)
        default:
            throw .malformed(line: number, "unknown record")
        }
    }

    /// A spooled poll read back whole: for tests and the fuzzer. Replay streams instead.
    public struct Entry: Sendable {
        public var header: Header
        public var pages: [(slice: SliceID, instances: [JSONValue])]
        /// Each slice's recorded order, where the file has one.
        public var sliceTimes: [SliceID: Int64] = [:]
        /// nil when the file has no end record: an interrupted poll.
        public var end: (finishedAt: Date?, outcomes: [SliceOutcome])?
        public var poll: PollContext { header.poll }
    }

    /// Parses a whole spool file from its bytes: the pure entry point for the fuzzer. A last
    /// line without its newline (a write cut short) is dropped, as replay drops it.
    public static func parse(_ bytes: [UInt8]) throws(Error) -> Entry {
        var entry: Entry?
        var number = 0
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if !lines.isEmpty { lines.removeLast() }  // after the last newline: empty, or cut short
        for line in lines {
            number += 1
            guard line.count <= maximumLine else { throw .lineTooLong(line: number) }
            guard !line.isEmpty else { continue }
            try entry.accept(parseRecord(line, number: number), number: number)
        }
        guard let entry else { throw .empty }
        return entry
    }

    /// Reads a file line by line with a fixed buffer: a spooled poll is never held whole.
    /// `close()` releases the descriptor.
    public final class LineReader {
        private var fd: Int32
        private var buffer: [UInt8] = []
        private var start = 0
        /// Bytes from `start` up to here hold no newline: a long line is scanned once, not
        /// again after every read.
        private var scanned = 0
        private var eof = false
        public private(set) var number = 0

        /// Regular files only, never through a link: a FIFO or device planted in the spool
        /// directory would otherwise block the run (with the lock held) or feed it forever.
        /// Such a name is a malformed spool file, so replay sets it aside.
        public init(path: String) throws(Error) {
            // unsafe: the OS reads the path's C string for the call's duration only.
            fd = unsafe open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
            if fd < 0, errno == ELOOP { throw .malformed(line: 0, "a symbolic link, not a spool file") }
            guard fd >= 0 else { throw .io("cannot open \(path): \(errnoDescription())") }
            var info = stat()
            // unsafe: the OS fills `info`, a local of the size it expects.
            guard unsafe fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                close()
                throw .malformed(line: 0, "not a regular file")
            }
        }

        /// Closes the file if `close()` was forgotten, but a debug build stops there.
        deinit {
            assert(fd < 0, "Spool.LineReader deinitialized without close()")
            close()
        }

        /// Closes the file. Idempotent; `next()` then reads no further.
        public func close() {
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
            eof = true
        }

        /// The next complete line, without its newline; nil at the end. A last line without
        /// a newline is dropped: the write that made it was cut short.
        public func next() throws(Error) -> ArraySlice<UInt8>? {
            while true {
                let from = max(start, scanned)
                if let nl = Self.newline(in: buffer, from: from) {
                    let line = buffer[start..<nl]
                    start = nl + 1
                    number += 1
                    return line
                }
                scanned = buffer.count
                if eof { return nil }
                if buffer.count - start > Spool.maximumLine { throw .lineTooLong(line: number + 1) }
                if start > 0 {
                    buffer.removeSubrange(0..<start)
                    scanned -= start
                    start = 0
                }
                try fill()
            }
        }

        /// The first newline in `buffer` at or after `from`: the checked word scan every reader
        /// shares (`Word.firstIndex`).
        private static func newline(in buffer: [UInt8], from: Int) -> Int? {
            let at = Word.firstIndex(of: UInt8(ascii: "\n"), in: buffer.span, from: from)
            return at < buffer.count ? at : nil
        }

        private func fill() throws(Error) {
            let chunk = 1 << 20
            let old = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: chunk))
            var n: Int
            repeat {
                // unsafe: the OS writes at most `chunk` bytes at `old`, the room appended just above.
                n = unsafe buffer.withUnsafeMutableBytes { unsafe Glibc.read(fd, $0.baseAddress! + old, chunk) }
            } while n < 0 && errno == EINTR
            guard n >= 0 else { throw .io("read failed: \(errnoDescription())") }
            buffer.removeLast(chunk - n)
            if n == 0 { eof = true }
        }
    }
}

extension Optional where Wrapped == Spool.Entry {
    /// Adds one record to a whole-file parse, checking the order of records.
    mutating func accept(_ record: Spool.Record, number: Int) throws(Spool.Error) {
        switch record {
        case let .header(header):
            guard self == nil else { throw .malformed(line: number, "second header") }
            self = Spool.Entry(header: header, pages: [], end: nil)
        case let .page(slice, instances):
            guard self != nil, self!.end == nil else { throw .malformed(line: number, "page outside a poll") }
            self!.pages.append((slice, instances))
        case let .slice(slice, ms):
            guard self != nil, self!.end == nil else { throw .malformed(line: number, "slice outside a poll") }
            self!.sliceTimes[slice] = ms
        case let .end(finishedAt, outcomes):
            guard self != nil, self!.end == nil else { throw .malformed(line: number, "end outside a poll") }
            self!.end = (finishedAt, outcomes)
        }
    }
}
