import Foundation
import Testing

/// Several writers, one database: three pollers (hosts, each with its own lock and spool)
/// start in the same second, four rounds, the world changed between rounds. An oracle from
/// the world's own record: no false vanish or reappearance, each transition stored once,
/// each instance appearing once, and the stored fleet equal to EC2's.
@Suite struct ConcurrentWritersTests {
    static let writers = 3

    /// Starts `writers` polls of `regions` at one moment and waits for all.
    static func pollTogether(_ world: World, _ mongo: TestMongo, regions: [String], extra: [String] = [],
                             writers: Int = writers) throws -> [ProcessResult] {
        let running = try (0..<writers).map { _ in
            try world.startPoll(["--region", regions.joined(separator: ","), "--format", "ndjson"] + extra,
                                environment: world.storingEnvironment(mongo, spool: Harness.temporaryDirectory()))
        }
        return running.map { $0.finish(timeout: 300) }
    }

    /// `{InstanceId: state}` of what EC2 holds now, from a poll that stores nothing.
    static func fleet(_ world: World, regions: [String]) throws -> [String: String] {
        let result = try world.poll(["--region", regions.joined(separator: ","), "--format", "ndjson"])
        #expect(result.status == 0, "\(result.stderr)")
        var fleet: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let instance = object["Instance"] as? [String: Any] ?? Optional(object),
                  let id = instance["InstanceId"] as? String else { continue }
            fleet[id] = (instance["State"] as? [String: Any])?["Name"] as? String
        }
        return fleet
    }

    @Test(arguments: TestMongo.backends)
    func writersInTheSameSecondKeepOneTrueHistory(_ backend: TestMongo.Backend) async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(backend)
        let (regionA, idsA) = try world.freshRegion(seed: 12)
        let (regionB, idsB) = try world.freshRegion(seed: 12)
        let regions = [regionA, regionB]
        var vanished: Set<String> = []
        var everSeen: Set<String> = Set(idsA + idsB)
        for round in 0..<4 {
            for result in try Self.pollTogether(world, mongo, regions: regions) {
                #expect(result.status == 0, "round \(round): \(result.stderr)")
            }
            // The world changes between rounds: stop, terminate, vanish, launch in each region.
            for (region, ids) in [(regionA, idsA), (regionB, idsB)] where round < 3 {
                let base = round * 3
                let launched = try world.change(region, stop: [ids[base]], terminate: [ids[base + 1]], vanish: [ids[base + 2]], launch: 2)
                vanished.insert(ids[base + 2])
                everSeen.formUnion(launched)
            }
        }
        let expected = try Self.fleet(world, regions: regions)
        let snap = try mongo.snapshot()
        let events = snap.events.filter { regions.contains($0["Region"] as? String ?? "") }

        // Each instance appeared once; each transition is stored once.
        var seen: [String: Int] = [:]
        for event in events {
            let key = [event["InstanceId"], event["Type"], event["From"], event["To"]].map { "\($0 ?? "-")" }.joined(separator: "|")
            seen[key, default: 0] += 1
        }
        #expect(seen.filter { $0.value > 1 }.isEmpty, "stored twice: \(seen.filter { $0.value > 1 })")
        for id in everSeen.subtracting(vanished) where expected[id] != nil {
            #expect(StorageTests.types(snap.events(for: id)).filter { $0 == "appeared" }.count == 1, "\(id): \(snap.events(for: id))")
        }
        // No false vanish or reappearance: only what left EC2 vanished, nothing came back.
        let vanishedIds = Set(events.filter { $0["Type"] as? String == "vanished" }.compactMap { $0["InstanceId"] as? String })
        #expect(vanishedIds == vanished, "vanished: \(vanishedIds.sorted()), expected \(vanished.sorted())")
        #expect(!events.contains { $0["Type"] as? String == "reappeared" }, "no instance left and came back")
        // The stored fleet is EC2's.
        let stored = snap.instances.filter { regions.contains($0["Region"] as? String ?? "") && $0["Present"] as? Bool == true }
        let storedFleet = Dictionary(uniqueKeysWithValues: stored.compactMap { doc -> (String, String)? in
            guard let id = doc["InstanceId"] as? String else { return nil }
            return (id, ((doc["State"] as? [String: Any])?["Name"] as? String) ?? "-")
        })
        #expect(storedFleet == expected, "stored \(storedFleet.count), EC2 \(expected.count)")
        #expect(snap.instances.allSatisfy { $0["Pending"] == nil }, "every outbox delivered")
        // Each poll record is complete, and every writer's poll is there.
        #expect(snap.polls.count == Self.writers * 4)
    }
}
