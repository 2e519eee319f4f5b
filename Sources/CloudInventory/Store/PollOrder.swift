import Foundation

/// Where one poll's observation of a slice stands among every writer's observations of it:
/// the slice's observation time in milliseconds, then the poll id as the tiebreak. Never a
/// whole second: two hosts polling in the same second are still ordered, and the older one
/// never overwrites what the newer one stored.
///
/// Stored on every instance document a poll writes as `Rev`, a string that sorts as the
/// order does (`0001765113600123|<poll id>`), so the database itself can compare it in a
/// conditional update. Documents written before `Rev` existed are ordered by `LastSeen` and
/// `LastChanged` in whole seconds, conservatively: a tie is never "older".
public struct PollOrder: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since 1970, as BSON dates hold them.
    public let milliseconds: Int64
    public let pollId: String

    public init(milliseconds: Int64, pollId: String) {
        self.milliseconds = max(0, milliseconds)
        self.pollId = pollId
    }

    public init(date: Date, pollId: String) {
        self.init(milliseconds: Self.milliseconds(date), pollId: pollId)
    }

    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
    public var bsonDate: BSONValue { .date(milliseconds) }

    /// Thirteen digits cover every millisecond until the year 2286, so the string sorts as
    /// the number does.
    public var rev: String {
        let digits = String(milliseconds)
        return String(repeating: "0", count: max(0, 13 - digits.count)) + digits + "|" + pollId
    }

    public var description: String { rev }

    public static func < (a: PollOrder, b: PollOrder) -> Bool {
        (a.milliseconds, a.pollId) < (b.milliseconds, b.pollId)
    }

    /// The order a `Rev` string holds, or nil for anything else.
    public init?(rev: String) {
        guard let bar = rev.firstIndex(of: "|"), rev.distance(from: rev.startIndex, to: bar) == 13,
              let ms = Int64(rev[..<bar]) else { return nil }
        self.init(milliseconds: ms, pollId: String(rev[rev.index(after: bar)...]))
    }

    /// Whether the stored document `doc` was written by an observation older than this one
    /// (the same test as `olderCondition`, on the client's side). A document without `Rev`
    /// is older when each of `LastSeen` and `LastChanged` is absent or an earlier date.
    public func isNewer(than doc: BSONValue) -> Bool {
        if let stored = doc["Rev"] {
            guard let text = stored.stringValue else { return false }
            return text < rev
        }
        return ["LastSeen", "LastChanged"].allSatisfy { field in
            guard let value = doc[field] else { return true }
            return value.dateMilliseconds.map { $0 < milliseconds } ?? false
        }
    }

    /// The condition that matches documents written by older observations: `isNewer(than:)`
    /// as the server evaluates it, so a conditional update never lands on newer state.
    public var olderCondition: (String, BSONValue) {
        func earlier(_ field: String) -> BSONValue {
            ["$or": [[field: ["$exists": false]], [field: ["$lt": bsonDate]]]]
        }
        return ("$or", [
            ["Rev": ["$lt": .string(rev)]],
            ["Rev": ["$exists": false], "$and": [earlier("LastSeen"), earlier("LastChanged")]],
        ])
    }

    /// The order a stored document holds, if it was written with one.
    public static func stored(_ doc: BSONValue) -> PollOrder? {
        doc["Rev"]?.stringValue.flatMap(PollOrder.init(rev:))
    }
}

extension BSONValue {
    /// A date's milliseconds, exactly as stored.
    var dateMilliseconds: Int64? {
        if case let .date(ms) = self { return ms }
        return nil
    }
}
