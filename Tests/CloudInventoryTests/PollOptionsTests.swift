import Foundation
import Testing

/// The poll's operator-facing options: `--no-store`, csv formula cells, the `--output` hint, the
/// root's help, `--check --format json`, output in plan order, and completion of `--profile`
/// and `--region`.
@Suite struct PollOptionsTests {
    /// With CM_DB_URI and CM_DB_NAME set, `--no-store` prints the poll and touches neither the
    /// database nor the spool.
    @Test func noStorePrintsAndStoresNothing() async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        let spool = Harness.temporaryDirectory()
        let (region, ids) = try world.freshRegion(seed: 2)
        let r = try world.poll(["--region", region, "--format", "ndjson", "--no-store"], environment: world.storingEnvironment(mongo, spool: spool))
        #expect(r.status == 0, "\(r.stderr)")
        // A region of the pool may be shared with another suite's instances: the test's own are all there.
        #expect(ids.allSatisfy { id in r.lines.contains { $0.contains(id) } }, "\(r.stdout)")
        #expect(!r.stderr.contains("not set"), "no warning about the settings: \(r.stderr)")
        let snap = try mongo.snapshot()
        #expect(snap.polls.isEmpty && snap.instances.isEmpty && snap.events.isEmpty)
        #expect((try FileManager.default.contentsOfDirectory(atPath: spool.path)).isEmpty)
    }

    /// A `Name` tag a spreadsheet would run gets a leading `'` in csv; `--csv-raw` keeps it.
    @Test func pollCSVNeutralisesFormulaCells() async throws {
        let world = try await World.shared()
        let (region, ids) = try world.freshRegion(seed: 1)
        try world.change(region, tag: [ids[0]: ["Name": "=cmd|' /C calc'!A0"]])
        let csv = parseCSV(try world.poll(["--region", region, "--format", "csv"]).stdout)
        #expect(csv.first { $0.contains(ids[0]) }?.last == "'=cmd|' /C calc'!A0", "\(csv)")
        let raw = parseCSV(try world.poll(["--region", region, "--format", "csv", "--csv-raw"]).stdout)
        #expect(raw.first { $0.contains(ids[0]) }?.last == "=cmd|' /C calc'!A0", "\(raw)")
        let text = try world.poll(["--region", region, "--format", "text"])
        #expect(text.stdout.contains("\t=cmd|' /C calc'!A0"), "text is not csv: \(text.stdout)")
    }

    @Test func outputIsAUsageErrorThatNamesFormat() throws {
        for args in [["--output", "json"], ["--output=json"], ["-o", "json"], ["-ojson"], ["changes", "--since", "1h", "-o", "json"]] {
            let r = try runProcess(Harness.pollerBinary, args, environment: Harness.baseEnvironment())
            #expect(r.status == 2 && r.stdout.isEmpty, "\(args): \(r.status) \(r.stderr)")
            #expect(r.failureLines.count == 1 && r.failureLines[0].contains("--format"), "\(args): \(r.stderr)")
        }
    }

    /// The top-level help shows the poll's options (the poll runs with no subcommand).
    @Test func rootHelpShowsThePollsOptions() throws {
        for args in [["--help"], ["-h"], ["help"]] {
            let r = try runProcess(Harness.pollerBinary, args, environment: Harness.baseEnvironment())
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(r.stdout.contains("SUBCOMMANDS") && r.stdout.contains("POLL OPTIONS"), "\(args)")
            for option in ["--region", "--format", "--profile", "--check", "--no-store", "--csv-raw"] {
                #expect(r.stdout.contains(option), "\(args): \(option)")
            }
        }
    }

    /// `--check --format json`: one JSON document, each check with name, status and detail.
    @Test func checkAsJSON() async throws {
        let world = try await World.shared()
        let r = try world.poll(["--check", "--format", "json", "--region", "eu-west-1"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try parseJSON(r.stdout) as? [String: Any], "\(r.stdout)")
        #expect(doc["ok"] as? Bool == true)
        let checks = try #require(doc["checks"] as? [[String: Any]])
        #expect(checks.map { $0["name"] as? String ?? "" }.starts(with: ["profile", "credentials", "region"]), "\(checks)")
        #expect(checks.allSatisfy { ["ok", "fail", "skip"].contains($0["status"] as? String ?? "") && $0["detail"] is String })
        #expect(checks.contains { $0["name"] as? String == "database" && $0["status"] as? String == "skip" })
    }

    /// Slices print in the order asked: the first region is slowed down, yet comes first.
    @Test func outputFollowsThePlanNotCompletion() async throws {
        let world = try await World.shared()
        let (slow, slowIds) = try world.freshRegion(seed: 3)
        let (fast, fastIds) = try world.freshRegion(seed: 3)
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "region": slow, "times": 1, "fault": "delay", "seconds": 3]])
        for format in ["ndjson", "text"] {
            let r = try world.poll(["--region", "\(slow),\(fast)", "--format", format, "--concurrency", "2", "--page-size", "5"],
                                   environment: world.pollerEnvironment(endpoint: proxy.url))
            #expect(r.status == 0, "\(r.stderr)")
            let regions = r.lines.compactMap { line in [slow, fast].first { line.contains("\"Region\":\"\($0)\"") || line.contains("\t\($0)\t") } }
            // Every line of the slow region first, then the fast one's (a region of the pool may hold
            // another suite's instances too, so the counts are at least the test's own).
            let slowCount = regions.prefix { $0 == slow }.count
            #expect(slowCount >= slowIds.count && regions.dropFirst(slowCount).allSatisfy { $0 == fast }
                    && regions.count - slowCount >= fastIds.count, "\(format): \(regions)")
        }
    }

    /// What bash offers after `--profile` and `--region`, as the generated script asks the binary.
    func complete(_ words: [String], environment extra: [String: String] = [:]) throws -> String {
        try CompletionTests.bashCompletes(["inventory-poller"] + words, environment: extra)
    }

    @Test func profileAndRegionComplete() throws {
        let files = try AWSFiles(config: "[default]\nregion = eu-west-1\n[profile prod]\nregion = eu-west-1\n[profile prod-eu]\n[sso-session corp]\n",
                                 credentials: "[base]\naws_access_key_id = x\n")
        let all = try complete(["--profile", ""], environment: files.environment())
        #expect(Set(all.split(separator: " ")) == ["base", "default", "prod", "prod-eu"], "\(all)")
        #expect(Set(try complete(["--profile", "pr"], environment: files.environment()).split(separator: " ")) == ["prod", "prod-eu"])
        let regions = try complete(["--region", "eu-we"])
        #expect(Set(regions.split(separator: " ")) == ["eu-west-1", "eu-west-2", "eu-west-3"], "\(regions)")
    }
}
