import Foundation
import Testing

/// The history subcommands stream from the server's cursor: a result larger than one batch
/// (`MongoCursor.batchSize`, 500) arrives over `getMore`, and every document is printed once.
@Suite struct HistoryStreamingTests {
    @Test func instancesStreamAcrossCursorBatches() async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        let env = world.storingEnvironment(mongo, spool: Harness.temporaryDirectory())
        // 601 instances, launched in parts so that no control call nears its time limit.
        var (region, ids) = try world.freshRegion(seed: 200)
        ids += try world.change(region, launch: 200)
        ids += try world.change(region, launch: 201)
        let poll = try world.poll(["--region", region, "--format", "ndjson"], environment: env)
        #expect(poll.status == 0, "\(poll.stderr)")

        let result = try runProcess(Harness.pollerBinary, ["instances", "--region", region, "--format", "ndjson"],
                                    environment: env, timeout: 300)
        #expect(result.status == 0, "\(result.stderr)")
        let printed = try result.lines.map { try parseJSON($0) as! [String: Any] }.map { $0["InstanceId"] as! String }
        #expect(printed.count == ids.count)
        #expect(Set(printed) == Set(ids))
        #expect(printed == printed.sorted(), "one account and region: sorted by instance id")

        let commands = try mongo.snapshot().commands ?? []
        let getMores = commands.filter { $0["command"] as? String == "getMore" }.count
        #expect(getMores >= 1, "601 documents in batches of 500 take a getMore: \(getMores)")
    }
}
