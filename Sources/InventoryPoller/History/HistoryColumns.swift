import AWSCore
import CloudInventory
import Foundation

/// How each kind of stored document flattens to the text and csv columns.
///
/// Cells come from the stored BSON, each field checked for its type: a document another
/// program wrote, or one of an older version, shows an empty cell (`-` in text) for a field it
/// lacks or holds with another type, never a value it does not hold (a poll without `Complete`
/// is not "complete yes"; a `Regions` entry without `Status: "ok"` is no ok slice).
enum HistoryColumns {
    static let instances = InstanceColumns.names + ["first_seen", "last_seen", "vanished_at", "tags"]

    static func instance(_ doc: BSONValue) -> [[String]] {
        let json = doc.json
        return [InstanceColumns.cells(json) + [date(doc["FirstSeen"]), date(doc["LastSeen"]), date(doc["VanishedAt"]),
                                               InstanceColumns.tags(json)]]
    }

    /// One row per event, and one per field of a `changed` event. csv adds the two stored
    /// times the text `time` cell is made of (`EventTime`).
    static let events = ["time", "account", "region", "id", "event", "field", "old", "new"]
    static let eventsCSV = events + ["exact_time", "prev_seen"]

    static func event(_ doc: BSONValue) -> [[String]] { eventRows(doc, csv: false) }
    static func eventCSV(_ doc: BSONValue) -> [[String]] { eventRows(doc, csv: true) }

    private static func eventRows(_ doc: BSONValue, csv: Bool) -> [[String]] {
        let time = csv ? date(doc["Time"]) : EventTime(doc).text
        let head = [time] + ["Account", "Region", "InstanceId", "Type"].map { string(doc[$0]) }
        let tail = csv ? [date(doc["ExactTime"]), date(doc["PrevSeen"])] : []
        switch doc["Type"]?.stringValue {
        case "appeared": return [head + ["State", "", value(doc["State"])] + tail]
        case "state_changed": return [head + ["State", value(doc["From"]), value(doc["To"])] + tail]
        case "vanished": return [head + ["State", value(doc["LastState"]), ""] + tail]
        case "changed":
            let changes = (doc["Changes"]?.arrayValue ?? []).filter { $0["Field"]?.stringValue != nil }
            return changes.map { head + [string($0["Field"]), value($0["Old"]), value($0["New"])] + tail }
        default: return [head + ["", "", ""] + tail]
        }
    }

    /// A field's value in one cell: text as is, tags as `k=v;k=v`, anything else as compact JSON.
    static func value(_ value: BSONValue?) -> String {
        switch value?.json {
        case nil, .null?: return ""
        case let .string(s)?: return s
        case let .array(items)? where items.allSatisfy({ $0["Key"] != nil && $0["Value"] != nil }) && !items.isEmpty:
            return InstanceColumns.tags(.object([JSONMember("Tags", .array(items))]))
        case let other?: return other.serialized()
        }
    }

    static let polls = ["started", "duration", "account", "slices_ok", "slices_failed", "failures", "instances",
                        "by_state", "spooled", "complete", "selection", "id"]

    static func poll(_ doc: BSONValue) -> [[String]] {
        let account = string(doc["Account"])
        let slices = doc["Regions"]?.arrayValue
        let failed = (slices ?? []).filter { $0["Status"]?.stringValue == "error" }
        let ok = (slices ?? []).filter { $0["Status"]?.stringValue == "ok" }
        let failures = failed.map { slice -> String in
            let where_ = slice["Account"]?.stringValue.flatMap { $0 == account ? nil : $0 + "/" } ?? ""
            return where_ + string(slice["Region"], or: "?") + ":" + string(slice["ErrorCode"], or: "error")
        }
        var byState: [String] = []
        if case let .document(members)? = doc["InstancesByState"] {
            byState = members.compactMap { key, count in count.intValue.map { "\(key)=\($0)" } }
        }
        return [[
            date(doc["StartedAt"]), duration(doc), account,
            slices.map { _ in String(ok.count) } ?? "", slices.map { _ in String(failed.count) } ?? "",
            failures.joined(separator: ";"), doc["InstanceCount"]?.intValue.map(String.init) ?? "", byState.joined(separator: ";"),
            yesNo(doc["Spooled"]), yesNo(doc["Complete"]), selection(doc["Selection"]), string(doc["_id"]),
        ]]
    }

    /// A selected poll's `Selection`: `Name=tag:env,Values=prod,staging;InstanceIds=i-1,i-2`
    /// (the `--filter` shorthand it was run with); empty for a poll of everything.
    static func selection(_ value: BSONValue?) -> String {
        guard let value else { return "" }
        let filters = (value["Filters"]?.arrayValue ?? []).compactMap { filter -> String? in
            guard let name = filter["Name"]?.stringValue else { return nil }
            let values = (filter["Values"]?.arrayValue ?? []).compactMap(\.stringValue)
            return "Name=\(name),Values=\(values.joined(separator: ","))"
        }
        let ids = (value["InstanceIds"]?.arrayValue ?? []).compactMap(\.stringValue)
        return (filters + (ids.isEmpty ? [] : ["InstanceIds=" + ids.joined(separator: ",")])).joined(separator: ";")
    }

    static func duration(_ doc: BSONValue) -> String {
        guard let start = doc["StartedAt"]?.dateValue, let end = doc["FinishedAt"]?.dateValue else { return "" }
        return "\(Int(end.timeIntervalSince(start).rounded()))s"
    }

    /// A stored date as ISO 8601 UTC; "" for a missing or ill-typed one.
    static func date(_ value: BSONValue?) -> String {
        value?.dateValue.map(UTCTime.iso8601) ?? ""
    }

    static func string(_ value: BSONValue?, or absent: String = "") -> String {
        value?.stringValue ?? absent
    }

    static func yesNo(_ value: BSONValue?) -> String {
        value?.boolValue.map { $0 ? "yes" : "no" } ?? ""
    }
}

/// When an event happened, as far as the history knows: the exact moment EC2 stated
/// (`ExactTime`, from `StateTransitionReason`), else the window between the last poll that saw
/// the old state (`PrevSeen`) and the poll that saw the new one (`Time`), else (an event stored
/// before either field existed) the poll's time alone.
struct EventTime {
    let time: Date?
    let exact: Date?
    let previous: Date?

    init(_ doc: BSONValue) {
        time = doc["Time"]?.dateValue
        exact = doc["ExactTime"]?.dateValue
        previous = doc["PrevSeen"]?.dateValue
    }

    /// `2026-12-07T13:08:27Z`, `between 2026-12-07T12:08:31Z and 13:08:31Z` (the second time's
    /// date left out when it is the first's), or the poll's time.
    var text: String {
        if let exact { return UTCTime.iso8601(exact) }
        guard let time else { return "" }
        guard let previous, previous < time else { return UTCTime.iso8601(time) }
        let from = UTCTime.iso8601(previous), to = UTCTime.iso8601(time)
        let sameDay = from.prefix(10) == to.prefix(10)
        return "between \(from) and \(sameDay ? String(to.dropFirst(11)) : to)"
    }
}
