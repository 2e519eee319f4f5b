import Foundation
import Testing

/// The database path end to end: the poller against moto, storing through libmongoc into a
/// real wire-protocol server, inspected afterwards with pymongo.
@Suite struct StorageTests {
    static func types(_ events: [[String: Any]]) -> [String] {
        events.compactMap { $0["Type"] as? String }.sorted()
    }

    @Test(arguments: TestMongo.backends)
    func twoPollsAroundAChangeLeaveExactlyWhatTheChangeImplies(_ backend: TestMongo.Backend) async throws {
        let s = try await StoringScenario(backend, seed: 6)
        let first = try s.poll(["--format", "json"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(!first.stderr.contains("are not set"))
        let firstSeen = try Self.expectFirstPoll(s)

        // The change: stop one, terminate one, retag one, one vanishes outright, two launch.
        let ids = s.ids
        let launched = try s.world.change(s.region, stop: [ids[0]], terminate: [ids[1]], vanish: [ids[3]], tag: [ids[2]: ["env": "changed"]], launch: 2)
        nextSecond()
        let second = try s.poll()
        #expect(second.status == 0, "\(second.stderr)")
        let snap = try s.mongo.snapshot()
        try Self.expectSecondPoll(snap, s, launched: launched, firstSeen: firstSeen)
        try Self.expectQuietThirdPoll(s, after: snap)
    }

    /// Six instances appeared, one complete poll, the indexes made. Returns the FirstSeen of
    /// the instances the change leaves alone.
    static func expectFirstPoll(_ s: StoringScenario) throws -> String {
        let snap = try s.mongo.snapshot()
        #expect(snap.instances(in: s.region).count == 6)
        #expect(snap.instances(in: s.region).allSatisfy { $0["Present"] as? Bool == true })
        #expect(Self.types(snap.events(in: s.region)) == Array(repeating: "appeared", count: 6))
        #expect(snap.polls.count == 1)
        let poll1 = snap.polls[0]
        #expect((poll1["InstancesByState"] as? [String: Any])?["running"] as? Int == 6)
        #expect(poll1["Complete"] as? Bool == true)
        #expect(poll1["Version"] is String)
        #expect(snap.indexes["instances"]?.contains("account_region_instance") == true)
        #expect(snap.indexes["instances"]?.contains("state") == true)
        #expect(snap.indexes["instances"]?.contains("tags") == true)
        #expect(snap.indexes["instances"]?.contains("last_seen") == true)
        return try #require(snap.instance(s.ids[4])?["FirstSeen"] as? String)
    }

    /// Each change is one event of the right kind; the untouched instances have none.
    static func expectSecondPoll(_ snap: TestMongo.Snapshot, _ s: StoringScenario, launched: [String], firstSeen: String) throws {
        let ids = s.ids
        let poll2Id = try #require(snap.polls.last?["_id"] as? String)
        let newEvents = snap.events(in: s.region).filter { $0["PollId"] as? String == poll2Id }
        let stopped = snap.events(for: ids[0]).first { $0["Type"] as? String == "state_changed" }
        #expect(stopped?["From"] as? String == "running")
        #expect(stopped?["To"] as? String == "stopped")
        #expect(snap.events(for: ids[1]).first { $0["Type"] as? String == "state_changed" }?["To"] as? String == "terminated")
        let retag = try #require(snap.events(for: ids[2]).first { $0["Type"] as? String == "changed" })
        #expect((retag["Changes"] as? [[String: Any]])?.map { $0["Field"] as? String } == ["Tags"])
        #expect(Self.types(snap.events(for: ids[3])) == ["appeared", "vanished"])
        #expect(snap.instance(ids[3])?["Present"] as? Bool == false)
        #expect(snap.instance(ids[3])?["VanishedAt"] is String)
        for id in launched {
            #expect(Self.types(snap.events(for: id)) == ["appeared"])
        }
        // Untouched instances: no events, seen again, unchanged since their first poll.
        for id in [ids[4], ids[5]] {
            #expect(Self.types(snap.events(for: id)) == ["appeared"])
            #expect(snap.instance(id)?["FirstSeen"] as? String == firstSeen)
            #expect(snap.instance(id)?["LastChanged"] as? String == firstSeen)
            #expect(snap.instance(id)?["LastSeen"] as? String != firstSeen)
            #expect(snap.instance(id)?["LastPollId"] as? String == poll2Id)
        }
        #expect(!newEvents.contains { [ids[4], ids[5]].contains($0["InstanceId"] as? String ?? "") })
        #expect(snap.polls.count == 2)
    }

    /// A third poll with nothing changed records nothing new, and writes no instance
    /// documents: one find and one updateMany per page.
    static func expectQuietThirdPoll(_ s: StoringScenario, after before: TestMongo.Snapshot) throws {
        let eventsBefore = before.events.count
        let commandsBefore = before.commands?.count ?? 0
        nextSecond()
        #expect(try s.poll().status == 0)
        let snap = try s.mongo.snapshot()
        #expect(snap.events.count == eventsBefore)
        #expect(snap.polls.count == 3)
        if let commands = snap.commands {
            let third = commands[commandsBefore...].filter { ($0["collection"] as? String) != nil }
            let writes = third.filter { $0["command"] as? String == "update" }
            #expect(writes.filter { $0["collection"] as? String == "events" }.isEmpty)
            #expect(writes.filter { $0["collection"] as? String == "instances" }.map { $0["count"] as? Int } == [1])
        }
    }

    @Test(arguments: TestMongo.backends)
    func aRegionFailingMidPollMarksNothingVanishedThere(_ backend: TestMongo.Backend) async throws {
        let s = try await StoringScenario(backend, seed: 12)
        let (world, mongo, spool, broken, brokenIds) = (s.world, s.mongo, s.spool, s.region, s.ids)
        let (healthy, healthyIds) = try world.freshRegion(seed: 3)
        #expect(try world.poll(["--region", "\(broken),\(healthy)", "--page-size", "5"], environment: s.env).status == 0)

        try world.change(broken, vanish: [brokenIds[0], brokenIds[11]])
        try world.change(healthy, vanish: [healthyIds[0]])
        // Page 1 of the broken region comes through; every later page fails.
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "region": broken, "skip": 1, "times": -1, "fault": "status500"]])
        nextSecond()
        let result = try world.poll(["--region", "\(broken),\(healthy)", "--page-size", "5", "--max-attempts", "2", "--format", "json"],
                                    environment: world.storingEnvironment(mongo, spool: spool, endpoint: proxy.url))
        #expect(result.status == 4)
        let document = try #require(try parseJSON(result.stdout) as? [String: Any])
        let regions = try #require(document["Regions"] as? [[String: Any]])
        #expect(regions.first { $0["Region"] as? String == broken }?["Status"] as? String == "error")

        let snap = try mongo.snapshot()
        #expect(snap.instances(in: broken).allSatisfy { $0["Present"] as? Bool == true }, "a partial region proves nothing")
        #expect(!snap.events(in: broken).contains { $0["Type"] as? String == "vanished" })
        #expect(snap.instance(healthyIds[0])?["Present"] as? Bool == false)
        let record = try #require(snap.polls.last)
        #expect(record["Complete"] as? Bool == false)
        #expect((record["Errors"] as? [Any])?.isEmpty == false)
    }

    @Test func anOutageLosesNothingAndReplaysWithoutDuplicates() async throws {
        let s = try await StoringScenario(seed: 4)
        let (mongo, spool, ids) = (s.mongo, s.spool, s.ids)
        #expect(try s.poll().status == 0)

        try s.world.change(s.region, stop: [ids[0]])
        mongo.down()
        nextSecond()
        let during = try s.poll(["--format", "ndjson"])
        #expect(during.status == 5, "\(during.stderr)")
        #expect(during.lines.count == 4, "the poll still prints")
        let line = try #require(during.failureLines.last)
        #expect(line.contains("database unreachable"))
        #expect(line.contains("127.0.0.1"))
        let spooled = try FileManager.default.contentsOfDirectory(atPath: spool.path).filter { $0.hasSuffix(".ndjson") }
        #expect(spooled.count == 1)
        let keep = try Data(contentsOf: spool.appendingPathComponent(spooled[0]))

        mongo.up()
        let launched = try s.world.change(s.region, launch: 1)
        nextSecond()
        #expect(try s.poll().status == 0)
        var snap = try mongo.snapshot()
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.path).filter { $0.hasSuffix(".ndjson") }.isEmpty)
        #expect(snap.polls.count == 3)
        let outagePoll = snap.polls[1]["_id"] as? String
        let stops = snap.events(for: ids[0]).filter { $0["Type"] as? String == "state_changed" }
        #expect(stops.count == 1)
        #expect(stops.first?["PollId"] as? String == outagePoll, "the change is dated to the poll that saw it")
        #expect(Self.types(snap.events(for: launched[0])) == ["appeared"])
        let eventCount = snap.events.count
        let lastSeen = snap.instance(ids[1])?["LastSeen"] as? String

        // The same spooled poll replayed again, after newer polls: nothing changes.
        try keep.write(to: spool.appendingPathComponent(spooled[0]))
        nextSecond()
        #expect(try s.poll().status == 0)
        snap = try mongo.snapshot()
        #expect(snap.events.count == eventCount)
        #expect(snap.polls.count == 4)
        #expect((snap.instance(ids[1])?["LastSeen"] as? String ?? "") > (lastSeen ?? ""))
    }

    @Test func aConnectionDroppedMidBulkIsSpooledAndReplayed() async throws {
        let s = try await StoringScenario(seed: 3)
        try s.mongo.hangup(on: "update")
        let dropped = try s.poll()
        #expect(dropped.status == 5)
        #expect(dropped.lines.count == 5, "the poll line, the column header, three instances")
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.spool.path).filter { $0.hasSuffix(".ndjson") }.count == 1)
        nextSecond()
        #expect(try s.poll().status == 0)
        let snap = try s.mongo.snapshot()
        for id in s.ids {
            #expect(Self.types(snap.events(for: id)) == ["appeared"])
        }
        #expect(snap.polls.count == 2)
    }

    @Test(arguments: [
        ("mongodb://[::1", "bad database URI"),
        ("postgres://u:pw-bad-uri@localhost/x", "bad database URI"),
        ("mongodb://u:pw-bad-uri@localhost:notaport/", "bad database URI"),
    ])
    func aBadURIIsExitTwo(_ uri: String, _ mention: String) async throws {
        let world = try await World.shared()
        var env = world.pollerEnvironment()
        env["CM_DB_URI"] = uri
        env["CM_DB_NAME"] = "inventory"
        let result = try world.poll(["--region", "eu-west-1"], environment: env)
        #expect(result.status == 2)
        #expect(result.stderr.contains(mention), "\(result.stderr)")
        #expect(!result.stderr.contains("pw-bad-uri"))
        #expect(result.stdout.isEmpty)
    }

    @Test func halfTheDatabaseSettingsIsExitTwo() async throws {
        let world = try await World.shared()
        var env = world.pollerEnvironment()
        env["CM_DB_URI"] = "mongodb://127.0.0.1:1/"
        let result = try world.poll(["--region", "eu-west-1"], environment: env)
        #expect(result.status == 2)
        #expect(result.stderr.contains("CM_DB_NAME"))
    }

    @Test func theURIPasswordNeverAppears() async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        let spool = Harness.temporaryDirectory()
        var env = world.storingEnvironment(mongo, spool: spool)
        let password = "Pa55-w0rd%2Fsecret"
        env["CM_DB_URI"] = mongo.uri.replacingOccurrences(of: "mongodb://", with: "mongodb://poller:\(password)@")
        let result = try world.poll(["--region", "eu-west-1", "--log-level", "trace"], environment: env)
        // The stand-in server has no authentication, so the write is refused and spooled.
        #expect(result.status == 5)
        let everything = result.stdout + result.stderr
        #expect(result.stderr.contains("poller:****@"))
        for secret in [password, "Pa55-w0rd/secret"] {
            #expect(!everything.contains(secret))
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: spool.path) {
            #expect(!(try String(contentsOf: spool.appendingPathComponent(file), encoding: .utf8)).contains("Pa55"))
        }
    }

    @Test func aCorruptSpoolFileIsMovedAsideAndNeverBlocks() async throws {
        let s = try await StoringScenario(seed: 2)
        try Data("{\"Kind\":\"poll\",\"PollId\":\"x\"\nnot json at all\n".utf8).write(to: s.spool.appendingPathComponent("00000000T000000Z-x.ndjson"))
        let result = try s.poll()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("corrupt spool file moved aside"))
        let files = try FileManager.default.contentsOfDirectory(atPath: s.spool.path)
        #expect(files == ["00000000T000000Z-x.corrupt"])
        #expect(try s.mongo.snapshot().polls.count == 1)
    }
}
