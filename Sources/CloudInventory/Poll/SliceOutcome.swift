import Foundation

/// One (account, region) pair: the unit that is polled, succeeds or fails on its own.
public struct SliceID: Sendable, Hashable, CustomStringConvertible {
    public var account: String
    public var region: String

    public init(account: String, region: String) {
        self.account = account
        self.region = region
    }

    public var description: String { "\(account)/\(region)" }
}

/// What a poll found in one slice. A failed slice has an error; later stages (the database's
/// vanish logic) only trust `.complete` slices.
public struct SliceOutcome: Sendable, Equatable {
    public enum Status: String, Sendable {
        case complete = "ok"
        case failed = "error"
    }

    public var slice: SliceID
    public var status: Status
    public var instanceCount: Int
    public var errorCode: String?
    public var errorMessage: String?

    public init(slice: SliceID, status: Status, instanceCount: Int, errorCode: String? = nil, errorMessage: String? = nil) {
        self.slice = slice
        self.status = status
        self.instanceCount = instanceCount
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }

    public var region: String { slice.region }

    public var json: JSONValue {
        var members = [
            JSONMember("Account", .string(slice.account)),
            JSONMember("Region", .string(slice.region)),
            JSONMember("Status", .string(status.rawValue)),
            JSONMember("InstanceCount", .int(Int64(instanceCount))),
        ]
        if let errorCode { members.append(JSONMember("ErrorCode", .string(errorCode))) }
        if let errorMessage { members.append(JSONMember("Error", .string(errorMessage))) }
        return .object(members)
    }
}
