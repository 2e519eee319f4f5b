import CloudInventory
import Foundation
import Testing

/// `inventory-poller instances | changes | history | polls` over a history the test made
/// itself (`HistoryScenario`): every expected answer comes from the scenario's own record.
@Suite(.serialized) struct HistoryTests {
    @Test func theHistorySubcommandsAnswerFromTheStoredHistory() async throws {
        var s = try await HistoryScenario()
        try s.run()
        try instancesNowAndAsOf(s)
        try instanceFilters(s)
        try changesAndHistory(s)
        try polls(s)
        try formats(s)
        try exitCodes(s)
    }

    /// `{id: ExpectedInstance}` from `instances` output.
    func fleet(_ docs: [[String: Any]]) -> [String: ExpectedInstance] {
        var out: [String: ExpectedInstance] = [:]
        for doc in docs {
            let tags = (doc["Tags"] as? [[String: String]] ?? []).reduce(into: [String: String]()) { $0[$1["Key"]!] = $1["Value"]! }
            out[doc["InstanceId"] as! String] = ExpectedInstance(
                region: doc["Region"] as? String ?? "", state: (doc["State"] as? [String: Any])?["Name"] as? String ?? "",
                type: doc["InstanceType"] as? String ?? "", tags: tags, present: doc["Present"] as? Bool ?? false)
        }
        return out
    }

    func instancesNowAndAsOf(_ s: HistoryScenario) throws {
        let expected = s.fleets.last!
        #expect(fleet(try s.documents(["instances"])) == expected.filter { $0.value.present })
        #expect(fleet(try s.documents(["instances", "--all"])) == expected)
        // Sorted by account, region, instance id.
        let keys = try s.documents(["instances", "--all"]).map { "\($0["Account"]!)|\($0["Region"]!)|\($0["InstanceId"]!)" }
        #expect(keys == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        for (i, time) in s.between.enumerated() {
            let then = s.fleets[i].filter { $0.value.present }
            let rebuilt = fleet(try s.documents(["instances", "--as-of", iso(time)]))
            #expect(rebuilt == then, "as of \(iso(time)), after poll \(i + 1)")
        }
        // Before the first poll: nothing.
        #expect(try s.documents(["instances", "--as-of", iso(s.windows[0].lowerBound.addingTimeInterval(-60))]).isEmpty)
        // --as-of with a filter applies it to the fleet as it stood then.
        let stoppedThen = fleet(try s.documents(["instances", "--as-of", iso(s.between[1]), "--state", "stopped"]))
        #expect(Set(stoppedThen.keys) == [s.id("b")])
        let vanishedThen = fleet(try s.documents(["instances", "--as-of", iso(s.between[3]), "--vanished"]))
        #expect(Set(vanishedThen.keys) == [s.id("e")])
    }

    func instanceFilters(_ s: HistoryScenario) throws {
        let now = s.fleets.last!
        func ids(_ args: [String]) throws -> Set<String> { Set(try s.documents(["instances"] + args).map { $0["InstanceId"] as! String }) }
        func expect(_ keep: (ExpectedInstance) -> Bool) -> Set<String> { Set(now.filter { $0.value.present && keep($0.value) }.keys) }
        #expect(try ids(["--state", "stopped"]) == expect { $0.state == "stopped" })
        #expect(try ids(["--state", "running", "--state", "terminated"]) == expect { ["running", "terminated"].contains($0.state) })
        #expect(try ids(["--tag", "env=staging"]) == [s.id("a")])
        #expect(try ids(["--tag", "env=prod"]).isEmpty)
        #expect(try ids(["--tag", "env"]) == [s.id("a")])
        #expect(try ids(["--tag", "env", "--tag", "note"]).isEmpty, "every tag must match")
        #expect(try ids(["--region", s.r2]) == expect { $0.region == s.r2 })
        #expect(try ids(["--account", s.world.account]) == expect { _ in true })
        #expect(try ids(["--account", "000000000000"]).isEmpty)
        #expect(!(try s.ask(["instances", "--account", "000000000000"]).stderr.contains("holds no polls")), "this database holds polls")
        #expect(try ids(["--instance-id", s.id("c")]) == [s.id("c")])
        #expect(try ids(["--vanished"]) == [s.id("e")])
        #expect(try ids(["--all", "--region", s.r2]) == [s.id("e"), s.id("f")])
    }

    func changesAndHistory(_ s: HistoryScenario) throws {
        let since = iso(s.windows[0].lowerBound.addingTimeInterval(-1))
        func poll(of event: [String: Any]) -> Int? {
            let t = ISO8601DateFormatter().date(from: event["Time"] as! String)!
            return s.windows.firstIndex { $0.contains(t) }.map { $0 + 1 }
        }
        // State changes: exactly the ones the scenario made, in time order.
        let states = try s.documents(["changes", "--since", since, "--type", "state_changed"])
        let seen = states.map { "\(poll(of: $0) ?? 0) \($0["InstanceId"]!) \($0["From"]!)>\($0["To"]!)" }
        #expect(Set(seen) == ["2 \(s.id("b")) running>stopped", "3 \(s.id("b")) stopped>running",
                              "3 \(s.id("d")) running>terminated", "4 \(s.id("a")) running>stopped"], "\(seen)")
        let times = states.map { $0["Time"] as! String }
        #expect(times == times.sorted())
        // Appeared: six at poll 1, one at poll 2; vanished: e, at poll 4 (replayed from the spool).
        let appeared = try s.documents(["changes", "--since", since, "--type", "appeared"])
        #expect(appeared.filter { poll(of: $0) == 1 }.count == 6)
        #expect(appeared.filter { poll(of: $0) == 2 }.count == 1)
        let vanished = try s.documents(["changes", "--since", since, "--type", "vanished", "--type", "reappeared"])
        #expect(vanished.map { "\(poll(of: $0) ?? 0) \($0["InstanceId"]!) \($0["Type"]!)" } == ["4 \(s.id("e")) vanished"])
        // Field changes: tags of a at polls 2 and 3, the type of c at poll 2.
        let changed = try s.documents(["changes", "--since", since, "--type", "changed"])
        let fields = changed.flatMap { event in (event["Changes"] as! [[String: Any]]).map { (event, $0) } }
        let tagChanges = fields.filter { $0.1["Field"] as? String == "Tags" }.map { "\(poll(of: $0.0) ?? 0) \($0.0["InstanceId"]!)" }
        #expect(Set(tagChanges) == ["2 \(s.id("a"))", "3 \(s.id("a"))", "2 \(s.id("f"))"], "\(tagChanges)")
        let typeChanges = fields.filter { $0.1["Field"] as? String == "InstanceType" }
        #expect(typeChanges.map { "\(poll(of: $0.0) ?? 0) \($0.0["InstanceId"]!) \($0.1["New"]!)" } == ["2 \(s.id("c")) \(s.retyped)"])
        // The filters, and a window: between the first and second poll only poll 2's events.
        #expect(Set(try s.documents(["changes", "--since", since, "--region", s.r2]).map { $0["InstanceId"] as! String }) == [s.id("e"), s.id("f")])
        #expect(try s.documents(["changes", "--since", since, "--account", "000000000000"]).isEmpty)
        #expect(Set(try s.documents(["changes", "--since", since, "--instance-id", s.id("c")]).map { $0["InstanceId"] as! String }) == [s.id("c")])
        let window = try s.documents(["changes", "--since", iso(s.between[0]), "--until", iso(s.between[1])])
        #expect(!window.isEmpty && window.allSatisfy { poll(of: $0) == 2 })
        #expect(try s.documents(["changes", "--since", "1h"]).count == (try s.documents(["changes", "--since", since])).count)

        // history c: appeared, then its type changed; the text ends with its current state.
        let c = try s.documents(["history", s.id("c")])
        #expect(c.first?["Type"] as? String == "appeared")
        #expect(c.contains { ($0["Changes"] as? [[String: Any]])?.contains { $0["Field"] as? String == "InstanceType" } == true })
        let text = try s.ask(["history", s.id("c"), "--format", "text"])
        #expect(text.status == 0, "\(text.stderr)")
        let last = text.lines.last ?? ""
        #expect(last.contains(s.id("c")) && last.contains(s.retyped) && last.contains("running"), "\(text.stdout)")
        #expect(text.lines.contains { $0.contains("InstanceType") && $0.contains(s.retyped) })
        // history e: appeared then vanished.
        #expect(try s.documents(["history", s.id("e")]).map { $0["Type"] as! String } == ["appeared", "vanished"])
    }

    func polls(_ s: HistoryScenario) throws {
        let all = try s.documents(["polls"])
        #expect(all.count == 5, "polls 1, 2, 3, 5 and the replayed 4: \(all.count)")
        let started = all.map { $0["StartedAt"] as! String }
        #expect(started == started.sorted(by: >), "newest first")
        #expect(all.filter { $0["Spooled"] as? Bool == true }.count == 1)
        let failed = try s.documents(["polls", "--failed"])
        #expect(failed.count == 1)
        let text = try s.ask(["polls", "--failed", "--format", "text"])
        #expect(text.lines.count == 2 && text.lines[1].contains("\(s.r2):RequestLimitExceeded"), "\(text.stdout)")
        #expect(try s.documents(["polls", "--last", "2"]).map { $0["_id"] as! String } == all.prefix(2).map { $0["_id"] as! String })
    }

    func formats(_ s: HistoryScenario) throws {
        let ndjson = try s.ask(["instances", "--all", "--format", "ndjson"])
        let json = try s.ask(["instances", "--all", "--format", "json"])
        let array = try parseJSON(json.stdout) as! [[String: Any]]
        #expect(array.count == ndjson.lines.count)
        #expect(array.allSatisfy { ($0["_id"] as? String)?.isEmpty == false && ($0["FirstSeen"] as? String)?.hasSuffix("Z") == true })
        let csv = parseCSV(try s.ask(["instances", "--all", "--format", "csv"]).stdout)
        #expect(csv.first == ["account", "region", "id", "state", "type", "az", "private_ip", "public_ip", "name",
                              "first_seen", "last_seen", "vanished_at", "tags"])
        #expect(csv.count == array.count + 1)
        let f = try #require(csv.first { $0.count > 2 && $0[2] == s.id("f") })
        #expect(f.last?.split(separator: ";").contains("note=a,b \"c\"") == true, "\(f)")
        let text = try s.ask(["instances", "--all", "--format", "text"])
        #expect(text.lines.first == "account\tregion\tid\tstate\ttype\taz\tprivate_ip\tpublic_ip\tname\tfirst_seen\tlast_seen\tvanished_at\ttags")
        #expect(text.lines.count == array.count + 1 && text.lines.allSatisfy { $0.split(separator: "\t", omittingEmptySubsequences: false).count == 13 })
        for sub in [["changes", "--since", "1d"], ["history", s.id("a")], ["polls"]] {
            for format in ["text", "json", "ndjson", "csv"] {
                let result = try s.ask(sub + ["--format", format])
                #expect(result.status == 0 && !result.stdout.isEmpty, "\(sub) \(format): \(result.stderr)")
                if format == "json" { #expect((try? parseJSON(result.stdout)) is [Any]) }
            }
        }
        // The poll itself: csv with a header, and text with its column header and account, region.
        let pollCSV = parseCSV(try s.world.poll(["--region", s.r1, "--format", "csv"]).stdout)
        #expect(pollCSV.first == ["polled_at", "account", "region", "id", "state", "type", "az", "private_ip", "public_ip", "name"])
        #expect(pollCSV.dropFirst().allSatisfy { $0[1] == s.world.account && $0[2] == s.r1 })
        #expect(pollCSV.count == 1 + s.fleets.last!.values.filter { $0.region == s.r1 }.count)
    }

    func exitCodes(_ s: HistoryScenario) throws {
        var bare = s.env
        bare["CM_DB_URI"] = nil
        bare["CM_DB_NAME"] = nil
        for args in [["instances"], ["changes", "--since", "1d"], ["history", "i-1"], ["polls"]] {
            let r = try s.ask(args, environment: bare)
            #expect(r.status == 2 && r.failureLines.count == 1 && r.stdout.isEmpty, "\(args): \(r.stderr)")
        }
        for bad in ["yesterday", "10x", "-5m", "0h", "2026-13-01T00:00:00Z"] {
            let r = try s.ask(["changes", "--since", bad])
            #expect(r.status == 2 && r.failureLines.count == 1 && r.stderr.contains("--since"), "\(bad): \(r.stderr)")
        }
        #expect(try s.ask(["instances", "--tag", "=x"]).status == 2)
        #expect(try s.ask(["polls", "--last", "0"]).status == 2)
        let help = try s.ask(["help", "changes"])
        #expect(help.status == 0 && help.stdout.contains("inventory-poller changes --since 24h"))
        s.mongo.down()
        defer { s.mongo.up() }
        for args in [["instances"], ["changes", "--since", "1d"], ["history", "i-0123456789abcdef0"], ["polls"]] {
            let r = try s.ask(args)
            #expect(r.stdout.isEmpty, "\(args): nothing before the database answers: \(r.stdout)")
            #expect(r.status == 5 && r.failureLines.count == 1, "\(args): \(r.status) \(r.stderr)")
        }
    }
}
