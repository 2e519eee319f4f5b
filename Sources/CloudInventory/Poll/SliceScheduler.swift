import AWSCore
import Foundation

/// The worker pool's one queue: accounts to prepare (AssumeRole, DescribeRegions) and
/// slices ready to poll. A worker takes a ready slice when there is one, else prepares the
/// next account, so no worker ever waits for all accounts to be ready and an account's
/// slices start as soon as it is. Only when nothing is ready and nothing is left to prepare
/// does a worker wait, for the preparations still under way.
final class SliceScheduler: @unchecked Sendable {
    /// One slice to poll, with what its account's preparation found.
    struct Ready: Sendable {
        var slice: SliceID
        var account: Int
        var failure: AWSError?
    }

    enum Work: Sendable {
        case prepare(Int)
        case poll(Ready)
    }

    /// Guards everything below; `@unchecked Sendable` rests on it.
    private let condition = NSCondition()
    private var unprepared: [Int]
    private var nextUnprepared = 0
    private var preparing = 0
    private var ready: [Ready] = []
    private var nextReady = 0
    /// Each account's slices in plan order, as they become known.
    private var planned: [[SliceID]]
    private var plannedSlices = 0
    private var preparedAccounts = 0

    /// `accounts` accounts; those `prepared` gives regions for are ready at once, each of
    /// their slices failing with the account's failure when it has one.
    init(accounts: Int, prepared: (Int) -> (regions: [String], failure: AWSError?)?, account id: (Int) -> String) {
        planned = Array(repeating: [], count: accounts)
        unprepared = []
        for index in 0..<accounts {
            guard let (regions, failure) = prepared(index) else {
                unprepared.append(index)
                continue
            }
            planned[index] = regions.map { SliceID(account: id(index), region: $0) }
            plannedSlices += regions.count
            ready += planned[index].map { Ready(slice: $0, account: index, failure: failure) }
        }
    }

    /// The next thing to do, waiting while only preparations under way could give one;
    /// nil once everything is taken.
    func next() -> Work? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if nextReady < ready.count {
                defer { nextReady += 1; compact() }
                return .poll(ready[nextReady])
            }
            if nextUnprepared < unprepared.count {
                defer { nextUnprepared += 1 }
                preparing += 1
                return .prepare(unprepared[nextUnprepared])
            }
            if preparing == 0 { return nil }
            condition.wait()
        }
    }

    /// An account is prepared: its slices, in `regions`, become ready (each failing with
    /// `failure` when there is one).
    func prepared(_ account: Int, id: String, regions: [String], failure: AWSError?) {
        condition.lock()
        defer { condition.unlock() }
        planned[account] = regions.map { SliceID(account: id, region: $0) }
        plannedSlices += regions.count
        preparedAccounts += 1
        ready += planned[account].map { Ready(slice: $0, account: account, failure: failure) }
        preparing -= 1
        condition.broadcast()
    }

    /// The slices known so far plus `provisional` for each account not yet prepared: the
    /// progress line's total.
    func plannedCount(provisional: Int) -> Int {
        condition.lock()
        defer { condition.unlock() }
        return plannedSlices + (unprepared.count - preparedAccounts) * provisional
    }

    /// Every slice known so far, in plan order (accounts in order, each one's regions).
    var slices: [SliceID] {
        condition.lock()
        defer { condition.unlock() }
        return planned.flatMap { $0 }
    }

    /// Drops what was taken once it is most of the array, so a long queue does not keep
    /// every slice it ever held.
    private func compact() {
        guard nextReady > 1024, nextReady * 2 > ready.count else { return }
        ready.removeFirst(nextReady)
        nextReady = 0
    }
}
