import AWSCore
import CloudInventory
import Foundation
import Logging
import Testing

/// `--org-role` in the worker pool, against the loopback organization of
/// `Tests/Support/org_server.py` (fast, with a request log): accounts are readied side by
/// side, a slow or refused role holds back only its own account, and the workers of one
/// account share each credential renewal. Held to the order and counts of the requests the
/// server saw, never to durations.
@Suite struct OrganizationPoolTests {
    /// One organization server for one test.
    struct Organization {
        let server: PythonServer
        let url: String
        let key: [String: String]
        let members: [String]
        let management: String

        init(_ arguments: [String]) async throws {
            server = try await PythonServer.start("org_server.py", arguments)
            let document = try server.document()
            url = "http://127.0.0.1:\(document["port"] as! Int)"
            key = document["key"] as! [String: String]
            members = document["members"] as! [String]
            management = document["management"] as! String
        }

        /// A run with the caller's key; `--org-role inventory-reader` unless `organization` is false.
        func poll(_ arguments: [String], organization: Bool = true) throws -> ProcessResult {
            var env = Harness.baseEnvironment()
            env["AWS_ACCESS_KEY_ID"] = key["AccessKeyId"]
            env["AWS_SECRET_ACCESS_KEY"] = key["SecretAccessKey"]
            env["AWS_ENDPOINT_URL"] = url
            env["AWS_EC2_METADATA_DISABLED"] = "true"
            return try runProcess(Harness.pollerBinary, World.withLock((organization ? ["--org-role", "inventory-reader"] : []) + arguments),
                                  environment: env)
        }

        /// `GET path` of the server's control API, as JSON.
        func control(_ path: String) throws -> Any {
            let http = HTTPClient(logger: Logger(label: "test-control"))
            defer { http.close() }
            let response = try http.execute(HTTPRequest(method: "GET", url: url + path))
            guard response.status == 200 else { throw HarnessError("org server GET \(path): HTTP \(response.status)") }
            return try JSONSerialization.jsonObject(with: Data(response.body))
        }

        /// Every call the server answered, in order: (sequence, start or end, action, account).
        func log() throws -> [(seq: Int, event: String, action: String, account: String)] {
            (try control("/_log") as! [[Any]]).map { ($0[0] as! Int, $0[1] as! String, $0[2] as! String, $0[3] as? String ?? "") }
        }

        func stats() throws -> [String: Any] { try control("/_stats") as! [String: Any] }
    }

    @Test func aSlowRoleHoldsBackOnlyItsOwnAccount() async throws {
        let org = try await Organization(["--accounts", "4", "--regions", "2", "--latency-ms", "5", "--slow-assume", "100000000001:3000"])
        defer { org.server.stop() }
        let slow = org.members[0]
        let result = try org.poll(["--region", "us-east-1,us-east-2", "--concurrency", "4", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let log = try org.log()
        let ended = try #require(log.first { $0.event == "end" && $0.action == "AssumeRole" && $0.account == slow }).seq
        // Every other account, the caller's own included, was polled before the slow role
        // was ready: no account waited for all to be ready.
        for account in [org.management] + org.members.dropFirst() {
            #expect(log.contains { $0.event == "start" && $0.action == "DescribeInstances" && $0.account == account && $0.seq < ended },
                    "\(account) was not polled before \(slow)'s role was assumed")
        }
        // The slow account's slices start once its role is assumed, and are polled in full. The
        // server logs a call's end after it has sent the answer, so the client's next request
        // can be logged first: the bound is the slow AssumeRole's start.
        let asked = try #require(log.first { $0.event == "start" && $0.action == "AssumeRole" && $0.account == slow }).seq
        #expect(!log.contains { $0.action == "DescribeInstances" && $0.account == slow && $0.seq < asked })
        let document = try #require(try parseJSON(result.stdout) as? [String: Any])
        let slices = try #require(document["Regions"] as? [[String: Any]])
        #expect(slices.count == 5 * 2 && slices.allSatisfy { $0["Status"] as? String == "ok" })
    }

    @Test func anAccountWhoseRoleCannotBeAssumedFailsOnlyItsSlices() async throws {
        let org = try await Organization(["--accounts", "3", "--regions", "3", "--latency-ms", "1", "--instances", "2",
                                          "--no-role", "100000000002"])
        defer { org.server.stop() }
        let refused = org.members[1]
        let result = try org.poll(["--all-regions", "--region", "us-east-1", "--concurrency", "3", "--format", "json"])
        #expect(result.status == 4, "\(result.stderr)")
        let document = try #require(try parseJSON(result.stdout) as? [String: Any])
        let slices = try #require(document["Regions"] as? [[String: Any]])
        // The refused account's DescribeRegions never ran: it is planned in the home region
        // alone, failed; every other account in its three regions, complete.
        for slice in slices {
            let failed = slice["Account"] as? String == refused
            #expect(slice["Status"] as? String == (failed ? "error" : "ok"), "\(slice)")
            if failed { #expect(slice["ErrorCode"] as? String == "AccessDenied" && slice["Region"] as? String == "us-east-1") }
        }
        #expect(slices.count == 3 * 3 + 1)
        let owners = Set((document["Instances"] as? [[String: Any]] ?? []).compactMap { $0["OwnerId"] as? String })
        #expect(owners == Set([org.management] + org.members).subtracting([refused]))
        #expect(result.failureLines.contains { $0.contains("1 of 10 slices failed") && $0.contains("\(refused)/us-east-1: AccessDenied") })
    }

    /// Credentials that are due for renewal as soon as they are issued (they expire in 299 s,
    /// inside the five-minute margin) make every use a renewal point: still one AssumeRole
    /// at a time per account, and the two accounts' renewals run side by side.
    @Test func workersOfOneAccountShareEachRenewal() async throws {
        let org = try await Organization(["--accounts", "2", "--regions", "8", "--latency-ms", "20", "--instances", "1",
                                          "--assume-ms", "300", "--expires-in", "299"])
        defer { org.server.stop() }
        let regions = "us-east-1,us-east-2,us-west-1,us-west-2,eu-west-1,eu-west-2,eu-west-3,eu-central-1"
        let result = try org.poll(["--region", regions, "--concurrency", "8", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let stats = try org.stats()
        let inFlight = try #require(stats["max_assume_in_flight"] as? [String: Int])
        #expect(inFlight == Dictionary(uniqueKeysWithValues: org.members.map { ($0, 1) }), "one AssumeRole at a time per account")
        #expect((stats["max_assume_overall"] as? Int ?? 0) >= 2, "accounts renew side by side")
        let log = try org.log()
        for account in org.members {
            let assumed = log.filter { $0.event == "start" && $0.action == "AssumeRole" && $0.account == account }.count
            let polled = log.filter { $0.event == "start" && $0.action == "DescribeInstances" && $0.account == account }.count
            #expect(polled == 8)
            // The first AssumeRole and at least one renewal, which the other workers did not repeat.
            #expect(assumed >= 2 && assumed <= polled, "\(account): \(assumed) AssumeRole for \(polled) slices")
        }
    }

    /// `--instance-ids` when EC2's NotFound message cannot be read: each id is asked alone,
    /// the ids found are printed, the one found nowhere is the one line, exit 0.
    @Test func anUnreadableNotFoundAsksEachIdAlone() async throws {
        let org = try await Organization(["--accounts", "1", "--regions", "2", "--instances", "2", "--latency-ms", "1", "--garbled-not-found"])
        defer { org.server.stop() }
        let full = try org.poll(["--region", "us-east-1,us-east-2", "--format", "ndjson"], organization: false)
        #expect(full.status == 0, "\(full.stderr)")
        var byRegion: [String: [String]] = [:]
        for line in full.lines {
            let object = try #require(try parseJSON(line) as? [String: Any])
            byRegion[object["Region"] as! String, default: []].append(object["InstanceId"] as! String)
        }
        let east1 = try #require(byRegion["us-east-1"]), east2 = try #require(byRegion["us-east-2"])
        let nowhere = "i-0000000000000000f"
        let result = try org.poll(["--region", "us-east-1,us-east-2", "--instance-ids", "\(east1[0]),\(nowhere),\(east2[1])",
                                   "--format", "ndjson"], organization: false)
        #expect(result.status == 0, "\(result.stderr)")
        let found = try Set(result.lines.map { try #require((try parseJSON($0) as? [String: Any])?["InstanceId"] as? String) })
        #expect(found == [east1[0], east2[1]])
        #expect(result.failureLines == ["inventory-poller: not found in any region polled: \(nowhere)"], "\(result.stderr)")
    }
}
