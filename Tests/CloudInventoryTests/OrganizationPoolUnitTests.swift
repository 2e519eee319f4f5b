@testable import AWSCore
@testable import CloudInventory
import Foundation
import Synchronization
import Testing

/// The pieces of the organization pool on their own: the scheduler's order, the services'
/// own request budgets, and a renewal that makes only its own caller wait.
@Suite struct OrganizationPoolUnitTests {
    static func names(_ work: SliceScheduler.Work?) -> String {
        switch work {
        case let .prepare(index)?: return "prepare \(index)"
        case let .poll(ready)?: return "poll \(ready.slice)"
        case nil: return "done"
        }
    }

    @Test func readySlicesComeBeforePreparationsAndEachAccountsSlicesOnceItIsReady() {
        // Account 0 needs no preparing (the caller's own), 1 and 2 do.
        let ids = ["000000000000", "111111111111", "222222222222"]
        let scheduler = SliceScheduler(accounts: 3, prepared: { $0 == 0 ? (["r1", "r2"], nil) : nil }, account: { ids[$0] })
        #expect(Self.names(scheduler.next()) == "poll 000000000000/r1")
        #expect(Self.names(scheduler.next()) == "poll 000000000000/r2")
        #expect(Self.names(scheduler.next()) == "prepare 1")
        #expect(Self.names(scheduler.next()) == "prepare 2")
        // Account 2 is ready first: its slices go out before account 1 is.
        let refused = AWSError.service("sts:AssumeRole", code: "AccessDenied", message: "no", requestId: nil, status: 403)
        scheduler.prepared(2, id: ids[2], regions: ["r1"], failure: refused)
        guard case let .poll(ready)? = scheduler.next() else { Issue.record("no slice"); return }
        #expect(ready.slice == SliceID(account: ids[2], region: "r1") && ready.failure?.errorCode == "AccessDenied")
        #expect(scheduler.plannedCount(provisional: 5) == 2 + 1 + 5)
        // Nothing ready, account 1 still preparing: a worker waits for it, then gets its slice.
        let next = Mutex<String?>(nil)
        let waiter = Thread { next.withLock { $0 = Self.names(scheduler.next()) } }
        waiter.start()
        scheduler.prepared(1, id: ids[1], regions: ["r9"], failure: nil)
        while next.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.01) }
        #expect(next.withLock { $0 } == "poll 111111111111/r9")
        #expect(Self.names(scheduler.next()) == "done")
        // The plan's order is the accounts' order, whatever order they were ready in.
        #expect(scheduler.slices.map(\.description) == ["000000000000/r1", "000000000000/r2", "111111111111/r9", "222222222222/r1"])
    }

    @Test func stsAndOrganizationsSpendBudgetsOfTheirOwn() {
        let budgets = RequestBudgets()
        let ec2 = budgets.bucket(operation: "ec2:DescribeInstances", slice: "123456789012/us-east-1")
        let sts = budgets.bucket(operation: "sts:AssumeRole", slice: "123456789012/us-east-1")
        let organizations = budgets.bucket(operation: "organizations:ListAccounts", slice: "123456789012/us-east-1")
        #expect(ec2 === budgets.bucket("123456789012/us-east-1"))
        #expect(sts !== ec2 && organizations !== ec2 && sts !== organizations)
        #expect(sts === budgets.bucket(operation: "sts:GetCallerIdentity", slice: "123456789012/us-east-1"))
        #expect(sts.rate == RequestBudgets.serviceDefaults["sts"]?.rate && organizations.rate == RequestBudgets.serviceDefaults["organizations"]?.rate)
        #expect(ec2.rate == budgets.rate)
    }

    /// A source whose second fetch blocks until released: the renewal in flight.
    final class BlockingSource: CredentialProvider, @unchecked Sendable {
        let fetches = Atomic<Int>(0)
        let release = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let now = Date()

        func credentials() throws -> Credentials? {
            let n = fetches.add(1, ordering: .relaxed).newValue
            if n > 1 {
                started.signal()
                release.wait()
            }
            // Due for renewal at once (inside the margin), still valid for a minute.
            return Credentials(accessKeyId: "AKIA\(n)", secretAccessKey: "s", expiration: now.addingTimeInterval(60))
        }
    }

    @Test func whileCredentialsStillWorkARenewalMakesOnlyItsCallerWait() throws {
        let source = BlockingSource()
        let cache = CachingCredentialProvider(source, refreshMargin: 300)
        #expect(try cache.credentials()?.accessKeyId == "AKIA1")
        // The next caller renews, and blocks in the source.
        let renewed = Mutex<String?>(nil)
        let renewer = Thread { renewed.withLock { $0 = (try? cache.credentials())??.accessKeyId } }
        renewer.start()
        source.started.wait()
        // Meanwhile other callers get the old, still valid credentials without waiting and
        // without another fetch.
        for _ in 0..<5 { #expect(try cache.credentials()?.accessKeyId == "AKIA1") }
        #expect(source.fetches.load(ordering: .relaxed) == 2)
        source.release.signal()
        while renewed.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.01) }
        #expect(renewed.withLock { $0 } == "AKIA2")
    }
}
