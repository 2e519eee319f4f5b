@testable import AWSCore
@testable import CloudInventory
import Foundation
import Testing

/// The order every write is conditional on, and the exact time a state change carries.
@Suite struct PollOrderTests {
    @Test func revSortsAsTheOrderDoes() {
        let orders = [PollOrder(milliseconds: 999, pollId: "b"), PollOrder(milliseconds: 1_000, pollId: "a"),
                      PollOrder(milliseconds: 1_000, pollId: "b"), PollOrder(milliseconds: 1_765_113_600_123, pollId: "a")]
        for (a, b) in zip(orders, orders.dropFirst()) {
            #expect(a < b && a.rev < b.rev, "\(a) \(b)")
            #expect(PollOrder(rev: b.rev) == b)
        }
        #expect(orders[3].rev == "1765113600123|a")
        for bad in ["", "1|a", "176511360012x|a", "17651136001234|a", "1765113600123"] { #expect(PollOrder(rev: bad) == nil, "\(bad)") }
    }

    /// A document written before `Rev` is older only where each of its times is absent or
    /// earlier: a tie, or a time of another type, is never "older" (the write is skipped).
    @Test func documentsWithoutRevAreComparedConservatively() {
        let order = PollOrder(milliseconds: 10_000, pollId: "p")
        #expect(order.isNewer(than: ["LastSeen": .date(9_999), "LastChanged": .date(5_000)]))
        #expect(!order.isNewer(than: ["LastSeen": .date(10_000), "LastChanged": .date(5_000)]))
        #expect(!order.isNewer(than: ["LastSeen": .date(9_000), "LastChanged": .date(10_001)]))
        #expect(!order.isNewer(than: ["LastSeen": "yesterday"]))
        #expect(order.isNewer(than: ["InstanceId": "i-1"]), "a document with no time at all is older")
        #expect(order.isNewer(than: ["Rev": .string(PollOrder(milliseconds: 10_000, pollId: "o").rev)]))
        #expect(!order.isNewer(than: ["Rev": .string(order.rev)]), "its own write is not older")
        #expect(!order.isNewer(than: ["Rev": 5]), "a Rev of another type is never older")
    }

    @Test func theExactTimeOfAStateChangeIsKeptOnlyInsideItsWindow() throws {
        let at = try #require(UTCTime.parse("2026-12-07T13:08:27Z"))
        #expect(StateTransitionTime.parse("User initiated (2026-12-07 13:08:27 GMT)") == at)
        for bad in ["", "User initiated", "User initiated (2026-12-07 13:08:27 UTC)", "(2026-13-07 13:08:27 GMT)",
                    "User initiated (2026-12-07T13:08:27 GMT)", "((((", ")(", "x (2026-12-07 13:08:27 GMT"] {
            #expect(StateTransitionTime.parse(bad) == nil, "\(bad)")
        }
        let members = [JSONMember("StateTransitionReason", .string("User initiated (2026-12-07 13:08:27 GMT)"))]
        let ms = PollOrder.milliseconds(at)
        let after = PollOrder(milliseconds: ms + 4_000, pollId: "p")
        #expect(StateTransitionTime.within(members: members, after: .date(ms - 3_600_000), upTo: after) == .date(ms))
        #expect(StateTransitionTime.within(members: members, after: .date(ms + 1), upTo: after) == nil, "an earlier transition")
        #expect(StateTransitionTime.within(members: members, after: nil, upTo: PollOrder(milliseconds: ms - 1, pollId: "p")) == nil)
    }
}
