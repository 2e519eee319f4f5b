import AWSCore
import Foundation

/// The identity and time a poll is stamped with. Known before the first instance arrives.
public struct PollHeader: Sendable {
    public var pollId: String
    /// Whole seconds: what is printed is what is stored.
    public var polledAt: Date
    public var identity: CallerIdentity
    public var slices: [SliceID]
    /// What was selected (`--filter`, `--instance-ids`); nil for a poll of everything.
    public var selection: PollSelection?

    public var regions: [String] {
        var seen = Set<String>()
        return slices.map(\.region).filter { seen.insert($0).inserted }
    }

    public var accounts: [String] {
        var seen = Set<String>()
        return slices.map(\.account).filter { seen.insert($0).inserted }
    }

    public var context: PollContext {
        var context = PollContext(pollId: pollId, account: identity.account, arn: identity.arn, polledAt: polledAt)
        context.selection = selection
        return context
    }
}
