#if canImport(Glibc)
import AWSCore
import Glibc
#endif
import CloudInventory
import Foundation
import Logging
import Testing

/// Breadth (all regions, many accounts), faults (throttling, resets, truncated XML, slow
/// IMDS), and cron's world (overlapping runs, SIGTERM), against moto and a fault proxy.
@Suite struct ResilienceTests {
    static let regions = "eu-west-1,ap-southeast-2"

    func document(_ result: ProcessResult) throws -> [String: Any] {
        try #require(try parseJSON(result.stdout) as? [String: Any])
    }

    func slices(_ document: [String: Any]) -> [String: [String: Any]] {
        Dictionary(uniqueKeysWithValues: (document["Regions"] as? [[String: Any]] ?? []).map { ("\($0["Account"]!)/\($0["Region"]!)", $0) })
    }

    @Test func allRegionsPollsEveryEnabledRegion() async throws {
        let world = try await World.shared()
        let result = try world.poll(["--all-regions", "--region", "us-east-1", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let byRegion = slices(try document(result))
        for region in world.regions {
            #expect(byRegion["\(world.account)/\(region)"]?["InstanceCount"] as? Int == world.counts[region])
        }
        #expect(byRegion.count > 10, "every enabled region of the partition")
        #expect(!byRegion.keys.contains { $0.contains("/cn-") || $0.contains("us-gov") }, "never another partition")
        #expect(byRegion.values.allSatisfy { $0["Status"] as? String == "ok" })
    }

    @Test func twoAccountsThroughAssumeRoleAndADeniedOne() async throws {
        let world = try await World.shared()
        let result = try world.poll(["--region", "us-east-1,eu-west-1", "--assume-role", world.roleB, "--assume-role", world.roleCDenied,
                                     "--format", "json"])
        #expect(result.status == 4)
        let doc = try document(result)
        let byslice = slices(doc)
        #expect(byslice["\(world.accountB)/us-east-1"]?["InstanceCount"] as? Int == world.accountBCounts["us-east-1"])
        #expect(byslice["\(world.accountB)/eu-west-1"]?["InstanceCount"] as? Int == world.accountBCounts["eu-west-1"])
        #expect(byslice["\(world.accountB)/us-east-1"]?["Status"] as? String == "ok")
        #expect(byslice["222222222222/us-east-1"]?["Status"] as? String == "error")
        #expect(byslice["222222222222/us-east-1"]?["ErrorCode"] as? String == "AccessDenied")
        let instances = doc["Instances"] as? [[String: Any]] ?? []
        #expect(instances.count == world.accountBCounts.values.reduce(0, +))
        #expect(instances.allSatisfy { $0["OwnerId"] as? String == world.accountB })
        #expect(result.stderr.contains("not authorized"), "the AWS message, not a paraphrase")
    }

    @Test func throttledTwiceThenSuccessIsCompleteAndCounted() async throws {
        let world = try await World.shared()
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "region": "eu-west-1", "times": 2, "fault": "throttle"]])
        let env = world.pollerEnvironment(endpoint: proxy.url)
        let result = try world.poll(["--region", Self.regions, "--format", "json"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect((try document(result)["Instances"] as? [Any])?.count == world.counts["eu-west-1"]! + world.counts["ap-southeast-2"]!)
        let s = try #require(summary(of: result))
        #expect(s["retries"] as? Int == 2)
        #expect(s["throttles"] as? Int == 2)
    }

    @Test func throttledPastTheAttemptsFailsOnlyThatSlice() async throws {
        let world = try await World.shared()
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "region": "eu-west-1", "times": -1, "fault": "throttle"]])
        let env = world.pollerEnvironment(endpoint: proxy.url)
        let result = try world.poll(["--region", Self.regions, "--format", "json", "--max-attempts", "2"], environment: env)
        #expect(result.status == 4)
        let byslice = slices(try document(result))
        #expect(byslice["\(world.account)/eu-west-1"]?["ErrorCode"] as? String == "RequestLimitExceeded")
        #expect(byslice["\(world.account)/ap-southeast-2"]?["Status"] as? String == "ok")
        #expect(summary(of: result)?["throttles"] as? Int == 2)
    }

    @Test func truncatedXMLIsAClearSliceError() async throws {
        let world = try await World.shared()
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "region": "eu-west-1", "times": 1, "fault": "truncate"]])
        let env = world.pollerEnvironment(endpoint: proxy.url)
        let result = try world.poll(["--region", Self.regions, "--format", "json"], environment: env)
        #expect(result.status == 4)
        let failed = slices(try document(result))["\(world.account)/eu-west-1"]
        #expect((failed?["Error"] as? String)?.contains("unreadable response") == true)
        #expect(slices(try document(result))["\(world.account)/ap-southeast-2"]?["Status"] as? String == "ok")
    }

    @Test func aConnectionResetIsRetried() async throws {
        let world = try await World.shared()
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "region": "eu-west-1", "times": 1, "fault": "reset"]])
        let env = world.pollerEnvironment(endpoint: proxy.url)
        let result = try world.poll(["--region", Self.regions], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(summary(of: result)?["retries"] as? Int == 1)
    }

    @Test func aSlowIMDSWithinItsTimeoutStillServes() async throws {
        let world = try await World.shared()
        let slow = try world.newIMDS(faults: ["stall_seconds": 0.4])
        let result = try world.poll(["--region", "eu-west-1"], environment: world.pollerEnvironment(imds: slow.url))
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func anIMDSTokenExpiringMidRunIsRenewed() async throws {
        let world = try await World.shared()
        // Every token lives one second; a slow region makes the run outlast several of them.
        let imds = try world.newIMDS(faults: ["token_ttl_cap": 1])
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "region": "eu-west-1", "times": 1, "fault": "delay", "seconds": 2]])
        let env = world.pollerEnvironment(imds: imds.url, endpoint: proxy.url)
        let result = try world.poll(["--region", "eu-west-1"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try world.requests(imds).allSatisfy { $0.2 == 200 })
    }

    @Test func overlappingRunsMeetAtTheLock() async throws {
        let world = try await World.shared()
        let lock = Harness.temporaryDirectory().appendingPathComponent("poller.lock").path
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "times": 1, "fault": "delay", "seconds": 8]])
        let env = world.pollerEnvironment(endpoint: proxy.url)
        let first = try world.startPoll(["--region", "eu-west-1", "--lock-file", lock], environment: env)
        // The first run holds the lock once its PID is in the file (and until the proxy lets it go).
        for _ in 0..<600 {
            if !((try? String(contentsOfFile: lock, encoding: .utf8)) ?? "").isEmpty { break }
            pause(0.05)
        }
        try #require(first.isRunning)
        let second = try world.poll(["--region", "eu-west-1", "--lock-file", lock])
        #expect(second.status == 75)
        #expect(second.stderr.contains("pid \(first.pid)"))
        #expect(second.stderr.split(separator: "\n").count == 1)
        let waiting = try world.poll(["--region", "eu-west-1", "--lock-file", lock, "--lock-wait", "60"])
        #expect(waiting.status == 0, "\(waiting.stderr)")
        #expect(first.finish().status == 0)
    }

    @Test func sigtermMidRunKeepsWhatIsComplete() async throws {
        let world = try await World.shared()
        let mongo = try TestMongo(.mock)
        let spool = Harness.temporaryDirectory()
        let lock = Harness.temporaryDirectory().appendingPathComponent("poller.lock").path
        let proxy = try world.newProxy(rules: [["action": "DescribeInstances", "region": "ap-southeast-2", "times": 1, "fault": "delay", "seconds": 30]])
        let env = world.storingEnvironment(mongo, spool: spool, endpoint: proxy.url)
        let run = try world.startPoll(["--region", Self.regions, "--format", "json", "--lock-file", lock], environment: env)
        // Wait until eu-west-1 is done and ap-southeast-2 hangs in the proxy, then stop the run.
        for _ in 0..<200 {
            if (try? world.proxyCalls(proxy))?["ap-southeast-2/DescribeInstances"] != nil, (try? mongo.snapshot().instances.count) ?? 0 > 0 { break }
            pause(0.05)
        }
        run.signal(SIGTERM)
        let result = run.finish(timeout: 20)
        #expect(result.status == 143, "\(result.stderr)")
        let byslice = slices(try document(result))
        #expect(byslice["\(world.account)/eu-west-1"]?["Status"] as? String == "ok")
        #expect(byslice["\(world.account)/ap-southeast-2"]?["ErrorCode"] as? String == "Interrupted")
        let snap = try mongo.snapshot()
        #expect(snap.instances(in: "eu-west-1").count == world.counts["eu-west-1"])
        #expect(snap.polls.first?["Complete"] as? Bool == false)
    }

    @Test func checkPassesForThePollerAndFailsWithoutPermission() async throws {
        let world = try await World.shared()
        let good = try world.poll(["--check", "--region", "us-east-1,eu-west-1"])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.contains("[ok]   credentials  instance metadata (role inventory-poller)"))
        #expect(good.stdout.contains("[ok]   identity"))
        #expect(good.stdout.contains("DryRun"))
        #expect(!good.stdout.contains("[FAIL]"))

        var env = world.pollerEnvironment()
        env["AWS_ACCESS_KEY_ID"] = world.limitedCredentials["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = world.limitedCredentials["SecretAccessKey"]
        let bad = try world.poll(["--check", "--region", "us-east-1"], environment: env)
        #expect(bad.status == 4)
        #expect(bad.stdout.contains("[ok]   credentials  environment"))
        #expect(bad.stdout.contains("[FAIL] ec2"))
    }

    @Test func metricsFileIsWrittenAndKeepsTheLastSuccess() async throws {
        let world = try await World.shared()
        let metrics = Harness.temporaryDirectory().appendingPathComponent("inventory.prom").path
        #expect(try world.poll(["--region", Self.regions, "--metrics-file", metrics]).status == 0)
        let first = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(first.contains("inventory_poller_instances{account=\"\(world.account)\",region=\"eu-west-1\",state=\"running\"}"))
        let success = try #require(first.split(separator: "\n").first { $0.hasPrefix("inventory_poller_last_success_timestamp_seconds ") })
        #expect(first.contains("inventory_poller_last_run_exit_code 0"))

        let result = try world.poll(["--region", "eu-west-1,xx-fake-1", "--metrics-file", metrics, "--max-attempts", "1"])
        #expect(result.status == 4)
        let second = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(second.contains(String(success)), "a failed run keeps the last success time")
        #expect(second.contains("inventory_poller_last_run_exit_code 4"))
        #expect(second.contains("inventory_poller_slice_errors{account=\"\(world.account)\",region=\"xx-fake-1\"} 1"))
    }

    @Test func everyRunEndsWithASummaryLine() async throws {
        let world = try await World.shared()
        let result = try world.poll(["--region", Self.regions])
        let s = try #require(summary(of: result))
        #expect(s["exitCode"] as? Int == 0)
        #expect(s["slices"] as? Int == 2)
        #expect((s["requests"] as? Int ?? 0) >= 3)
        #expect((s["instances"] as? [String: Int])?["running"] ?? 0 > 0)
        #expect(s["bytesReceived"] as? Int ?? 0 > 0)
    }
}

/// Assumed-role credentials are renewed as they near expiry, and reused until then.
@Suite struct AssumeRoleRefreshTests {
    struct Fixed: CredentialProvider {
        let value: Credentials
        func credentials() throws -> Credentials? { value }
    }

    @Test func credentialsAreReusedThenRenewedNearExpiry() async throws {
        let world = try await World.shared()
        let base = Fixed(value: Credentials(accessKeyId: world.roleCredentials["AccessKeyId"]!, secretAccessKey: world.roleCredentials["SecretAccessKey"]!,
                                            sessionToken: world.roleCredentials["Token"]))
        let http = HTTPClient(logger: Logger(label: "test"))
        defer { http.close() }
        let sts = AWSQueryClient(endpoint: .resolve(service: "sts", region: "us-east-1", environment: Environment(["AWS_ENDPOINT_URL": world.motoURL])),
                                 configuration: .init(apiVersion: STSClient.apiVersion), credentials: base, http: http, logger: Logger(label: "test"))
        // STS grants an hour; a margin of five minutes reuses them...
        let lasting = try AssumeRoleCredentialProvider(roleArn: world.roleB, externalId: nil, sessionName: "test", sts: sts)
        let a = try #require(try lasting.credentials())
        #expect(try lasting.credentials()?.accessKeyId == a.accessKeyId)
        #expect(a.expiration != nil && a.source.hasPrefix("assume-role:"))
        // ...while credentials already inside the margin are renewed on every use.
        let expiring = try AssumeRoleCredentialProvider(roleArn: world.roleB, externalId: nil, sessionName: "test", sts: sts, refreshMargin: 7200)
        let first = try #require(try expiring.credentials())
        let second = try #require(try expiring.credentials())
        #expect(first.accessKeyId != second.accessKeyId)
        #expect(http.statistics.snapshot.requests == 3)
    }
}
