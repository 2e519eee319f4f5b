@testable import AWSCore
@testable import CloudInventory
import Foundation
import Logging
import Testing

/// Response bodies are capped while they arrive: a peer announcing or streaming 100 MB
/// gets the transfer cut off at the cap, with a typed error that names it.
/// The hostile peer is the strict IMDS server with its `huge_body` fault (any POST, and the
/// role's credentials document, answer with that many bytes).
@Suite struct BodyCapTests {
    static let hundredMB = 100 * 1_000_000

    @Test(arguments: ["chunked", "length"])
    func aHugeBodyIsCutOffAtTheCap(_ mode: String) async throws {
        let world = try await World.shared()
        let hostile = try world.newIMDS(faults: ["huge_body": Self.hundredMB, "huge_body_mode": mode])
        let http = HTTPClient(logger: Logger(label: "test"))
        defer { http.close() }
        let error = #expect(throws: HTTPError.self) {
            try http.execute(HTTPRequest(method: "POST", url: hostile.url + "/", maxResponseBytes: 1 << 20))
        }
        #expect(error?.isBodyTooLarge == true, "\(String(describing: error))")
        #expect(error?.isRetryable == false)
        #expect(error?.description.hasPrefix("response body larger than 1 MiB") == true)
        // The client is usable afterwards.
        #expect(try http.execute(HTTPRequest(method: "GET", url: hostile.url + "/latest/meta-data/")).status == 401)
    }

    @Test func theDefaultCapIs64MiBAndAnnouncedLengthsAreRefusedEarly() async throws {
        #expect(HTTPRequest.defaultMaxResponseBytes == 64 << 20)
        let world = try await World.shared()
        let hostile = try world.newIMDS(faults: ["huge_body": Self.hundredMB, "huge_body_mode": "length"])
        let http = HTTPClient(logger: Logger(label: "test"))
        defer { http.close() }
        let error = #expect(throws: HTTPError.self) { try http.execute(HTTPRequest(method: "POST", url: hostile.url + "/")) }
        #expect(error?.description.hasPrefix("response body larger than 64 MiB") == true, "\(String(describing: error))")
        #expect(http.statistics.snapshot.bytesReceived == 0)
    }

    @Test func hugeIMDSCredentialsAreRefusedAt1MiB() async throws {
        let world = try await World.shared()
        let imds = try world.newIMDS(faults: ["huge_body": Self.hundredMB])
        let (client, http) = IMDSTests.client(imds.url)
        defer { http.close() }
        let error = #expect(throws: CredentialError.self) { try IMDSCredentialProvider(imds: client).credentials() }
        #expect(error?.description.contains("response body larger than 1 MiB") == true, "\(String(describing: error))")
        let fetches = try world.requests(imds).filter { $0.1.hasSuffix("/security-credentials/inventory-poller") }
        #expect(fetches.count == 1, "a body too large is not retried")
    }

    /// The poller, pointed at an endpoint that streams 100 MB with no length: one line, exit 4.
    @Test func aHugeAWSResponseEndsThePollWithExit4() async throws {
        let world = try await World.shared()
        let hostile = try world.newIMDS(faults: ["huge_body": Self.hundredMB, "huge_body_mode": "chunked"])
        var env = world.pollerEnvironment(endpoint: hostile.url)
        env["AWS_ACCESS_KEY_ID"] = world.adminCredentials["AccessKeyId"]
        env["AWS_SECRET_ACCESS_KEY"] = world.adminCredentials["SecretAccessKey"]
        let result = try world.poll(["--region", "eu-west-1"], environment: env)
        #expect(result.status == 4, "\(result.stderr)")
        #expect(result.stderr.contains("response body larger than 64 MiB"), "\(result.stderr)")
        #expect(try world.requests(hostile).filter { $0.0 == "POST" }.count == 1, "not retried")
    }
}
