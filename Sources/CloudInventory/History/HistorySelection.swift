import Foundation

/// Which stored instances `instances` lists. Every filter narrows: repeated values of one
/// filter are alternatives, every tag must match.
public struct InstanceSelection: Sendable {
    public enum Presence: Sendable { case present, vanished, all }

    public var states: [String] = []
    /// `(key, value)`; a nil value matches the key with any value.
    public var tags: [(key: String, value: String?)] = []
    public var regions: [String] = []
    public var accounts: [String] = []
    public var instanceIds: [String] = []
    public var presence: Presence = .present
    /// The fleet as it stood at this time, rebuilt from the events (`FleetAsOf`).
    public var asOf: Date?

    public init() {}

    /// The filter for the stored documents. With `asOf`, only what cannot change over time
    /// (where and who), plus `FirstSeen <= asOf`; state, tags and presence are then checked
    /// on the rebuilt document by `matches`.
    var filter: BSONValue {
        var clauses = Self.membership(["Account": accounts, "Region": regions, "InstanceId": instanceIds])
        if let asOf {
            clauses.append(["FirstSeen": ["$lte": .date(asOf)]])
            return Self.all(clauses)
        }
        switch presence {
        case .present: clauses.append(["Present": true])
        case .vanished: clauses.append(["Present": false])
        case .all: break
        }
        clauses += Self.membership(["State.Name": states])
        for tag in tags {
            if let value = tag.value {
                clauses.append(["Tags": ["$elemMatch": ["Key": .string(tag.key), "Value": .string(value)]]])
            } else {
                clauses.append(["Tags.Key": .string(tag.key)])
            }
        }
        return Self.all(clauses)
    }

    /// The state, tag and presence filters on one document, as the server applies `filter`.
    func matches(_ doc: BSONValue) -> Bool {
        let present = doc["Present"]?.boolValue ?? true
        switch presence {
        case .present where !present, .vanished where present: return false
        default: break
        }
        if !states.isEmpty {
            guard let state = doc["State"]?["Name"]?.stringValue, states.contains(state) else { return false }
        }
        let docTags = (doc["Tags"]?.arrayValue ?? []).map { ($0["Key"]?.stringValue, $0["Value"]?.stringValue) }
        return tags.allSatisfy { tag in
            docTags.contains { $0.0 == tag.key && (tag.value == nil || $0.1 == tag.value) }
        }
    }

    static func membership(_ fields: KeyValuePairs<String, [String]>) -> [BSONValue] {
        fields.compactMap { field, values -> BSONValue? in
            switch values.count {
            case 0: return nil
            case 1: return .document([(field, .string(values[0]))])
            default: return .document([(field, .document([("$in", .array(values.map { BSONValue.string($0) }))]))])
            }
        }
    }

    static func all(_ clauses: [BSONValue]) -> BSONValue {
        clauses.isEmpty ? .document([]) : ["$and": .array(clauses)]
    }
}

/// Which events `changes` and `history` list.
public struct EventSelection: Sendable {
    public var since: Date?
    public var until: Date?
    public var types: [String] = []
    public var instanceIds: [String] = []
    public var regions: [String] = []
    public var accounts: [String] = []

    public init() {}

    var filter: BSONValue {
        var clauses = InstanceSelection.membership(["Account": accounts, "Region": regions, "InstanceId": instanceIds, "Type": types])
        var time: [(String, BSONValue)] = []
        if let since { time.append(("$gte", .date(since))) }
        if let until { time.append(("$lt", .date(until))) }
        if !time.isEmpty { clauses.append(.document([("Time", .document(time))])) }
        return InstanceSelection.all(clauses)
    }
}

/// Which poll records `polls` lists: the latest `last`, only failed ones with `failed`.
public struct PollRecordSelection: Sendable {
    public var last: Int
    public var failed: Bool

    public init(last: Int, failed: Bool) {
        self.last = last
        self.failed = failed
    }

    var filter: BSONValue { failed ? ["Regions.Status": "error"] : .document([]) }
}
