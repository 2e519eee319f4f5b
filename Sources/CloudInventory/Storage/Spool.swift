#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging

/// Where polls wait when the database cannot take them. Nothing is lost: a poll is written
/// here as it streams (one NDJSON line per page), and the file is made durable (fsync,
/// rename, fsync of the directory) only when the database failed. The next run replays the
/// files oldest first and deletes each one only after its write succeeded.
///
/// File layout, one JSON object per line:
///     {"Kind":"poll","PollId","PolledAt","Account","Arn","Slices":[{"Account","Region"}]}
///     {"Kind":"page","Account","Region","Instances":[...]}            (any number)
///     {"Kind":"end","FinishedAt","Outcomes":[...]}
public struct Spool: Sendable {
    public let directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// `CM_SPOOL_DIR`, else `/var/lib/inventory-poller/spool` when it can be used, else the
    /// user's state directory (`$XDG_STATE_HOME` or `~/.local/state`)`/inventory-poller/spool`.
    public static func resolve(environment: Environment) -> Spool {
        if let dir = environment["CM_SPOOL_DIR"] { return Spool(directory: URL(fileURLWithPath: dir)) }
        let system = URL(fileURLWithPath: "/var/lib/inventory-poller/spool")
        if (try? FileManager.default.createDirectory(at: system, withIntermediateDirectories: true)) != nil,
           access(system.path, W_OK) == 0 {
            return Spool(directory: system)
        }
        let state = environment["XDG_STATE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: environment["HOME"] ?? NSTemporaryDirectory()).appendingPathComponent(".local/state")
        return Spool(directory: state.appendingPathComponent("inventory-poller/spool"))
    }

    public struct Error: Swift.Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Complete spool files, oldest first (names begin with the poll time).
    public func pending() -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".ndjson") }.sorted().map { directory.appendingPathComponent($0) }
    }

    /// Moves a file that cannot be read out of the way, so it never blocks later polls.
    public func quarantine(_ url: URL) -> URL {
        let target = url.deletingPathExtension().appendingPathExtension("corrupt")
        try? FileManager.default.removeItem(at: target)
        try? FileManager.default.moveItem(at: url, to: target)
        return target
    }

    /// Starts a spool file for `poll`. Returns nil (with a logged warning) when the spool
    /// directory is unusable: the poll still proceeds, it just has no safety net.
    public func begin(_ poll: PollContext, slices: [SliceID], logger: Logger) -> Writer? {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let writer = try Writer(directory: directory, name: "\(poll.pollId).ndjson")
            try writer.append(.object([
                JSONMember("Kind", "poll"), JSONMember("PollId", .string(poll.pollId)),
                JSONMember("PolledAt", .string(UTCTime.iso8601(poll.polledAt))),
                JSONMember("Account", .string(poll.account)), JSONMember("Arn", .string(poll.arn)),
                JSONMember("Slices", .array(slices.map { .object([JSONMember("Account", .string($0.account)), JSONMember("Region", .string($0.region))]) })),
            ]))
            return writer
        } catch {
            logger.warning("spool unavailable; a database failure would lose this poll", metadata: ["dir": "\(directory.path)", "error": "\(error)"])
            return nil
        }
    }

    /// Appends lines to `<name>.tmp`; `commit()` makes it a durable spool entry, `discard()` removes it.
    public final class Writer {
        let temporary: URL
        let final: URL
        private var fd: Int32

        init(directory: URL, name: String) throws {
            final = directory.appendingPathComponent(name)
            temporary = directory.appendingPathComponent(name + ".tmp")
            fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Spool.Error(description: "cannot create \(temporary.path): \(String(cString: strerror(errno)))") }
        }

        deinit {
            if fd >= 0 { Glibc.close(fd) }
        }

        public func append(_ line: JSONValue) throws {
            var bytes: [UInt8] = []
            line.write(to: &bytes)
            bytes.append(UInt8(ascii: "\n"))
            try bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw Spool.Error(description: "write to \(temporary.path) failed: \(String(cString: strerror(errno)))")
                    }
                    offset += n
                }
            }
        }

        public func appendPage(_ instances: [JSONValue], slice: SliceID) throws {
            try append(.object([JSONMember("Kind", "page"), JSONMember("Account", .string(slice.account)), JSONMember("Region", .string(slice.region)),
                                JSONMember("Instances", .array(instances))]))
        }

        public func appendEnd(finishedAt: Date, outcomes: [SliceOutcome]) throws {
            try append(.object([JSONMember("Kind", "end"), JSONMember("FinishedAt", .string(UTCTime.iso8601(finishedAt))),
                                JSONMember("Outcomes", .array(outcomes.map(\.json)))]))
        }

        /// write → fsync → rename → fsync(dir): after this returns, the poll survives a crash.
        public func commit() throws -> URL {
            guard fsync(fd) == 0 else { throw Spool.Error(description: "fsync \(temporary.path) failed: \(String(cString: strerror(errno)))") }
            Glibc.close(fd)
            fd = -1
            guard rename(temporary.path, final.path) == 0 else {
                throw Spool.Error(description: "rename to \(final.path) failed: \(String(cString: strerror(errno)))")
            }
            let dir = open(final.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY)
            if dir >= 0 { fsync(dir); Glibc.close(dir) }
            return final
        }

        public func discard() {
            if fd >= 0 { Glibc.close(fd); fd = -1 }
            unlink(temporary.path)
        }
    }

    /// A spooled poll read back: header, pages in order, and the outcomes if it finished.
    public struct Entry {
        public var poll: PollContext
        public var pages: [(slice: SliceID, instances: [JSONValue])]
        public var finishedAt: Date?
        public var outcomes: [SliceOutcome]
    }

    public static func read(_ url: URL) throws -> Entry {
        let data = try Data(contentsOf: url)
        var entry: Entry?
        for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            let value = try JSONValue.parse(line)
            switch value["Kind"]?.stringValue {
            case "poll":
                guard let id = value["PollId"]?.stringValue, let account = value["Account"]?.stringValue,
                      let at = value["PolledAt"]?.stringValue.flatMap(UTCTime.parse) else {
                    throw Error(description: "spool header incomplete")
                }
                entry = Entry(poll: PollContext(pollId: id, account: account, arn: value["Arn"]?.stringValue ?? "", polledAt: at),
                              pages: [], finishedAt: nil, outcomes: [])
            case "page":
                guard entry != nil, let account = value["Account"]?.stringValue, let region = value["Region"]?.stringValue,
                      let instances = value["Instances"]?.arrayValue else {
                    throw Error(description: "spool page before header or incomplete")
                }
                entry!.pages.append((SliceID(account: account, region: region), instances))
            case "end":
                guard entry != nil else { throw Error(description: "spool end before header") }
                entry!.finishedAt = value["FinishedAt"]?.stringValue.flatMap(UTCTime.parse)
                entry!.outcomes = (value["Outcomes"]?.arrayValue ?? []).compactMap { o in
                    guard let region = o["Region"]?.stringValue, let account = o["Account"]?.stringValue else { return nil }
                    return SliceOutcome(slice: SliceID(account: account, region: region), status: o["Status"]?.stringValue == "ok" ? .complete : .failed,
                                         instanceCount: Int(o["InstanceCount"]?.intValue ?? 0),
                                         errorCode: o["ErrorCode"]?.stringValue, errorMessage: o["Error"]?.stringValue)
                }
            default:
                throw Error(description: "unknown spool line")
            }
        }
        guard let entry else { throw Error(description: "empty spool file") }
        guard entry.finishedAt != nil else { throw Error(description: "spool file has no end record") }
        return entry
    }
}
