import AWSCore
import CloudInventory
import Foundation
import Logging
import Testing

/// The test servers of `CredentialServers.swift` answer as their docstrings say, and the
/// recording proxy sees the poller's own endpoint resolution (environment keys: works today).
@Suite struct CredentialServersTests {
    static func get(_ url: String, _ headers: [(String, String)]) throws -> HTTPResponse {
        let http = HTTPClient(logger: Logger(label: "test"))
        defer { http.close() }
        return try http.execute(HTTPRequest(method: "GET", url: url, headers: headers, bypassProxy: true))
    }

    @Test func theSSOPortalAnswersAsBotocoreExpects() async throws {
        let portal = try await SSOPortal.start()
        defer { portal.server.stop() }
        let url = portal.url + "/federation/credentials?role_name=reader&account_id=123456789012"
        let ok = try Self.get(url, [("x-amz-sso_bearer_token", "tok")])
        #expect(ok.status == 200)
        let doc = try parseJSON(String(decoding: ok.body, as: UTF8.self)) as? [String: Any]
        let creds = doc?["roleCredentials"] as? [String: Any]
        #expect(creds?["accessKeyId"] as? String == (try SSOPortal.expectedKeyId(account: "123456789012", role: "reader", token: "tok")))
        #expect((creds?["expiration"] as? Int ?? 0) > Int(Date().timeIntervalSince1970 * 1000))
        #expect(try Self.get(url, [("x-amz-sso_bearer_token", "revoked-1")]).status == 401)
        #expect(try Self.get(url, []).status == 401)
        let denied = portal.url + "/federation/credentials?role_name=denied&account_id=123456789012"
        #expect(try Self.get(denied, [("x-amz-sso_bearer_token", "tok")]).status == 403)
    }

    @Test func theContainerEndpointChecksItsToken() async throws {
        let endpoint = try await ContainerEndpoint.start()
        defer { endpoint.server.stop() }
        let ok = try Self.get(endpoint.url + "/auth/s3cr3t/pod", [("Authorization", "s3cr3t")])
        #expect(ok.status == 200)
        let doc = try parseJSON(String(decoding: ok.body, as: UTF8.self)) as? [String: Any]
        #expect(doc?["AccessKeyId"] as? String == (try ContainerEndpoint.expectedKeyId(name: "pod")))
        #expect(try Self.get(endpoint.url + "/auth/s3cr3t/pod", [("Authorization", "other")]).status == 401)
        #expect(try Self.get(endpoint.url + "/fail/500/pod", []).status == 500)
        #expect(try Self.get(endpoint.url + "/creds/task", []).status == 200)
    }

    @Test func theRecordingProxySeesThePollersOwnEndpoints() async throws {
        let proxy = try await RecordingProxy.start()
        defer { proxy.server.stop() }
        try proxy.register(secrets: ["AKIAORACLEPROXYTEST1": "secret"])
        var env = Harness.baseEnvironment().merging(proxy.environment(tag: "smoke")) { $1 }
        env["AWS_ACCESS_KEY_ID"] = "AKIAORACLEPROXYTEST1"
        env["AWS_SECRET_ACCESS_KEY"] = "secret"
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        let result = try runProcess(Harness.pollerBinary, World.withLock(["--region", "cn-north-1", "--format", "json"]), environment: env)
        #expect(result.status == 0, "\(result.stderr)")
        let records = try proxy.records(tag: "smoke")
        let hosts = Set(records.compactMap(\.host))
        #expect(hosts == ["sts.cn-north-1.amazonaws.com.cn", "ec2.cn-north-1.amazonaws.com.cn"], "\(records)")
        #expect(records.allSatisfy { $0.keyId == "AKIAORACLEPROXYTEST1" && $0.signature == "valid" && $0.region == "cn-north-1" })
    }
}
