import Foundation

/// Rebuilds instances as they stood at `asOf` from their current documents and the events
/// after `asOf`, undoing those events: the first state change after `asOf` gives the state
/// then (`From`), the first change of each field its value then (`Old`), and the first
/// vanish or reappearance whether it was present then. Instances and events are both read
/// sorted by account, region and instance id, and merged, so memory holds one instance's
/// events at a time.
struct FleetAsOf {
    let asOf: Date
    private let events: MongoCursor
    private var pending: BSONValue?

    init(asOf: Date, events: MongoCursor) {
        self.asOf = asOf
        self.events = events
    }

    /// Fields that describe the current document's bookkeeping, not the instance at `asOf`.
    static let current: Set<String> = ["LastSeen", "LastChanged", "LastPollId", "ContentHash", "VanishedAt", "Present", "Rev", "Pending"]

    /// EC2's state codes, for the `State.Code` beside a rebuilt `State.Name`.
    static let stateCodes: [String: Int32] = ["pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80]

    mutating func rebuild(_ doc: BSONValue) throws(MongoError) -> BSONValue {
        let later = try laterEvents(of: Self.key(doc))
        var present = doc["Present"]?.boolValue ?? true
        var state: BSONValue?
        var fields: [String: BSONValue] = [:]
        var presenceKnown = false
        for event in later {
            switch event["Type"]?.stringValue {
            case "vanished" where !presenceKnown: present = true; presenceKnown = true
            case "reappeared" where !presenceKnown: present = false; presenceKnown = true
            case "state_changed" where state == nil: state = event["From"] ?? .null
            case "changed":
                for change in event["Changes"]?.arrayValue ?? [] {
                    guard let field = change["Field"]?.stringValue, fields[field] == nil else { continue }
                    fields[field] = change["Old"] ?? .null
                }
            default: break
            }
        }
        return assemble(doc, present: present, state: state, fields: fields)
    }

    private func assemble(_ doc: BSONValue, present: Bool, state: BSONValue?, fields: [String: BSONValue]) -> BSONValue {
        guard case let .document(members) = doc else { return doc }
        var out: [(String, BSONValue)] = []
        var seen = Set<String>()
        for (key, value) in members {
            seen.insert(key)
            if Self.current.contains(key) { continue }
            var value = fields[key] ?? value
            if key == "State", let name = state?.stringValue {
                value = .document([("Code", .int32(Self.stateCodes[name] ?? -1)), ("Name", .string(name))])
            }
            if value != .null { out.append((key, value)) }
        }
        // A field the instance had then but has lost since.
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !seen.contains(key) && value != .null {
            out.append((key, value))
        }
        out.append(("Present", .bool(present)))
        if !present, let vanished = doc["VanishedAt"], let at = vanished.dateValue, at <= asOf {
            out.append(("VanishedAt", vanished))
        }
        out.append(("AsOf", .date(asOf)))
        return .document(out)
    }

    static func key(_ doc: BSONValue) -> [String] {
        [doc["Account"]?.stringValue ?? "", doc["Region"]?.stringValue ?? "", doc["InstanceId"]?.stringValue ?? ""]
    }

    /// The events after `asOf` of the instance `key`, skipping those of instances not listed
    /// (filtered out, or not yet seen then). Both cursors ascend in the same byte order.
    private mutating func laterEvents(of key: [String]) throws(MongoError) -> [BSONValue] {
        var found: [BSONValue] = []
        while true {
            if pending == nil { pending = try events.next() }
            guard let event = pending else { return found }
            let eventKey = Self.key(event)
            if Self.precedes(key, eventKey) { return found }
            if eventKey == key { found.append(event) }
            pending = nil
        }
    }

    /// Byte order, as the server sorts strings.
    static func precedes(_ a: [String], _ b: [String]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x.utf8.lexicographicallyPrecedes(y.utf8) }
        return false
    }
}
