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
