import Foundation
import Testing

/// `--org-role` and `--skip-account` against an organization in moto (`OrgWorld`): the
/// accounts come from ListAccounts (two pages), each is polled through its role, and what is
/// printed is held to what the world made.
@Suite struct OrganizationTests {
    static let regions = ["us-east-1", "eu-west-1"]

    /// Instance ids by the account that owns them (the reservation's `OwnerId`).
    static func instancesByAccount(_ document: [String: Any]) -> [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for instance in document["Instances"] as? [[String: Any]] ?? [] {
            out[instance["OwnerId"] as? String ?? "?", default: []].insert(instance["InstanceId"] as? String ?? "?")
        }
        return out
    }

    @Test func everyActiveAccountIsPolledThroughItsRoleAndAMissingRoleFailsOnlyItsSlices() async throws {
        let world = try await OrgWorld.shared()
        let externalId = "ext-\(UUID().uuidString.prefix(8))"
        let result = try world.poll(["--org-role", world.roleName, "--region", Self.regions.joined(separator: ","),
                                     "--format", "json", "--external-id", externalId])
        #expect(result.status == 4, "\(result.stderr)")
        let document = try #require(try parseJSON(result.stdout) as? [String: Any])
        #expect(document["Account"] as? String == world.management)

        // Every instance of every polled account, and nothing of a suspended account or of
        // the account without the role.
        let found = Self.instancesByAccount(document)
        let expected = world.expected(regions: Self.regions).filter { !$0.value.isEmpty }
        #expect(found == expected)

        // One slice per (account, region) of every ACTIVE account: 23 of the 25 listed, so
        // the second ListAccounts page was read. Only the role-less account's slices failed.
        let slices = try #require(document["Regions"] as? [[String: Any]])
        let active = Set([world.management] + world.members.filter { $0.state == "ACTIVE" }.map(\.id))
        #expect(active.count == 23)
        #expect(Set(slices.compactMap { $0["Account"] as? String }) == active)
        #expect(slices.count == active.count * Self.regions.count)
        let roleless = try #require(world.members.first { !$0.hasRole }).id
        for slice in slices {
            let failed = slice["Account"] as? String == roleless
            #expect(slice["Status"] as? String == (failed ? "error" : "ok"), "\(slice)")
            if failed { #expect(slice["ErrorCode"] as? String == "AccessDenied") }
        }
        #expect(result.failureLines.contains { $0.contains("2 of 46 slices failed") && $0.contains("\(roleless)/us-east-1: AccessDenied") })

        // The caller's own account used its own keys; every other role was asked for with the
        // external id, in the caller's partition.
        let mine = try world.assumed().filter { $0.1 == externalId }.map(\.0)
        let members = world.members.filter { $0.state == "ACTIVE" && $0.hasRole }.map { "arn:aws:iam::\($0.id):role/\(world.roleName)" }
        #expect(Set(mine) == Set(members))
        #expect(mine.count == members.count, "each role assumed once")
        #expect(try !world.assumed().contains { $0.0.contains(":\(world.management):") })
    }

    @Test func skippedAccountsAreNeitherAssumedNorPolled() async throws {
        let world = try await OrgWorld.shared()
        let roleless = try #require(world.members.first { !$0.hasRole }).id
        let busy = try #require(world.members.first { $0.hasRole && $0.state == "ACTIVE" && ($0.instances["us-east-1"]?.count ?? 0) > 2 }).id
        let result = try world.poll(["--org-role", world.roleName, "--region", "us-east-1", "--format", "ndjson",
                                     "--skip-account", roleless, "--skip-account", "\(busy),999999999999"])
        #expect(result.status == 0, "\(result.stderr)")
        var found: [String: Set<String>] = [:]
        for line in result.lines {
            let object = try #require(try parseJSON(line) as? [String: Any])
            found[object["Account"] as! String, default: []].insert(object["InstanceId"] as! String)
        }
        #expect(found == world.expected(regions: ["us-east-1"], skipping: [busy]).filter { !$0.value.isEmpty })
        #expect(result.stderrTexts.contains { $0.contains("--skip-account names accounts the organization does not list") && $0.contains("999999999999") })
    }

    @Test func checkListsTheAccountsAndEachAssumeRole() async throws {
        let world = try await OrgWorld.shared()
        let roleless = try #require(world.members.first { !$0.hasRole }).id
        let skipped = try #require(world.members.first { $0.hasRole && $0.state == "ACTIVE" }).id
        let suspended = world.members.filter { $0.state == "SUSPENDED" }.map(\.id).sorted()
        let result = try world.poll(["--org-role", world.roleName, "--region", "us-east-1", "--check", "--skip-account", skipped])
        #expect(result.status == 4, "\(result.stdout)\n\(result.stderr)")
        let lines = result.lines
        let organization = try #require(lines.first { $0.hasPrefix("[ok]   organization") })
        #expect(organization.contains("25 accounts listed, 22 to poll"))
        #expect(organization.contains("skipped (--skip-account): \(skipped)"))
        #expect(organization.contains("not active: " + suspended.map { "\($0) (SUSPENDED)" }.joined(separator: ", ")))
        let roles = lines.filter { $0.contains("assume-role") }
        #expect(roles.count == 21, "every member but the skipped and suspended ones; not the caller's own")
        #expect(roles.filter { $0.hasPrefix("[FAIL]") }.count == 1)
        #expect(roles.contains { $0.hasPrefix("[FAIL] assume-role  arn:aws:iam::\(roleless):role/\(world.roleName): ") && $0.contains("AccessDenied") })
        #expect(lines.contains { $0.hasPrefix("[ok]   ec2") && $0.contains(world.management) })
        #expect(lines.contains { $0.hasPrefix("[ok]   endpoint     organizations: ") && $0.contains("signs for us-east-1") }, "\(lines)")
        // A failed check ends, like every failed run, with one line on stderr.
        #expect(result.stderr.split(separator: "\n").filter { $0.contains("inventory-poller: check failed: assume-role") }.count == 1,
                "\(result.stderr)")
    }

    @Test func anAccountOutsideAnyOrganizationIsOneLineAndExit4() async throws {
        let world = try await OrgWorld.shared()
        let result = try world.poll(["--org-role", world.roleName, "--region", "us-east-1"], credentials: world.outsider)
        #expect(result.status == 4)
        #expect(result.stdout.isEmpty)
        #expect(result.failureLines.count == 1)
        #expect(result.failureLines.first?.hasPrefix("inventory-poller: --org-role: account \(world.outsiderAccount) is not in an AWS organization: "
            + "organizations:ListAccounts failed: AWSOrganizationsNotInUseException: Your account is not a member of an organization. "
            + "(HTTP 400, request id ") == true, "\(result.stderr)")
    }

    @Test func listAccountsDeniedNamesThePermission() async throws {
        let world = try await OrgWorld.shared()
        let result = try world.poll(["--org-role", world.roleName, "--region", "us-east-1"], credentials: world.denied)
        #expect(result.status == 4)
        #expect(result.stdout.isEmpty)
        #expect(result.failureLines.count == 1)
        #expect(result.failureLines.first?.contains("organizations:ListAccounts allowed") == true)
        let check = try world.poll(["--org-role", world.roleName, "--region", "us-east-1", "--check"], credentials: world.denied)
        #expect(check.status == 4)
        #expect(check.lines.contains { $0.hasPrefix("[FAIL] organization --org-role: ListAccounts needs") })
    }

    /// An aws-cn caller: the organization is asked in its partition, and each role ARN is
    /// `arn:aws-cn:iam::...`.
    @Test func theRoleArnTakesTheCallersPartition() async throws {
        let world = try await OrgWorld.shared()
        let region = "cn-northwest-1"
        let result = try world.poll(["--org-role", world.roleName, "--region", region, "--format", "json"], credentials: world.chinaPoller)
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try parseJSON(result.stdout) as? [String: Any])
        #expect((document["Arn"] as? String)?.hasPrefix("arn:aws-cn:iam::\(world.management):") == true)
        var expected = [world.management: Set(world.chinaManagementInstances[region] ?? [])]
        for member in world.chinaMembers { expected[member.id] = Set(member.instances[region] ?? []) }
        #expect(Self.instancesByAccount(document) == expected)
        let assumed = Set(try world.assumed().map(\.0))
        for member in world.chinaMembers {
            #expect(assumed.contains("arn:aws-cn:iam::\(member.id):role/\(world.roleName)"))
        }
    }

    /// Checked before any network call: exit 2 with one line, nothing polled.
    @Test(arguments: [
        (["--org-role", "/leading"], "--org-role \"/leading\" is not an IAM role name"),
        (["--org-role", "a//b"], "is not an IAM role name"),
        (["--org-role", "trailing/"], "is not an IAM role name"),
        (["--org-role", "bad name"], "is not an IAM role name"),
        (["--org-role", String(repeating: "n", count: 65)], "is not an IAM role name"),
        (["--org-role", "r", "--skip-account", "12345678901"], "--skip-account \"12345678901\" is not a 12-digit account id"),
        (["--org-role", "r", "--skip-account", "123456789012,x"], "--skip-account \"x\" is not a 12-digit account id"),
        (["--skip-account", "123456789012"], "--skip-account needs --org-role"),
        (["--org-role", "r", "--assume-role", "arn:aws:iam::111111111111:role/r"], "--org-role and --assume-role"),
        (["--external-id", "x"], "--external-id needs --assume-role or --org-role"),
    ])
    func badArgumentsAreUsageErrors(arguments: [String], message: String) throws {
        var env = Harness.baseEnvironment()
        env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
        let result = try runProcess(Harness.pollerBinary, arguments, environment: env)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.failureLines.count == 1)
        #expect(result.failureLines.first?.contains(message) == true, "\(result.stderr)")
    }

    @Test func aRoleWithAPathIsAccepted() throws {
        var env = Harness.baseEnvironment()
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        let result = try runProcess(Harness.pollerBinary, ["--org-role", "ops/inventory-reader", "--region", "us-east-1", "--check"],
                                    environment: env)
        #expect(result.status == 3, "no credentials, past the argument checks: \(result.stderr)")
    }
}

/// Organizations answers that must not read as a listing: each fails the run with one line
/// (exit 4) and polls nothing; a throttle is retried as any AWS call is.
@Suite struct OrganizationHostileTests {
    func run(_ mode: String, _ extra: [String] = []) async throws -> (ProcessResult, [[String: Any]]) {
        let world = try await OrgWorld.shared()
        let log = Harness.temporaryDirectory().appendingPathComponent("requests").path
        let server = try await PythonServer.start("org_hostile.py", ["--mode", mode, "--account", world.management, "--log", log])
        defer { server.stop() }
        let result = try world.poll(["--org-role", world.roleName, "--region", "us-east-1", "--format", "ndjson"] + extra,
                                    extraEnvironment: ["AWS_ENDPOINT_URL_ORGANIZATIONS": "http://127.0.0.1:\(try server.port)"])
        let requests = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
            .compactMap { try? parseJSON(String($0)) as? [String: Any] }
        return (result, requests)
    }

    @Test(arguments: [
        ("cycle", "NextToken repeats"),
        ("html200", "organizations:ListAccounts returned an unreadable response: expected a JSON object"),
        ("type200", "ServiceException: an error document with a 200"),
        ("huge", "larger than 1 MiB"),
        ("badid", "Id \"../../etc\" is not a 12-digit account id"),
    ])
    func aHostileAnswerFailsTheRun(mode: String, message: String) async throws {
        let (result, requests) = try await run(mode, ["--max-response-mib", "1"])
        #expect(result.status == 4, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.failureLines.count == 1)
        #expect(result.failureLines.first?.contains(message) == true, "\(result.stderr)")
        #expect(requests.count == (mode == "cycle" ? 2 : 1))
    }

    @Test func aThrottleIsRetriedAndTheRequestIsJSONSignedForTheGlobalRegion() async throws {
        let world = try await OrgWorld.shared()
        let (result, requests) = try await run("throttle")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Set(result.lines.compactMap { (try? parseJSON($0) as? [String: Any])?["InstanceId"] as? String })
            == Set(world.managementInstances["us-east-1"] ?? []))
        #expect(summary(of: result)?["retries"] as? Int == 1)
        #expect(summary(of: result)?["throttles"] as? Int == 1)
        #expect(requests.count == 2)
        for request in requests {
            #expect(request["target"] as? String == "AWSOrganizationsV20161128.ListAccounts")
            #expect(request["content_type"] as? String == "application/x-amz-json-1.1")
            #expect((request["authorization"] as? String)?.contains("/us-east-1/organizations/aws4_request") == true)
        }
    }
}
