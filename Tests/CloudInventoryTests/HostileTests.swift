import Foundation
import Testing

/// A hostile peer (`Tests/Support/hostile_server.py`) answering STS, EC2 and IMDS in ways no
/// real AWS does: only a verified response of the operation asked is ever complete;
/// pagination always ends; nothing the server sends crashes the run or forges its log.
@Suite struct HostileTests {
    static let notAnswers = ["errors200", "html", "other_operation", "wrong_namespace", "empty", "truncated"]
    static let account = "123456789012"

    /// The run ended as a failed run should: exit 4, one final line, the summary.
    func expectSliceFailure(_ result: ProcessResult, _ comment: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 4, "\(comment) \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.finalLine != nil, "a final inventory-poller: line", sourceLocation: sourceLocation)
        #expect(summary(of: result)?["exitCode"] as? Int == 4, "the summary", sourceLocation: sourceLocation)
    }

    @Test(arguments: notAnswers, ["json", "text"])
    func aPageThatIsNotADescribeInstancesResponseIsASliceError(_ mode: String, _ format: String) throws {
        let server = try HostileServer(modes: ["DescribeInstances": mode])
        let result = try server.poll(["--region", "us-east-1", "--format", format, "--max-attempts", "1"])
        expectSliceFailure(result, mode)
        #expect(result.finalLine?.contains("1 of 1 slices failed") == true, "\(result.stderr)")
        if format == "json" {
            let slice = try #require(result.regions.first)
            #expect(slice["Status"] as? String == "error")
            #expect(slice["InstanceCount"] as? Int == 0)
            #expect(result.instanceIds.isEmpty)
            if mode == "errors200" {
                #expect(slice["ErrorCode"] as? String == "UnauthorizedOperation", "the error document's own code")
            } else {
                #expect((slice["Error"] as? String)?.contains("unreadable response") == true, "\(slice)")
            }
        }
    }

    /// The false-history case: a good poll stores the fleet, then every kind of non-answer
    /// is polled into the same database. Nothing vanishes; the polls are recorded incomplete.
    @Test func aNonAnswerAfterAGoodPollMarksNothingVanished() throws {
        let server = try HostileServer()
        let mongo = try TestMongo(.mock)
        let env = server.storingEnvironment(mongo, spool: Harness.temporaryDirectory())
        let good = try server.poll(["--region", "us-east-1", "--page-size", "5"], environment: env)
        #expect(good.status == 0, "\(good.stderr)")
        #expect(try mongo.snapshot().instances.count == 7)

        for mode in Self.notAnswers + ["deep_reply", "control_chars"] {
            try server.setModes(["DescribeInstances": mode])
            nextSecond()
            let result = try server.poll(["--region", "us-east-1", "--page-size", "5", "--max-attempts", "1"], environment: env)
            expectSliceFailure(result, mode)
            let snap = try mongo.snapshot()
            #expect(snap.instances.allSatisfy { $0["Present"] as? Bool == true }, "\(mode) marked instances vanished")
            #expect(!snap.events.contains { $0["Type"] as? String == "vanished" }, "\(mode) wrote vanished events")
            #expect(snap.polls.last?["Complete"] as? Bool == false, "\(mode)")
        }

        // A truthful answer without one instance still vanishes it: the check is not blanket.
        try server.set(["modes": ["DescribeInstances": "ok"], "fleet": 6])
        nextSecond()
        #expect(try server.poll(["--region", "us-east-1", "--page-size", "5"], environment: env).status == 0)
        let snap = try mongo.snapshot()
        #expect(snap.events.filter { $0["Type"] as? String == "vanished" }.count == 1)
    }

    @Test(arguments: notAnswers + ["no_regions", "no_enabled_regions"])
    func allRegionsWithoutAVerifiedRegionListIsAnError(_ mode: String) throws {
        let server = try HostileServer(modes: ["DescribeRegions": mode])
        let result = try server.poll(["--all-regions", "--region", "us-east-1", "--format", "json", "--max-attempts", "1"])
        expectSliceFailure(result, mode)
        #expect(result.regions.count == 1)
        #expect(result.regions.first?["Status"] as? String == "error")
        #expect(result.instanceIds.isEmpty)
    }

    @Test func allRegionsFromAGoodListPollsTheEnabledOnes() throws {
        let server = try HostileServer()
        let result = try server.poll(["--all-regions", "--region", "us-east-1", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.regions.compactMap { $0["Region"] as? String }.sorted() == ["eu-west-1", "us-east-1"])
    }

    @Test(arguments: ["errors200", "html", "other_operation", "wrong_namespace", "empty", "truncated", "deep_reply"])
    func aNonAnswerToGetCallerIdentityFailsTheRun(_ mode: String) throws {
        let server = try HostileServer(modes: ["GetCallerIdentity": mode])
        let result = try server.poll(["--region", "us-east-1", "--max-attempts", "1"])
        #expect(result.status == 4, "\(mode): \(result.stderr)")
        #expect(result.finalLine?.contains("sts:GetCallerIdentity") == true, "\(result.stderr)")
        #expect(summary(of: result) != nil)
        #expect(result.stdout.isEmpty)
    }

    @Test(arguments: ["html", "other_operation", "empty"])
    func aNonAnswerToAssumeRoleFailsThatAccount(_ mode: String) throws {
        let server = try HostileServer(modes: ["AssumeRole": mode])
        let result = try server.poll(["--region", "us-east-1", "--assume-role", "arn:aws:iam::222222222222:role/poller",
                                      "--format", "json", "--max-attempts", "1"])
        expectSliceFailure(result, mode)
        #expect(result.regions.first?["Account"] as? String == "222222222222")
        #expect(result.regions.first?["Status"] as? String == "error")
    }

    @Test(arguments: ["html", "errors200", "other_operation", "empty"])
    func checkFailsEC2OnANonAnswer(_ mode: String) throws {
        let server = try HostileServer(modes: ["DescribeInstances": mode])
        let result = try server.poll(["--check", "--region", "us-east-1", "--max-attempts", "1"])
        #expect(result.status == 4, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("[FAIL] ec2"), "\(result.stdout)")
        #expect(!result.stdout.contains("[ok]   ec2"))
    }

    @Test func checkPassesAgainstAGoodServer() throws {
        let server = try HostileServer()
        let result = try server.poll(["--check", "--region", "us-east-1"])
        #expect(result.stdout.contains("[ok]   ec2"), "\(result.stdout)\(result.stderr)")
    }

    /// Tokens A → B → A: the repeat ends the slice as an error after three pages, without a
    /// hang (the wait is bounded only to keep a regression from stalling the suite).
    @Test(arguments: ["json", "text"])
    func cyclingNextTokensEndTheSliceWithAnError(_ format: String) throws {
        let server = try HostileServer(modes: ["DescribeInstances": "cycle"])
        let result = try server.poll(["--region", "us-east-1", "--format", format], timeout: 120)
        expectSliceFailure(result)
        #expect(result.stderr.contains("NextToken"), "\(result.stderr)")
        #expect(try server.requests("DescribeInstances").count == 3)
    }

    @Test(arguments: ["json", "text", "ndjson"])
    func anInstanceListedTwiceIsPrintedAndCountedOnce(_ format: String) throws {
        let server = try HostileServer(modes: ["DescribeInstances": "duplicates"])
        let result = try server.poll(["--region", "us-east-1", "--format", format])
        #expect(result.status == 0, "\(result.stderr)")
        let ids: [String]
        switch format {
        case "json":
            ids = result.instanceIds
            #expect(result.regions.first?["InstanceCount"] as? Int == 5)
        case "ndjson":
            ids = result.lines.compactMap { (try? parseJSON($0) as? [String: Any])??["InstanceId"] as? String }
        default:
            ids = result.lines.dropFirst(2).map { String($0.split(separator: "\t")[3]) }
        }
        #expect(ids.count == 5, "\(result.stdout)")
        #expect(Set(ids).count == 5)
        #expect((summary(of: result)?["instances"] as? [String: Int])?["running"] == 5)
    }

    @Test func duplicatesAreStoredOnce() throws {
        let server = try HostileServer(modes: ["DescribeInstances": "duplicates"])
        let mongo = try TestMongo(.mock)
        let result = try server.poll(["--region", "us-east-1"], environment: server.storingEnvironment(mongo, spool: Harness.temporaryDirectory()))
        #expect(result.status == 0, "\(result.stderr)")
        let snap = try mongo.snapshot()
        #expect(snap.instances.count == 5)
        #expect(snap.events.count == 5)
        #expect(snap.polls.last?["InstanceCount"] as? Int == 5)
    }

    /// AWS's clock an hour off the host's: the first request is refused, the offset is
    /// learned from `Date`, and the poll goes through with one warning naming the skew.
    @Test(arguments: [("RequestTimeTooSkewed", 3600), ("RequestExpired", 3600), ("SignatureDoesNotMatch", -3600),
                      ("InvalidSignatureException", 7200), ("AuthFailure", -5400)])
    func aSkewedHostClockIsCorrectedFromTheDateHeader(_ code: String, _ skew: Int) throws {
        let server = try HostileServer(skew: skew, skewCode: code)
        let result = try server.poll(["--region", "us-east-1,eu-west-1", "--format", "json", "--max-attempts", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.instanceIds.count == 14)
        let warnings = result.stderr.split(separator: "\n").filter { $0.contains("host clock is off") }
        #expect(warnings.count == 1, "\(result.stderr)")
        let measured = (-2...2).map { "\(skew + $0 >= 0 ? "+" : "")\(skew + $0) s" }
        #expect(measured.contains { warnings.first?.contains($0) == true }, "\(warnings)")
        #expect(try server.requests().filter { $0["mode"] as? String == "skewed" }.count == 1, "one refusal, then the corrected clock")
    }

    @Test func aSignatureErrorWithTheClockRightIsNotRetried() throws {
        // The server's clock agrees with the host's, yet it refuses: not skew, so no retry.
        let server = try HostileServer(modes: ["DescribeInstances": "signature_mismatch"])
        let result = try server.poll(["--region", "us-east-1", "--format", "json", "--max-attempts", "1"])
        expectSliceFailure(result)
        #expect(result.regions.first?["ErrorCode"] as? String == "SignatureDoesNotMatch")
        #expect(!result.stderr.contains("host clock is off"))
        #expect(try server.requests("DescribeInstances").count == 1)
    }

    /// 10,000 levels of nesting in an error body, an STS reply and an EC2 page: a clear
    /// error, never a stack overflow.
    @Test(arguments: [("DescribeInstances", "deep_error"), ("DescribeInstances", "deep_reply"), ("GetCallerIdentity", "deep_error"),
                      ("GetCallerIdentity", "deep_reply"), ("DescribeRegions", "deep_reply"), ("AssumeRole", "deep_reply"),
                      ("AssumeRole", "deep_error")])
    func deeplyNestedXMLIsAnErrorNotACrash(_ action: String, _ mode: String) throws {
        let server = try HostileServer(modes: [action: mode])
        var arguments = ["--region", "us-east-1", "--max-attempts", "1"]
        if action == "DescribeRegions" { arguments.append("--all-regions") }
        if action == "AssumeRole" { arguments += ["--assume-role", "arn:aws:iam::222222222222:role/poller"] }
        let result = try server.poll(arguments)
        #expect([3, 4].contains(result.status), "\(action)/\(mode): exit \(result.status) \(result.stderr)")
        #expect(result.finalLine != nil, "\(result.stderr)")
        #expect(summary(of: result) != nil)
        if mode == "deep_error" {
            #expect(result.stderr.contains("UnauthorizedOperation"), "the code of the error document still comes through")
        }
    }

    /// 100 MB streamed as a page (a document that never closes). HTTPClient cuts it
    /// off at the 64 MiB cap, and the slice fails cleanly.
    /// The cap is the operator's to set (`--max-response-mib`); 64 MiB by default.
    @Test(arguments: [nil, 2])
    func aHugePageIsASliceError(_ mib: Int?) throws {
        let server = try HostileServer(modes: ["DescribeInstances": "huge"])
        let limit = mib.map { ["--max-response-mib", String($0)] } ?? []
        let result = try server.poll(["--region", "us-east-1", "--format", "json", "--max-attempts", "1"] + limit)
        expectSliceFailure(result)
        let error = result.regions.first?["Error"] as? String ?? ""
        #expect(error.contains("response body larger than \(mib ?? 64) MiB"), "\(error)")
    }

    /// A 100 MB credentials document, or a portal page, from IMDS: credentials unavailable.
    @Test(arguments: ["huge", "html"])
    func aHostileIMDSIsACredentialError(_ mode: String) throws {
        let server = try HostileServer(modes: ["imds": mode])
        let result = try server.poll(["--region", "us-east-1"], environment: server.environment(imds: true))
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.finalLine?.contains("credentials unavailable") == true, "\(result.stderr)")
    }

    /// An error message carrying ANSI escapes, CR/LF and a forged final line and summary.
    /// Nothing raw reaches stderr: no ESC byte, no forged line; the log handler escapes
    /// control characters.
    @Test func controlCharactersInAnErrorMessageForgeNoLogLine() throws {
        let server = try HostileServer(modes: ["DescribeInstances": "control_chars"])
        let result = try server.poll(["--region", "us-east-1", "--format", "json", "--max-attempts", "1"])
        expectSliceFailure(result)
        #expect(!result.stderr.utf8.contains(0x1B), "a raw ESC reached stderr")
        #expect(!result.stderr.utf8.contains(0x0D), "a raw CR reached stderr")
        // Every line is "<timestamp> <text>": what matters is how the text after the stamp begins.
        let texts = result.stderr.split(separator: "\n").map { $0.drop { $0 != " " }.dropFirst() }
        #expect(!texts.contains { $0.hasPrefix("inventory-poller: all slices ok") }, "a forged final line")
        #expect(texts.filter { $0.hasPrefix("{\"event\":\"summary\"") }.count == 1, "one summary, not a forged one")
        #expect(result.regions.first?["ErrorCode"] as? String == "UnauthorizedOperation")
    }

    @Test func aSlowButCompleteAnswerIsStillAnAnswer() throws {
        let server = try HostileServer(modes: ["DescribeInstances": "slow", "GetCallerIdentity": "slow"])
        let result = try server.poll(["--region", "us-east-1", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.instanceIds.count == 7)
    }

    @Test func aGoodServerGivesAGoodPoll() throws {
        let server = try HostileServer()
        let result = try server.poll(["--region", "us-east-1", "--format", "json", "--page-size", "5"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.instanceIds.count == 7)
        #expect(result.regions.first?["Account"] as? String == Self.account)
        #expect(try server.requests("DescribeInstances").count == 2)
    }
}

