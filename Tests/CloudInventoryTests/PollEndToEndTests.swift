import Foundation
import Testing

/// The `inventory-poller` binary against the local AWS world, as cron would run it.
@Suite struct PollEndToEndTests {
    static let allRegions = ["us-east-1", "eu-west-1", "ap-southeast-2"]

    /// Both sides read the same moto state, so every instance must be equal as JSON, with the
    /// same types (the comparison runs in Python, where it can tell `true` from `1`).
    @Test func jsonEqualsBotocoresViewFieldForField() async throws {
        let world = try await World.shared()
        let result = try world.poll(["--region", Self.allRegions.joined(separator: ","), "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try parseJSON(result.stdout) as? [String: Any])
        #expect(document["Account"] as? String == world.account)
        #expect((document["Arn"] as? String)?.contains("assumed-role/inventory-poller/") == true)
        let polledAt = try #require(document["PolledAt"] as? String)
        #expect(polledAt.hasSuffix("Z") && polledAt.count == 20)
        let regions = try #require(document["Regions"] as? [[String: Any]])
        #expect(regions.map { $0["Region"] as? String } == Self.allRegions)
        #expect(regions.allSatisfy { $0["Status"] as? String == "ok" })
        for region in regions {
            #expect(region["InstanceCount"] as? Int == world.counts[region["Region"] as! String])
        }
        // More than one page: us-east-1 holds more reservations than MaxResults=1000.
        #expect(world.counts["us-east-1"]! > 1000)

        let oracle = try runPython("oracle.py", ["compare", world.stateFile] + Self.allRegions, stdin: Data(result.stdout.utf8))
        try #require(oracle.status == 0, "\(oracle.stderr)")
        let comparison = try #require(try parseJSON(oracle.stdout) as? [String: Any])
        let mine = try #require(document["Instances"] as? [[String: Any]])
        #expect(comparison["compared"] as? Int == mine.count)
        #expect(comparison["botocore"] as? Int == mine.count)
        #expect(comparison["difference_count"] as? Int == 0, "\(comparison["differences"] ?? [])")

        // The hard cases are there and came through intact.
        let special = mine.first { ($0["Tags"] as? [[String: String]])?.contains { $0["Key"] == "xml<special>" } == true }
        let tags = try #require(special?["Tags"] as? [[String: String]])
        #expect(tags.contains { $0["Key"] == "Name" && $0["Value"] == "ünïcødé-東京-🚀" })
        #expect(tags.contains { $0["Key"] == "query-chars" && $0["Value"] == "a&b=c+d/e?f" })
        #expect(tags.contains { $0["Key"] == "empty" && $0["Value"] == "" })
        #expect(mine.contains { ($0["Tags"] as? [Any])?.count == 50 })
        let states = Set(mine.compactMap { ($0["State"] as? [String: Any])?["Name"] as? String })
        #expect(states.isSuperset(of: ["running", "stopped", "terminated"]))
        let running = try #require(mine.first { ($0["State"] as? [String: Any])?["Name"] as? String == "running" })
        #expect((running["State"] as? [String: Any])?["Code"] as? Int == 16)
        #expect(((running["BlockDeviceMappings"] as? [[String: Any]])?.first?["Ebs"] as? [String: Any])?["VolumeId"] is String)
        #expect(((running["NetworkInterfaces"] as? [[String: Any]])?.first?["Groups"] as? [Any])?.isEmpty == false)
        #expect(running["EbsOptimized"] is Bool)
    }

    @Test func textIsAHeaderThenOneTimestampedLinePerInstance() async throws {
        let world = try await World.shared()
        let result = try world.poll(["--region", "eu-west-1"])
        #expect(result.status == 0)
        let lines = result.lines
        #expect(lines.count == 2 + world.counts["eu-west-1"]!)
        let stamp = String(lines[0].prefix { $0 != "\t" })
        #expect(stamp.count == 20 && stamp.hasSuffix("Z"))
        #expect(lines.allSatisfy { $0.hasPrefix(stamp + "\t") })
        #expect(lines[0].contains("account=\(world.account)"))
        #expect(lines[1] == stamp + "\taccount\tregion\tid\tstate\ttype\taz\tprivate_ip\tpublic_ip\tname")
        let fields = lines[2].split(separator: "\t", omittingEmptySubsequences: false)
        #expect(fields.count == 10)  // timestamp, account, region, id, state, type, AZ, private IP, public IP, Name
        #expect(fields[1] == world.account && fields[2] == "eu-west-1")
        #expect(fields[3].hasPrefix("i-"))
        #expect(fields[6].hasPrefix("eu-west-1"))
        #expect(lines.contains { $0.hasSuffix("\tünïcødé-東京-🚀") })
        // Without CM_DB_URI/CM_DB_NAME: one warning on stderr, and the poll still succeeds.
        #expect(result.stderr.components(separatedBy: "CM_DB_URI and CM_DB_NAME are not set").count == 2)
    }

    @Test func ndjsonIsOneStampedDocumentPerLine() async throws {
        let world = try await World.shared()
        let result = try world.poll(["--region", "ap-southeast-2", "--format", "ndjson"])
        #expect(result.status == 0)
        #expect(result.lines.count == world.counts["ap-southeast-2"]!)
        for line in result.lines {
            let object = try #require(try parseJSON(line) as? [String: Any])
            #expect(object["Account"] as? String == world.account)
            #expect(object["PolledAt"] is String)
            #expect(object["Region"] as? String == "ap-southeast-2")
        }
    }

    @Test func regionComesFromIMDSWhenNothingElseSaysSo() async throws {
        let world = try await World.shared()
        let result = try world.poll(["--format", "ndjson"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.count == world.counts["us-east-1"]!)
    }

    @Test func aFailingRegionIsExitFourWithTheOthersPrinted() async throws {
        let world = try await World.shared()
        // moto rejects a region it does not know; eu-west-1 must still come through.
        let result = try world.poll(["--region", "eu-west-1,xx-fake-1", "--format", "json"])
        #expect(result.status == 4)
        let document = try #require(try parseJSON(result.stdout) as? [String: Any])
        let regions = try #require(document["Regions"] as? [[String: Any]])
        #expect(regions.first { $0["Region"] as? String == "eu-west-1" }?["Status"] as? String == "ok")
        #expect(regions.first { $0["Region"] as? String == "xx-fake-1" }?["Status"] as? String == "error")
        #expect((document["Instances"] as? [Any])?.count == world.counts["eu-west-1"])
        #expect(result.stderr.contains("xx-fake-1"))
    }

    @Test func aWrongSignatureIsRejectedByMoto() async throws {
        let world = try await World.shared()
        var env = world.pollerEnvironment()
        env["AWS_ACCESS_KEY_ID"] = world.roleCredentials["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
        env["AWS_SESSION_TOKEN"] = world.roleCredentials["Token"]
        let result = try world.poll(["--region", "eu-west-1"], environment: env)
        #expect(result.status == 4)
        #expect(result.stderr.contains("SignatureDoesNotMatch"))
        #expect(result.stdout.isEmpty)
    }

    @Test func environmentCredentialsWinAndIAMIsEnforced() async throws {
        let world = try await World.shared()
        var env = world.pollerEnvironment(imds: "http://127.0.0.1:9")  // IMDS must not be needed
        env["AWS_ACCESS_KEY_ID"] = world.limitedCredentials["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = world.limitedCredentials["SecretAccessKey"]
        let result = try world.poll(["--region", "eu-west-1", "--format", "json"], environment: env)
        #expect(result.status == 4)
        // Auth errors fail fast with AWS's own words: no retries.
        #expect(result.stderr.contains("UnauthorizedOperation") || result.stderr.contains("AccessDenied"))
        #expect(!result.stderr.contains("retrying"))
    }

    @Test func secretsNeverReachTheLogs() async throws {
        let world = try await World.shared()
        let result = try world.poll(["--region", "eu-west-1", "--log-level", "trace"])
        #expect(result.status == 0)
        let everything = result.stdout + result.stderr
        #expect(result.stderr.contains("trace"))
        #expect(!everything.contains(world.roleCredentials["SecretAccessKey"]!))
        #expect(!everything.contains(world.roleCredentials["Token"]!))
        #expect(!everything.contains("Signature="))
        #expect(!everything.contains("X-aws-ec2-metadata-token:"))
    }

    @Test(arguments: [
        (["--format", "xml"], "--format"),
        (["--region", "us-east"], "not an AWS region"),
        (["--log-level", "loud"], "--log-level"),
        (["--no-such-flag"], "no-such-flag"),
    ])
    func badInputIsExitTwoWithOneLine(_ arguments: [String], _ mention: String) async throws {
        let world = try await World.shared()
        let result = try world.poll(arguments)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(mention))
    }

    @Test func noRegionAnywhereIsExitTwo() async throws {
        let world = try await World.shared()
        var env = world.pollerEnvironment()
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env["AWS_ACCESS_KEY_ID"] = world.roleCredentials["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = world.roleCredentials["SecretAccessKey"]
        env["AWS_SESSION_TOKEN"] = world.roleCredentials["Token"]
        let result = try world.poll([], environment: env)
        #expect(result.status == 2)
        #expect(result.stderr.contains("no region"))
        #expect(result.failureLines.count == 1)
    }

    @Test func noCredentialsIsExitThree() async throws {
        let world = try await World.shared()
        var env = world.pollerEnvironment()
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        let result = try world.poll(["--region", "eu-west-1"], environment: env)
        #expect(result.status == 3)
        #expect(result.stderr.contains("credentials unavailable"))

        let noRole = try world.newIMDS(faults: ["no_role": true])
        let second = try world.poll(["--region", "eu-west-1"], environment: world.pollerEnvironment(imds: noRole.url))
        #expect(second.status == 3)
        #expect(second.stderr.contains("no IAM role"))
    }

    /// No region given either, so IMDS is asked twice (region, credentials): still one line,
    /// and it is the hop-limit line, not a consequential "no region".
    @Test func unreachableIMDSFailsWithOneClearLine() async throws {
        let world = try await World.shared()
        let stalled = try world.newIMDS(faults: ["stall_token_seconds": 3])
        let result = try world.poll([], environment: world.pollerEnvironment(imds: stalled.url))
        #expect(result.status == 3)
        let errorLines = result.failureLines
        #expect(errorLines.count == 1)
        #expect(errorLines.first?.contains("hop limit") == true)
    }

    @Test func helpListsTheExitCodes() async throws {
        let result = try runProcess(Harness.pollerBinary, ["--help"], environment: Harness.baseEnvironment())
        #expect(result.status == 0)
        for (code, meaning) in [(0, "success"), (2, "usage"), (3, "credentials"), (4, "an AWS call failed"), (5, "database"),
                                (74, "stdout"), (75, "lock"), (130, "SIGINT"), (143, "SIGTERM")] {
            #expect(result.stdout.split(separator: "\n").contains { $0.hasPrefix("  \(code) ") && $0.contains(meaning) }, "exit \(code)")
        }
    }
}
