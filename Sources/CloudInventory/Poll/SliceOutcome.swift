import AWSCore
import Foundation

/// What a poll found in one slice. A failed slice has an error; later stages (the database's
/// vanish logic) only trust `.complete` slices. A skipped slice (`--once-per`: another poll
/// holds it in this window) counts neither as ok nor as failed.
public struct SliceOutcome: Sendable, Equatable {
    public enum Status: String, Sendable {
        case complete = "ok"
        case failed = "error"
        case skipped = "skipped"
    }

    public var slice: SliceID
    public var status: Status
    public var instanceCount: Int
    public var errorCode: String?
    public var errorMessage: String?
    /// For a skipped slice: the poll that holds (or held) it in this window.
    public var heldBy: String?

    public init(slice: SliceID, status: Status, instanceCount: Int, errorCode: String? = nil, errorMessage: String? = nil) {
        self.slice = slice
        self.status = status
        self.instanceCount = instanceCount
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }

    public var region: String { slice.region }

    /// A slice this run left to the poll that holds it.
    public static func skipped(_ slice: SliceID, heldBy holder: String) -> SliceOutcome {
        var outcome = SliceOutcome(slice: slice, status: .skipped, instanceCount: 0)
        outcome.heldBy = holder
        return outcome
    }

    /// Read back from a stored or spooled outcome's `Status` (anything unknown is a failure).
    public static func status(_ text: String?) -> Status {
        text.flatMap(Status.init(rawValue:)) ?? .failed
    }

    public var json: JSONValue {
        var members = [
            JSONMember("Account", .string(slice.account)),
            JSONMember("Region", .string(slice.region)),
            JSONMember("Status", .string(status.rawValue)),
            JSONMember("InstanceCount", .int(Int64(instanceCount))),
        ]
        if let errorCode { members.append(JSONMember("ErrorCode", .string(errorCode))) }
        if let errorMessage { members.append(JSONMember("Error", .string(errorMessage))) }
        if let heldBy { members.append(JSONMember("HeldBy", .string(heldBy))) }
        return .object(members)
    }
}
