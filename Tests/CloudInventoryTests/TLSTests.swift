@testable import AWSCore
@testable import CloudInventory
import Foundation
import Logging
import Testing

/// HTTPS against the TLS front (`TLSFront`): a CA named in `AWS_CA_BUNDLE` is trusted, and a
/// certificate that is self-signed, from an unknown CA or for another host is refused with
/// one clear line. Verification has no off switch, so there is none to test.
@Suite struct TLSTests {
    static func sts(_ url: String, http: HTTPClient, world: World) -> STSClient {
        let credentials = Credentials(accessKeyId: world.roleCredentials["AccessKeyId"]!, secretAccessKey: world.roleCredentials["SecretAccessKey"]!,
                                      sessionToken: world.roleCredentials["Token"])
        let query = AWSQueryClient(endpoint: .resolve(service: "sts", region: "us-east-1", environment: Environment(["AWS_ENDPOINT_URL": url])),
                                   configuration: .init(apiVersion: STSClient.apiVersion), credentials: StaticProvider(value: credentials),
                                   http: http, logger: Logger(label: "test"))
        return STSClient(query: query)
    }

    struct StaticProvider: CredentialProvider {
        let value: Credentials
        func credentials() throws -> Credentials? { value }
    }

    @Test func signedCallsWorkOverHTTPSWithTheBundle() async throws {
        let world = try await World.shared()
        let front = try await TLSFront.shared()
        let http = HTTPClient(configuration: .init(caBundle: front.caBundle), logger: Logger(label: "test"))
        defer { http.close() }
        let identity = try Self.sts(front.url(front.good), http: http, world: world).getCallerIdentity()
        #expect(identity.account == world.account)
        _ = try Self.sts(front.url(front.good), http: http, world: world).getCallerIdentity()
        // Connections are reused over TLS exactly as they are over plain HTTP to moto.
        let plain = HTTPClient(logger: Logger(label: "test"))
        defer { plain.close() }
        for _ in 0..<2 { _ = try Self.sts(world.motoURL, http: plain, world: world).getCallerIdentity() }
        #expect(http.statistics.snapshot.connectionsOpened == plain.statistics.snapshot.connectionsOpened)
    }

    /// Each refused certificate: a TLS error, not retryable, naming the problem.
    @Test(arguments: [("self-signed", \TLSFront.selfSigned), ("unknown CA", \TLSFront.unknownCA), ("wrong host", \TLSFront.wrongHost)])
    func untrustedCertificatesAreRefused(_ name: String, _ port: KeyPath<TLSFront, Int> & Sendable) async throws {
        let front = try await TLSFront.shared()
        let http = HTTPClient(configuration: .init(caBundle: front.caBundle), logger: Logger(label: "test"))
        defer { http.close() }
        let error = #expect(throws: HTTPError.self, "\(name)") {
            try http.execute(HTTPRequest(method: "GET", url: front.url(front[keyPath: port]) + "/"))
        }
        #expect(error?.isTLS == true, "\(name): \(String(describing: error))")
        #expect(error?.isRetryable == false)
        let text = error?.description ?? ""
        #expect(text.hasPrefix("TLS failure: ") && !text.contains("\n"), "\(text)")
        #expect(text.contains("certificate") || text.contains("host name"), "\(text)")
    }

    @Test func theSystemStoreDoesNotKnowTheTestCA() async throws {
        let front = try await TLSFront.shared()
        let http = HTTPClient(logger: Logger(label: "test"))
        defer { http.close() }
        let error = #expect(throws: HTTPError.self) { try http.execute(HTTPRequest(method: "GET", url: front.url(front.good) + "/")) }
        #expect(error?.isTLS == true)
    }

    @Test func aMissingBundleIsAConfigurationError() async throws {
        let front = try await TLSFront.shared()
        let missing = Harness.temporaryDirectory().appendingPathComponent("no-such-ca.pem").path
        let configuration = HTTPClient.Configuration(environment: Environment(["AWS_CA_BUNDLE": missing]))
        #expect(configuration.caBundle == missing)
        let invalid = #expect(throws: HTTPError.self) { try configuration.validate() }
        #expect(invalid?.isConfiguration == true && invalid?.description.contains(missing) == true)
        #expect(throws: Never.self) { try HTTPClient.Configuration(caBundle: front.caBundle).validate() }
        // Used anyway, every HTTPS request fails with the same kind of error, never insecurely.
        let http = HTTPClient(configuration: configuration, logger: Logger(label: "test"))
        defer { http.close() }
        let error = #expect(throws: HTTPError.self) { try http.execute(HTTPRequest(method: "GET", url: front.url(front.good) + "/")) }
        #expect(error?.isConfiguration == true && error?.description.contains("AWS_CA_BUNDLE") == true, "\(String(describing: error))")
    }

    // MARK: the poller binary

    @Test func aPollThroughHTTPSWithAWSCABundleWorks() async throws {
        let world = try await World.shared()
        let front = try await TLSFront.shared()
        var env = world.pollerEnvironment(endpoint: front.url(front.good))
        env["AWS_CA_BUNDLE"] = front.caBundle
        let result = try world.poll(["--region", "ap-southeast-2", "--format", "ndjson"], environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.lines.count == world.counts["ap-southeast-2"]!)
    }

    @Test func anUntrustedEndpointIsOneLineAndExit4() async throws {
        let world = try await World.shared()
        let front = try await TLSFront.shared()
        for port in [front.selfSigned, front.unknownCA, front.wrongHost] {
            var env = world.pollerEnvironment(endpoint: front.url(port))
            env["AWS_CA_BUNDLE"] = front.caBundle
            let result = try world.poll(["--region", "ap-southeast-2"], environment: env)
            #expect(result.status == 4, "\(result.stderr)")
            #expect(result.lines.isEmpty)
            let errorLines = result.stderr.split(separator: "\n").filter { $0.contains("TLS failure") }
            #expect(errorLines.count == 1, "\(result.stderr)")
        }
    }

    @Test func aMissingBundleIsOneLineAndExit2() async throws {
        let world = try await World.shared()
        let front = try await TLSFront.shared()
        let missing = Harness.temporaryDirectory().appendingPathComponent("no-such-ca.pem").path
        var env = world.pollerEnvironment(endpoint: front.url(front.good))
        env["AWS_CA_BUNDLE"] = missing
        let result = try world.poll(["--region", "ap-southeast-2"], environment: env)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").filter { $0.contains("AWS_CA_BUNDLE names \(missing)") }.count == 1, "\(result.stderr)")
    }
}
