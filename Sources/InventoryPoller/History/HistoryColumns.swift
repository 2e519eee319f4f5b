import CloudInventory
import Foundation

/// How each kind of stored document flattens to the text and csv columns.
enum HistoryColumns {
    static let instances = InstanceColumns.names + ["first_seen", "last_seen", "vanished_at", "tags"]

    static func instance(_ doc: JSONValue) -> [[String]] {
        [InstanceColumns.cells(doc) + [
            doc["FirstSeen"]?.stringValue ?? "", doc["LastSeen"]?.stringValue ?? "",
            doc["VanishedAt"]?.stringValue ?? "", InstanceColumns.tags(doc),
        ]]
    }

    /// One row per event, and one per field of a `changed` event.
    static let events = ["time", "account", "region", "id", "event", "field", "old", "new"]

    static func event(_ doc: JSONValue) -> [[String]] {
        let head = ["Time", "Account", "Region", "InstanceId", "Type"].map { doc[$0]?.stringValue ?? "" }
        switch doc["Type"]?.stringValue {
        case "appeared": return [head + ["State", "", value(doc["State"])]]
        case "state_changed": return [head + ["State", value(doc["From"]), value(doc["To"])]]
        case "vanished": return [head + ["State", value(doc["LastState"]), ""]]
        case "changed":
            let changes = doc["Changes"]?.arrayValue ?? []
            return changes.map { head + [$0["Field"]?.stringValue ?? "", value($0["Old"]), value($0["New"])] }
        default: return [head + ["", "", ""]]
        }
    }

    /// A field's value in one cell: text as is, tags as `k=v;k=v`, anything else as compact JSON.
    static func value(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: return ""
        case let .string(s)?: return s
        case let .array(items)? where items.allSatisfy({ $0["Key"] != nil && $0["Value"] != nil }) && !items.isEmpty:
            return InstanceColumns.tags(.object([JSONMember("Tags", .array(items))]))
        case let other?: return other.serialized()
        }
    }

    static let polls = ["started", "duration", "account", "slices_ok", "slices_failed", "failures", "instances",
                        "by_state", "spooled", "complete", "id"]

    static func poll(_ doc: JSONValue) -> [[String]] {
        let account = doc["Account"]?.stringValue ?? ""
        let slices = doc["Regions"]?.arrayValue ?? []
        let failed = slices.filter { $0["Status"]?.stringValue == "error" }
        let failures = failed.map { slice -> String in
            let where_ = slice["Account"]?.stringValue.flatMap { $0 == account ? nil : $0 + "/" } ?? ""
            return where_ + (slice["Region"]?.stringValue ?? "") + ":" + (slice["ErrorCode"]?.stringValue ?? "error")
        }
        let byState = (doc["InstancesByState"]?.objectValue ?? []).map { "\($0.key)=\($0.value.intValue ?? 0)" }
        return [[
            doc["StartedAt"]?.stringValue ?? "", duration(doc), account,
            String(slices.count - failed.count), String(failed.count), failures.joined(separator: ";"),
            doc["InstanceCount"]?.intValue.map(String.init) ?? "", byState.joined(separator: ";"),
            doc["Spooled"]?.boolValue == true ? "yes" : "no", doc["Complete"]?.boolValue == false ? "no" : "yes",
            doc["_id"]?.stringValue ?? "",
        ]]
    }

    static func duration(_ doc: JSONValue) -> String {
        guard let start = doc["StartedAt"]?.stringValue.flatMap(UTCTime.parse),
              let end = doc["FinishedAt"]?.stringValue.flatMap(UTCTime.parse) else { return "" }
        return "\(Int(end.timeIntervalSince(start).rounded()))s"
    }
}
