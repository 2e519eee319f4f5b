@testable import AWSCore
@testable import CloudInventory
import Foundation
import Logging
import Testing

/// IMDSv2 against the strict test endpoint, one fresh server per test so faults stay local.
@Suite struct IMDSTests {
    /// A client of a run of its own, so its counts land in that run's statistics.
    static func client(_ url: String) -> (IMDSClient, HTTPClient) {
        let http = HTTPClient(logger: Logger(label: "test"), run: RunContext())
        var configuration = IMDSClient.Configuration()
        configuration.endpoint = url
        return (IMDSClient(configuration: configuration, http: http, logger: Logger(label: "test")), http)
    }

    @Test func servesRoleCredentialsWithTokensOnly() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS()
        let (client, http) = Self.client(imds.url)
        defer { http.close() }
        let creds = try #require(try IMDSCredentialProvider(imds: client).credentials())
        #expect(creds.accessKeyId == world.roleCredentials["AccessKeyId"])
        #expect(creds.sessionToken == world.roleCredentials["Token"])
        #expect(creds.source == "instance metadata (role inventory-poller)")
        #expect(creds.expiration != nil)
        let log = try world.requests(imds)
        #expect(log.first?.0 == "PUT" && log.first?.1 == "/latest/api/token")
        #expect(log.allSatisfy { $0.2 == 200 }, "no request was refused: every GET carried a live token")
        #expect(log.filter { $0.0 == "PUT" }.count == 1, "one token serves every read")
        let counted = http.statistics.snapshot
        #expect(counted.connectionsOpened == 1, "one kept-alive connection serves every request")
        #expect(counted.requests == log.count)
    }

    @Test func theTestEndpointIsStrict() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS()
        let http = HTTPClient(logger: Logger(label: "test"))
        defer { http.close() }
        // IMDSv1 (no token) is refused, and so is anything that looks proxied.
        #expect(try http.execute(HTTPRequest(method: "GET", url: imds.url + "/latest/meta-data/placement/region")).status == 401)
        #expect(try http.execute(HTTPRequest(method: "PUT", url: imds.url + "/latest/api/token",
                                             headers: [("X-aws-ec2-metadata-token-ttl-seconds", "60"), ("X-Forwarded-For", "10.0.0.1")])).status == 403)
        #expect(try http.execute(HTTPRequest(method: "PUT", url: imds.url + "/latest/api/token")).status == 400)
    }

    @Test func expiredTokenIsReplacedAfter401() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS()
        let (client, http) = Self.client(imds.url)
        defer { http.close() }
        #expect(try client.get("meta-data/placement/region") == "us-east-1")
        try world.expireTokens(imds)  // the cached token dies server-side mid-run
        #expect(try client.get("meta-data/instance-id") == "i-0123456789abcdef0")
        let statuses = try world.requests(imds).map { "\($0.0) \($0.2)" }
        #expect(statuses == ["PUT 200", "GET 200", "GET 401", "PUT 200", "GET 200"])
    }

    @Test func shortLivedTokensAreRefreshedBeforeTheyExpire() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS(faults: ["token_ttl_cap": 1])
        let (client, http) = Self.client(imds.url)
        defer { http.close() }
        _ = try client.get("meta-data/placement/region")
        pause(1.2)
        _ = try client.get("meta-data/placement/region")
        let log = try world.requests(imds)
        #expect(log.filter { $0.0 == "PUT" }.count == 2)
        #expect(!log.contains { $0.2 == 401 })
    }

    @Test func serverErrorsAreRetried() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS(faults: ["fail_next": 2])
        let (client, http) = Self.client(imds.url)
        defer { http.close() }
        #expect(try IMDSCredentialProvider(imds: client).credentials() != nil)
        #expect(try world.requests(imds).filter { $0.2 == 500 }.count == 2)
    }

    /// No role attached, or a credentials document with an error code: one message naming it.
    @Test(arguments: [("no_role", "no IAM role"), ("credentials_code", "AssumeRoleUnauthorizedAccess")])
    func credentialProblemsAreReported(_ fault: String, _ expected: String) async throws {
        let world = try await World.shared()
        let value: Any = fault == "no_role" ? true : "AssumeRoleUnauthorizedAccess"
        let imds = try world.newIMDS(faults: [fault: value])
        let (client, http) = Self.client(imds.url)
        defer { http.close() }
        let error = #expect(throws: CredentialError.self) { try IMDSCredentialProvider(imds: client).credentials() }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
    }

    @Test func stalledTokenRequestNamesTheHopLimit() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS(faults: ["stall_token_seconds": 3])
        let (client, http) = Self.client(imds.url)
        defer { http.close() }
        let error = #expect(throws: IMDSClient.Error.self) { try client.get("meta-data/placement/region") }
        #expect(error?.kind == .timedOut)
        #expect(error?.description.contains("hop limit") == true)
        // Once IMDS has proven unreachable, later reads fail at once instead of waiting again.
        let before = try world.requests(imds).count
        #expect(throws: IMDSClient.Error.self) { try client.get("meta-data/instance-id") }
        #expect(try world.requests(imds).count == before)
    }

    @Test func refusedConnectionIsUnreachable() throws {
        let (client, http) = Self.client("http://127.0.0.1:9")
        defer { http.close() }
        let error = #expect(throws: IMDSClient.Error.self) { try client.get("meta-data/placement/region") }
        #expect(error?.kind == .unreachable)
    }

    /// The credentials document is read by the project's total JSON parser: anything that is
    /// not a JSON object with the fields is one clear error, never a trap.
    @Test(arguments: ["<html>captive portal</html>", "{\"Code\": \"Success\", \"AccessKeyId\": ", "[\"Success\"]",
                      String(repeating: "[", count: 100_000), "{\"Code\": \"Success\", \"AccessKeyId\": 7, \"SecretAccessKey\": \"s\"}"])
    func unreadableCredentialsAreReported(_ body: String) async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS(faults: ["credentials_body": body])
        let (client, http) = Self.client(imds.url)
        defer { http.close() }
        let error = #expect(throws: CredentialError.self) { try IMDSCredentialProvider(imds: client).credentials() }
        #expect(error?.isUnavailable == true)
        #expect(error?.description.contains("role inventory-poller") == true, "\(String(describing: error))")
    }

    @Test func theSDKsTimeoutAndAttemptVariablesAreRead() {
        let set = IMDSClient.Configuration(environment: Environment(["AWS_METADATA_SERVICE_TIMEOUT": "2.5", "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "5"]))
        #expect(set.timeout == .milliseconds(2500) && set.maxAttempts == 5)
        let silly = IMDSClient.Configuration(environment: Environment(["AWS_METADATA_SERVICE_TIMEOUT": "-1", "AWS_METADATA_SERVICE_NUM_ATTEMPTS": "1e9"]))
        #expect(silly.timeout == IMDSClient.Configuration().timeout && silly.maxAttempts == IMDSClient.Configuration().maxAttempts)
    }
}
