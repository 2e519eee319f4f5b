import Foundation
import Testing

/// `--once-per`: hosts share one schedule through the database. Each slice is polled once a
/// window between them; a holder killed mid-slice is taken over after its lease; a new
/// window polls again; without a database the flag is exit 2.
@Suite struct OncePerTests {
    /// Every slice outcome of every stored poll, as (slice, status, holder).
    static func outcomes(_ mongo: TestMongo) throws -> [(slice: String, status: String, heldBy: String?)] {
        try mongo.snapshot().polls.flatMap { poll in
            (poll["Regions"] as? [[String: Any]] ?? []).map { r in
                ("\(r["Account"] ?? "")/\(r["Region"] ?? "")", r["Status"] as? String ?? "", r["HeldBy"] as? String)
            }
        }
    }

    @Test func threeProcessesOfOneWindowPollEachSliceOnce() async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        let (regionA, _) = try world.freshRegion(seed: 3)
        let (regionB, _) = try world.freshRegion(seed: 3)
        let results = try ConcurrentWritersTests.pollTogether(world, mongo, regions: [regionA, regionB], extra: ["--once-per", "1h"])
        for result in results { #expect(result.status == 0, "\(result.stderr)") }
        let outcomes = try Self.outcomes(mongo)
        #expect(outcomes.count == 6, "\(outcomes)")
        for region in [regionA, regionB] {
            let mine = outcomes.filter { $0.slice.hasSuffix("/" + region) }
            #expect(mine.filter { $0.status == "ok" }.count == 1, "\(region): \(mine)")
            #expect(mine.filter { $0.status == "skipped" }.count == 2, "\(region): \(mine)")
            #expect(mine.filter { $0.status == "skipped" }.allSatisfy { $0.heldBy?.isEmpty == false })
        }
        let snap = try mongo.snapshot()
        #expect(snap.polls.allSatisfy { $0["Complete"] as? Bool == true }, "a skipped slice is no failure")
        // The instances each appeared once, polled by one process.
        for region in [regionA, regionB] {
            #expect(snap.events(in: region).filter { $0["Type"] as? String == "appeared" }.count == 3)
        }
    }

    @Test func aHolderKilledMidSliceIsTakenOverAfterItsLease() async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        // A region of the world's own that no test changes: this test only reads it.
        let region = world.regions[1]
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "region": region, "fault": "delay", "seconds": 60, "times": 1]])
        let flags = ["--region", region, "--once-per", "1h", "--once-per-lease", "10s"]
        let holder = try world.startPoll(flags, environment: world.storingEnvironment(mongo, spool: Harness.temporaryDirectory(), endpoint: proxy.url))
        // The holder has claimed the slice once its DescribeInstances is stalled at the proxy.
        var stalled = false
        for _ in 0..<300 where !stalled {
            stalled = (try world.proxyCalls(proxy)["\(region)/DescribeInstances"] ?? 0) > 0
            if !stalled { pause(0.1) }
        }
        #expect(stalled)
        holder.signal(SIGKILL)
        _ = holder.finish(timeout: 30)

        let environment = world.storingEnvironment(mongo, spool: Harness.temporaryDirectory())
        let held = try world.poll(flags, environment: environment)
        #expect(held.status == 0, "\(held.stderr)")
        #expect(try Self.outcomes(mongo).map(\.status) == ["skipped"], "held while the lease runs")
        pause(11)
        let takeover = try world.poll(flags, environment: environment)
        #expect(takeover.status == 0, "\(takeover.stderr)")
        #expect(takeover.stderr.contains("took over a claim whose lease ran out"), "\(takeover.stderr)")
        let after = try world.poll(flags, environment: environment)
        #expect(after.status == 0)
        let statuses = try Self.outcomes(mongo).map(\.status)
        #expect(statuses.first == "skipped" && statuses.dropFirst().sorted() == ["ok", "skipped"], "polled once the lease ran out, then done: \(statuses)")
    }

    @Test func aNewWindowPollsAgain() async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        let region = world.regions[1]
        let environment = world.storingEnvironment(mongo, spool: Harness.temporaryDirectory())
        let flags = ["--region", region, "--once-per", "20s"]
        // Start early in a window, so the first two runs share it.
        let into = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 20)
        if into > 8 { pause(20 - into + 0.2) }
        for _ in 0..<2 { #expect(try world.poll(flags, environment: environment).status == 0) }
        let next = 20 - Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 20)
        pause(next + 0.2)
        #expect(try world.poll(flags, environment: environment).status == 0)
        let statuses = try Self.outcomes(mongo).map(\.status)
        #expect(statuses.prefix(2).sorted() == ["ok", "skipped"] && statuses.last == "ok", "\(statuses)")
    }

    @Test func withoutADatabaseTheFlagIsExitTwo() async throws {
        let world = try await World.shared()
        let result = try world.poll(["--region", world.regions[0], "--once-per", "1h"])
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("--once-per"), "\(result.stderr)")
        for bad in ["1x", "0h", "h", "-1h", "8d"] {
            #expect(try world.poll(["--region", world.regions[0], "--once-per", bad]).status == 2, "\(bad)")
        }
    }
}
