@testable import CloudInventory
import Foundation
import Testing

/// `--filter` and `--instance-ids`: EC2 (moto) does the selecting, and a selected poll marks
/// nothing vanished, live or replayed from the spool. Expected answers come from what the
/// test did to its own region, never from the program.
@Suite struct SelectionTests {
    static func ids(_ result: ProcessResult) throws -> Set<String> {
        Set(try result.lines.map { line in
            let object = try #require(try parseJSON(line) as? [String: Any])
            return try #require(object["InstanceId"] as? String)
        })
    }

    static func vanishedEvents(_ snap: TestMongo.Snapshot, _ region: String) -> [[String: Any]] {
        snap.events(in: region).filter { $0["Type"] as? String == "vanished" }
    }

    @Test func filtersAndIdsAreAppliedByEC2AndASelectedPollVanishesNothing() async throws {
        let s = try await StoringScenario(seed: 6)
        let ids = s.ids
        // The world, as this test makes it: 0, 1 prod; 2 staging; 3-5 dev; 1 stopped.
        try s.world.change(s.region, stop: [ids[1]], tag: [ids[0]: ["env": "prod"], ids[1]: ["env": "prod"], ids[2]: ["env": "staging"],
                                                            ids[3]: ["env": "dev"], ids[4]: ["env": "dev"], ids[5]: ["env": "dev"]])
        #expect(try s.poll().status == 0)
        // 5 leaves the world: a complete poll would mark it vanished; a selected one must not.
        try s.world.change(s.region, vanish: [ids[5]])

        nextSecond()
        let byTag = try s.poll(["--filter", "Name=tag:env,Values=prod,staging", "--format", "ndjson"])
        #expect(byTag.status == 0, "\(byTag.stderr)")
        #expect(try Self.ids(byTag) == [ids[0], ids[1], ids[2]])

        nextSecond()
        let both = try s.poll(["--filter", "Name=tag:env,Values=[prod,staging]", "--filter", "Name=instance-state-name,Values=running",
                               "--format", "ndjson"])
        #expect(both.status == 0, "\(both.stderr)")
        #expect(try Self.ids(both) == [ids[0], ids[2]])

        nextSecond()
        let byId = try s.poll(["--instance-ids", "\(ids[2]),\(ids[4])", "--instance-ids", ids[2], "--format", "ndjson"])
        #expect(byId.status == 0, "\(byId.stderr)")
        #expect(try Self.ids(byId) == [ids[2], ids[4]])

        var snap = try s.mongo.snapshot()
        #expect(Self.vanishedEvents(snap, s.region).isEmpty)
        #expect(snap.instance(ids[5])?["Present"] as? Bool == true, "a selected poll is not a complete view")
        #expect(snap.polls.count == 4)
        #expect(snap.polls[0]["Selection"] == nil, "a complete poll records no selection")
        let tagSelection = try #require(snap.polls[1]["Selection"] as? [String: Any])
        let filters = try #require(tagSelection["Filters"] as? [[String: Any]])
        #expect(filters.count == 1)
        #expect(filters.first?["Name"] as? String == "tag:env")
        #expect(filters.first?["Values"] as? [String] == ["prod", "staging"])
        #expect((tagSelection["InstanceIds"] as? [Any])?.isEmpty == true)
        #expect((snap.polls[2]["Selection"] as? [String: Any])?["Filters"] as? [[String: Any]] != nil)
        #expect((snap.polls[3]["Selection"] as? [String: Any])?["InstanceIds"] as? [String] == [ids[2], ids[4]])

        // Only now, polled whole, is 5 gone.
        nextSecond()
        #expect(try s.poll().status == 0)
        snap = try s.mongo.snapshot()
        #expect(Self.vanishedEvents(snap, s.region).compactMap { $0["InstanceId"] as? String } == [ids[5]])
    }

    @Test func anInstanceIdFoundNowhereIsOneLineNotAFailure() async throws {
        let world = try await World.shared()
        let result = try world.poll(["--region", "eu-west-1", "--instance-ids", "i-0123456789abcdef0", "--format", "ndjson"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.isEmpty)
        #expect(result.failureLines == ["inventory-poller: not found in any region polled: i-0123456789abcdef0"], "\(result.stderr)")
    }

    /// An operator's lookup across regions: each id lives in one region and is unknown
    /// (`InvalidInstanceID.NotFound`) in the others, where the slice is asked again without
    /// it. Every slice completes, exit 0; the id found nowhere is the one line; the stored
    /// poll is complete and marks nothing vanished.
    @Test func idsUnknownInSomeRegionsAreNotThere() async throws {
        let s = try await StoringScenario(seed: 3)
        let (other, otherIds) = try s.world.freshRegion(seed: 2)
        let (empty, _) = try s.world.freshRegion(seed: 1)
        #expect(try s.poll().status == 0)
        try s.world.change(s.region, vanish: [s.ids[2]])

        nextSecond()
        let nowhere = "i-0fedcba9876543210"
        let asked = [s.ids[0], otherIds[1], nowhere, s.ids[1]]
        let result = try s.world.poll(["--region", "\(s.region),\(other),\(empty)", "--instance-ids", asked.joined(separator: ","),
                                       "--format", "ndjson"], environment: s.env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.ids(result) == [s.ids[0], s.ids[1], otherIds[1]])
        #expect(result.failureLines == ["inventory-poller: not found in any region polled: \(nowhere)"], "\(result.stderr)")

        let snap = try s.mongo.snapshot()
        let poll = try #require(snap.polls.last)
        #expect(poll["Complete"] as? Bool == true, "\(poll)")
        let slices = try #require(poll["Regions"] as? [[String: Any]])
        #expect(slices.count == 3 && slices.allSatisfy { $0["Status"] as? String == "ok" }, "\(slices)")
        #expect(Self.vanishedEvents(snap, s.region).isEmpty, "a selected poll marks nothing vanished")
    }

    /// `InvalidInstanceID.NotFound` messages, read totally: the ids, or nil.
    @Test func notFoundMessagesAreReadTotally() {
        #expect(InstanceLookup.unknownIds(inNotFound: "The instance ID 'i-0123456789abcdef0' does not exist") == ["i-0123456789abcdef0"])
        #expect(InstanceLookup.unknownIds(inNotFound: "The instance IDs 'i-0123456789abcdef0, i-1234abcd' do not exist")
                    == ["i-0123456789abcdef0", "i-1234abcd"])
        for bad in ["", "no quotes", "'unterminated", "The instance ID '' does not exist", "The instance IDs 'i-1, i-2' do not exist",
                    "The instance ID 'i-0123456789ABCDEF0' does not exist", "'i-1234abcd,,i-1234abcd'", "'sg-12345678'"] {
            #expect(InstanceLookup.unknownIds(inNotFound: bad) == nil, "\(bad)")
        }
    }

    @Test func aSpooledSelectedPollReplaysWithoutVanishingAnything() async throws {
        let s = try await StoringScenario(seed: 3)
        let ids = s.ids
        #expect(try s.poll().status == 0)
        try s.world.change(s.region, vanish: [ids[2]])
        s.mongo.down()
        nextSecond()
        let during = try s.poll(["--filter", "Name=tag:Name,Values=\(s.region)-00", "--format", "ndjson"])
        #expect(during.status == 5, "\(during.stderr)")
        #expect(try Self.ids(during) == [ids[0]])
        let spooled = try FileManager.default.contentsOfDirectory(atPath: s.spool.path).filter { $0.hasSuffix(".ndjson") }
        try #require(spooled.count == 1)
        let header = try String(contentsOf: s.spool.appendingPathComponent(spooled[0]), encoding: .utf8).split(separator: "\n")[0]
        #expect(header.contains("\"Selection\":{\"Filters\":[{\"Name\":\"tag:Name\",\"Values\":[\"\(s.region)-00\"]}]"))

        s.mongo.up()
        nextSecond()
        // Itself selected, so whatever vanishes could only come from the replay.
        let after = try s.poll(["--instance-ids", ids[1], "--format", "ndjson"])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.spool.path).filter { $0.hasSuffix(".ndjson") }.isEmpty)
        let snap = try s.mongo.snapshot()
        #expect(snap.polls.count == 3)
        #expect(Self.vanishedEvents(snap, s.region).isEmpty)
        #expect(snap.instance(ids[2])?["Present"] as? Bool == true)
        let replayed = try #require(snap.polls.first { $0["_id"] as? String == spooled[0].components(separatedBy: ".")[0] })
        let selection = try #require(replayed["Selection"] as? [String: Any])
        #expect((selection["Filters"] as? [[String: Any]])?.first?["Values"] as? [String] == ["\(s.region)-00"])
    }

    @Test func badSelectionsAreUsageErrorsBeforeAnyCall() async throws {
        let world = try await World.shared()
        for bad in [["--filter", "Name=tag:env"], ["--filter", "Values=a"], ["--filter", "name=x,Values=a"], ["--filter", "Name=a,Values=\"b"],
                    ["--filter", ""], ["--instance-ids", "i-xyz"], ["--instance-ids", "i-1,,i-2"]] {
            let result = try world.poll(["--region", "eu-west-1"] + bad)
            #expect(result.status == 2, "\(bad)")
            #expect(result.stderr.split(separator: "\n").count == 1, "one line: \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        // A value pasted with a line break: one line still, the break shown escaped.
        for bad in [["--filter", "Name=x\n,Values=a"], ["--region", "eu-west-1\nFAKE"]] {
            let result = try world.poll(bad)
            #expect(result.status == 2, "\(bad)")
            #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains(#"\n"#), "one line: \(result.stderr)")
        }
    }
}

/// The shorthand parser by itself: the CLI's forms, and a typed error for anything else.
@Suite struct FilterShorthandTests {
    typealias F = PollSelection.Filter

    @Test(arguments: [
        ("Name=tag:env,Values=prod,staging", F(name: "tag:env", values: ["prod", "staging"])),
        ("Name=instance-state-name,Values=running", F(name: "instance-state-name", values: ["running"])),
        ("Values=running,stopped,Name=instance-state-name", F(name: "instance-state-name", values: ["running", "stopped"])),
        ("Name=tag:Name,Values=[web-1,web-2]", F(name: "tag:Name", values: ["web-1", "web-2"])),
        ("Name=tag:note,Values=\"a,b\",'c d'", F(name: "tag:note", values: ["a,b", "c d"])),
        ("Name=tag:k,Values=a=b", F(name: "tag:k", values: ["a=b"])),
        ("Name=tag:k,Values=\"x\\\"y\"", F(name: "tag:k", values: ["x\"y"])),
        ("Name=tag:empty,Values=", F(name: "tag:empty", values: [""])),
        ("Name=tag-key,Values=*prod*", F(name: "tag-key", values: ["*prod*"])),
    ])
    func parses(_ text: String, _ expected: F) throws {
        #expect(try FilterShorthand.parse(text) == expected)
    }

    @Test(arguments: ["", "Name=x", "Values=a", "name=x,Values=a", "Name=a,Name=b,Values=c", "Name=a,Values=b,", "Name=a,Values=[b",
                      "Name=a,Values=\"b", "Name=a,Values=[]", "Name=,Values=a", "Name=a,b,Values=c", "x", "=", "Name=a,Values=b]",
                      "Name=a,Values=[b]c", "Name=a\u{1}b,Values=c", "Name=a,Values=x,k=v", "Name=a,Values=" + String(repeating: "v", count: 2000)])
    func refuses(_ text: String) {
        #expect(throws: FilterShorthand.Error.self) { try FilterShorthand.parse(text) }
    }

    @Test func anyBytesGiveAFilterOrATypedError() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("Name=Values,[]\"'\\tag:ab ".unicodeScalars)
        for _ in 0..<2000 {
            let text = String(String.UnicodeScalarView((0..<Int.random(in: 0...30, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
            _ = try? FilterShorthand.parse(text)
        }
    }

    @Test func instanceIds() throws {
        #expect(try InstanceIdList.parse(["i-0123456789abcdef0,i-01234567", "i-01234567"]) == ["i-0123456789abcdef0", "i-01234567"])
        for bad in ["", "i-", "i-0123456G", "i-0123456789ABCDEF0", "x-01234567", "i-012345678", "i-1,"] {
            #expect(throws: FilterShorthand.Error.self) { try InstanceIdList.parse([bad]) }
        }
        #expect(throws: FilterShorthand.Error.self) {
            try InstanceIdList.parse((0...1000).map { String(format: "i-%08x", $0) })
        }
    }

    /// EC2 refuses MaxResults together with InstanceId.N.
    @Test func aPollByIdsSendsNoPageSize() {
        let names = { (s: PollSelection) in EC2Client.parameters(pageSize: 1000, selection: s).map(\.0) }
        #expect(names(PollSelection()) == ["MaxResults"])
        #expect(names(PollSelection(filters: [F(name: "a", values: ["b"])])) == ["MaxResults", "Filter.1.Name", "Filter.1.Value.1"])
        #expect(names(PollSelection(instanceIds: ["i-01234567"])) == ["InstanceId.1"])
    }

    @Test func selectionSurvivesTheSpoolHeader() throws {
        let selection = PollSelection(filters: [F(name: "tag:env", values: ["prod", "a,b"])], instanceIds: ["i-01234567"])
        #expect(PollSelection(json: selection.json) == selection)
        #expect(PollSelection(json: PollSelection().json) == nil, "an empty selection is no selection")
        #expect(selection.queryParameters.map { "\($0.0)=\($0.1)" } ==
                ["Filter.1.Name=tag:env", "Filter.1.Value.1=prod", "Filter.1.Value.2=a,b", "InstanceId.1=i-01234567"])
        let line = #"{"Kind":"poll","PollId":"p","PolledAt":"2026-01-01T00:00:00Z","Account":"1","Slices":[],"Selection":{"Filters":[1]}}"#
        #expect(throws: Spool.Error.self) { try Spool.parseRecord(Array(line.utf8)) }
    }
}
