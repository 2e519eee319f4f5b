import CloudInventory
import Foundation
import Logging
import Testing

/// SIGTERM while the binary replays a big spool file: the run stops between pages with 143,
/// the file stays, and the next run finishes it without a duplicate event.
@Suite struct ReplaySignalTests {
    @Test func sigtermDuringReplayStopsBetweenPagesAndLosesNothing() async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        let spool = Spool(directory: Harness.temporaryDirectory())
        let ids = SpoolTests.ids("h", 3000)
        let pages = stride(from: 0, to: ids.count, by: 100).map { ids[$0..<($0 + 100)].map { SpoolTests.instance($0) } }
        try SpoolTests().spoolPoll(spool, at: SpoolTests.wholeSecond(-60), pages: pages, database: nil)
        let (region, _) = try world.freshRegion(seed: 1)
        let env = world.storingEnvironment(mongo, spool: spool.directory)

        let running = try world.startPoll(["--region", region], environment: env)
        // Bounded wait (not a timing assertion) for the replay's first instance write.
        for _ in 0..<600 where running.isRunning {
            if let commands = try mongo.snapshot().commands,
               commands.contains(where: { $0["command"] as? String == "update" && $0["collection"] as? String == "instances" }) { break }
            pause(0.1)
        }
        // On a loaded machine the whole replay can end before its first write is seen; then
        // there is no signal to test, but what follows (nothing lost, nothing twice) still holds.
        let signalled = running.signal(SIGTERM)  // sent only if the run has not ended
        let stopped = running.finish()
        #expect(stopped.status == (signalled ? 143 : 0), "\(stopped.stderr)")
        let remaining = spool.pending()
        if !remaining.isEmpty {
            #expect(stopped.stderr.contains("replay stopped by signal"), "\(stopped.stderr)")
        }

        let clean = try world.poll(["--region", region], environment: env)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(spool.pending().isEmpty)
        let snap = try mongo.snapshot()
        let replayed = snap.events.filter { ($0["InstanceId"] as? String)?.hasPrefix("i-h") == true }
        #expect(replayed.count == 3000, "each replayed instance appeared exactly once")
        #expect(Set(replayed.compactMap { $0["InstanceId"] as? String }).count == 3000)
    }
}
